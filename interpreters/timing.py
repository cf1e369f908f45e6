"""
The timing engine: replays the contexts' traces on the machine model.

* Compute segments take their cycles on the context.
* A core-driven copy keeps its context busy for its load/store pairs, and never
  goes faster than DDR bandwidth allows.
* A DMA start is queued on the DMA engine (first come, first served): it begins when
  the engine is free, costs a setup per descriptor and then moves bytes at the
  engine's bandwidth; the context goes on at once. A wait blocks the context until
  each named transfer has finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xnpu.interpreters.machine import Machine
from xnpu.interpreters.trace import Compute, ContextTrace, Copy, DmaStart, DmaWait


@dataclass
class ContextTime:
    """Where one context's time went, in cycles."""

    context: int
    end: float = 0.0
    compute: float = 0.0
    copy: float = 0.0
    dma_wait: float = 0.0
    ddr_bytes_read: int = 0
    ddr_bytes_written: int = 0
    ddr_bytes_direct: int = 0


@dataclass
class Timeline:
    contexts: list[ContextTime]
    dma_busy: float = 0.0
    dma_bytes: int = 0
    events: list[tuple] = field(default_factory=list)
    """(track, name, start, duration) for the trace export."""

    @property
    def cycles(self) -> float:
        return max((c.end for c in self.contexts), default=0.0)


def copy_cycles(copy: Copy, machine: Machine) -> float:
    table = machine.vector if copy.vector else machine.scalar
    load = table["ddr_load"] if copy.to_scratchpad else table["spm_load"]
    store = table["spm_store"] if copy.to_scratchpad else table["ddr_store"]
    core = copy.accesses * (load + store + machine.scalar["loop_iteration"])
    return max(core, copy.nbytes / machine.ddr.bytes_per_cycle)


def replay(traces: list[ContextTrace], machine: Machine) -> Timeline:
    timeline = Timeline([])
    dma_free = 0.0
    dma_done: dict[int, float] = {}
    for trace in traces:
        now = 0.0
        spent = ContextTime(trace.context, ddr_bytes_direct=trace.ddr_bytes_direct)
        track = f"context {trace.context}"
        for segment in trace.segments:
            match segment:
                case Compute():
                    cycles = segment.scalar_cycles + segment.vector_cycles
                    timeline.events.append((track, "compute", now, cycles))
                    spent.compute += cycles
                    now += cycles
                case Copy():
                    cycles = copy_cycles(segment, machine)
                    name = "copy in" if segment.to_scratchpad else "copy out"
                    timeline.events.append((track, name, now, cycles))
                    spent.copy += cycles
                    now += cycles
                    if segment.to_scratchpad:
                        spent.ddr_bytes_read += segment.nbytes
                    else:
                        spent.ddr_bytes_written += segment.nbytes
                case DmaStart():
                    start = max(now, dma_free)
                    cycles = (
                        segment.descriptors * machine.dma.setup_cycles
                        + segment.nbytes / machine.dma.bytes_per_cycle
                    )
                    dma_free = start + cycles
                    dma_done[segment.id] = dma_free
                    timeline.dma_busy += cycles
                    timeline.dma_bytes += segment.nbytes
                    name = "dma in" if segment.to_scratchpad else "dma out"
                    timeline.events.append(("dma", name, start, cycles))
                    if segment.to_scratchpad:
                        spent.ddr_bytes_read += segment.nbytes
                    else:
                        spent.ddr_bytes_written += segment.nbytes
                case DmaWait():
                    ready = max(dma_done[i] for i in segment.ids)
                    if ready > now:
                        timeline.events.append((track, "dma wait", now, ready - now))
                        spent.dma_wait += ready - now
                        now = ready
        spent.end = now
        timeline.contexts.append(spent)
    return timeline
