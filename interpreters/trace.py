"""
The functional layer's record: per hardware context, a trace of what it did, in order.

    Compute(scalar_cycles, vector_cycles)        op costs summed between events
    Copy(bytes, accesses, ...)                   a core-driven spm.copy
    DmaStart(id, bytes, ...) / DmaWait(ids)      asynchronous transfers
    DdrAccess(bytes)                             direct loads/stores to DDR (gathers)

Values never depend on time in a race-free program, so the interpreter runs each
context's ops in program order and the timing engine (timing.py) replays these traces
on the machine's shared resources afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.ir import Operation

from xnpu.dialects.spm import AllocOp, describe_buffer
from xnpu.frontend.ttir import at_location
from xnpu.interpreters.machine import Machine


@dataclass
class Compute:
    scalar_cycles: float
    vector_cycles: float


@dataclass
class Copy:
    """A core-driven copy: `accesses` load/store pairs of `width` elements."""

    op: Operation
    nbytes: int
    accesses: int
    to_scratchpad: bool
    vector: bool


@dataclass
class DmaStart:
    op: Operation
    id: int
    nbytes: int
    descriptors: int
    to_scratchpad: bool


@dataclass
class DmaWait:
    op: Operation
    ids: tuple[int, ...]


Segment = Compute | Copy | DmaStart | DmaWait


@dataclass
class ContextTrace:
    """What one hardware context did, in program order."""

    context: int
    segments: list[Segment] = field(default_factory=list)
    ddr_bytes_direct: int = 0
    """Bytes of DDR moved by element-wise loads and stores (gathers, scatters)."""


class InterpreterError(Exception):
    """A run that cannot go on: out-of-bounds access, scratchpad overflow, a race...
    The message names the op and where it is."""


class ExecutionState:
    """The mutable state of one run shared by xnpu's interpreter functions."""

    def __init__(self, machine: Machine):
        self.machine = machine
        self.traces: list[ContextTrace] = [ContextTrace(0)]
        self.current = self.traces[0]
        self.scale = 1
        """How many iterations the op being executed stands for (vectorized loops)."""
        self.pending_scalar = 0.0
        self.pending_vector = 0.0
        self.live_buffers: list[tuple[Operation, int]] = []
        self.next_dma_id = 0

    def charge(self, cycles: float, is_vector: bool, ddr_bytes: int, times: int) -> None:
        if is_vector:
            self.pending_vector += cycles * times
        else:
            self.pending_scalar += cycles * times
        if ddr_bytes:
            self.current.ddr_bytes_direct += ddr_bytes * times

    def flush(self) -> None:
        if self.pending_scalar or self.pending_vector:
            self.current.segments.append(Compute(self.pending_scalar, self.pending_vector))
            self.pending_scalar = self.pending_vector = 0.0

    def record(self, segment: Segment) -> None:
        self.flush()
        self.current.segments.append(segment)

    # ---- scratchpad occupancy

    def allocate(self, op: Operation, nbytes: int) -> None:
        pad = self.machine.scratchpad
        rounded = pad.rounded(nbytes)
        used = sum(b for _, b in self.live_buffers)
        if used + rounded > pad.capacity_bytes:
            live = [o for o, _ in self.live_buffers] + [op]
            listing = ", ".join(describe_buffer(o) for o in live if isinstance(o, AllocOp))
            raise InterpreterError(
                f"scratchpad overflow{at_location(op)}: {used + rounded} bytes (in "
                f"{pad.granule_bytes}-byte granules) of {pad.capacity_bytes} on machine "
                f"'{self.machine.name}': {listing}"
            )
        self.live_buffers.append((op, rounded))

    def release_to(self, mark: int) -> None:
        del self.live_buffers[mark:]

