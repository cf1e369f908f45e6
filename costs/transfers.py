"""What moving data and forking contexts cost: the formulas the timing engine
(interpreters/simulator/timing.py) replays and the passes' estimates read. Shared
bandwidth (DDR turns, the cores' path) is the engine's to book; these are one
transfer's own cycles."""

from __future__ import annotations

from xnpu.machines import Machine


def core_copy_cycles(accesses: int, vector: bool, to_scratchpad: bool, machine: Machine) -> float:
    """Cycles the core spends on a copy's `accesses` load/store pairs (one loop trip each)."""
    table = machine.vector if vector else machine.scalar
    load = table["ddr_load"] if to_scratchpad else table["spm_load"]
    store = table["spm_store"] if to_scratchpad else table["ddr_store"]
    return accesses * (load + store + machine.scalar["loop_iteration"])


def core_copy_estimate(nbytes: float, machine: Machine) -> float:
    """A core copy's cycles before it runs: its bytes at the cores' path to DDR."""
    return nbytes / machine.ddr.core_bytes_per_cycle


def dma_setup_cycles(descriptors: int, machine: Machine) -> float:
    """Fetching `descriptors` DMA descriptors and the first bytes' latency."""
    return descriptors * machine.dma.setup_cycles


def dma_transfer_cycles(nbytes: int, machine: Machine) -> float:
    """Moving `nbytes` at one DMA engine's bandwidth (DDR's turn is booked apart)."""
    return nbytes / machine.dma.bytes_per_cycle


def fork_join_cycles(machine: Machine) -> float:
    """What an hwctx.parallel costs beyond its contexts' work: fork and join."""
    return machine.threads.fork_cycles + machine.threads.join_cycles


def loop_trip_cycles(machine: Machine) -> float:
    """A loop trip's increment, compare and branch."""
    return machine.scalar["loop_iteration"]
