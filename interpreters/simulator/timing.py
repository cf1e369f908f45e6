"""
The timing engine: a discrete-event replay of every context's trace on the machine's
shared resources.

* Contexts run side by side. The engine always advances the context whose clock is
  earliest, so shared resources are granted first come, first served.
* Compute takes its cycles on the context; a segment with vector work first needs one
  of the machine's vector units (`vector_contexts`), and waits when all are taken.
* A core-driven copy keeps its context busy for its load/store pairs, and no copy goes
  faster than the cores' path to DDR (`ddr.core_bytes_per_cycle`, shared by every
  context) or its turn on DDR allow.
* A DMA start queues on the earliest free DMA engine. The engine works through its
  queue in order: a descriptor takes `setup_cycles` (fetching it and the first bytes'
  latency), which overlaps the transfer before it when the descriptor was queued in
  time (descriptors are chained), then its bytes move once DDR is free for them, at
  the engine's bandwidth or DDR's, whichever is lower. The context goes on at once.
  A wait blocks the context until the named transfers end.
* An spm.matmul takes the earliest free matrix unit (`matrix.units`, shared by every
  context) for its cycles; the context waits for it, as a HexKL call blocks.
* DDR bandwidth is one resource: DMA transfers and core copies take turns on it.
* An hwctx.parallel forks its contexts (`fork_cycles`), which start together, and
  joins when the last one ends (`join_cycles`); the forking context waits meanwhile.

Each transfer's own cycles are costs/transfers.py's; the engine books the shared
resources. Nothing here knows which pass produced the program: DMA overlaps compute exactly as
far as the traced starts and waits allow.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

from xnpu.costs.transfers import core_copy_cycles, dma_setup_cycles, dma_transfer_cycles
from xnpu.interpreters.simulator.trace import (
    Compute,
    ContextTrace,
    Copy,
    DmaStart,
    DmaWait,
    MatrixProduct,
    Parallel,
)
from xnpu.machines import Machine


@dataclass
class ContextTime:
    """Where one context's time went, in cycles."""

    context: int
    label: str
    start: float = 0.0
    end: float = 0.0
    compute: float = 0.0
    copy: float = 0.0
    dma_wait: float = 0.0
    vector_wait: float = 0.0
    """Time spent waiting for a free vector unit."""
    matrix: float = 0.0
    """Time its products held a matrix unit."""
    matrix_wait: float = 0.0
    """Time spent waiting for a free matrix unit."""
    parallel: float = 0.0
    """Time spent forking, waiting for the forked contexts, and joining."""
    ddr_bytes_read: int = 0
    ddr_bytes_written: int = 0
    ddr_bytes_direct: int = 0

    @property
    def busy(self) -> float:
        return self.compute + self.copy + self.matrix

    @property
    def idle(self) -> float:
        return self.end - self.start - self.busy


@dataclass
class Event:
    """One span of the timeline: what `track` did from `start` for `duration` cycles."""

    track: str
    name: str
    start: float
    duration: float


@dataclass
class Timeline:
    contexts: list[ContextTime]
    dma_busy: float = 0.0
    dma_bytes: int = 0
    matrix_busy: float = 0.0
    matrix_peak: float = 0.0
    """The cycles the products' multiply-accumulates take at the matrix unit's peak."""
    events: list[Event] = field(default_factory=list)

    @property
    def cycles(self) -> float:
        return max((c.end for c in self.contexts), default=0.0)

    @property
    def overlap(self) -> float:
        """Cycles during which a DMA transfer and some context's compute both ran."""
        dma = _union(e for e in self.events if e.track.startswith("dma"))
        work = _union(
            e for e in self.events if e.name in ("compute", "copy in", "copy out", "matrix")
        )
        return _intersection_length(dma, work)


def _union(events) -> list[tuple[float, float]]:
    spans = sorted((e.start, e.start + e.duration) for e in events if e.duration > 0)
    merged: list[list[float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _intersection_length(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, high - low)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


@dataclass
class Channel:
    """A bandwidth taken in turns, first come, first served."""

    bytes_per_cycle: float
    free: float = 0.0

    def turn(self, earliest: float, nbytes: int) -> tuple[float, float]:
        """Books `nbytes` from `earliest` on; returns (start, end) of the turn."""
        start = max(earliest, self.free)
        self.free = start + nbytes / self.bytes_per_cycle
        return start, self.free


class Replay:
    """The state of the discrete-event replay (see the module docstring)."""

    def __init__(self, traces: list[ContextTrace], machine: Machine):
        self.traces = traces
        self.machine = machine
        self.timeline = Timeline(
            [ContextTime(t.context, t.label, ddr_bytes_direct=t.ddr_bytes_direct) for t in traces]
        )
        self.dma_free = [0.0] * machine.dma.engines
        self.vector_free = [0.0] * machine.core.vector_contexts
        self.matrix_free = [0.0] * (machine.matrix.units if machine.matrix else 0)
        self.ddr = Channel(machine.ddr.bytes_per_cycle)
        self.core_path = Channel(machine.ddr.core_bytes_per_cycle)
        """The cores' own path to DDR, shared by every context's core copies."""
        self.done: dict[int, float] = {}
        self.ready: list[tuple[float, int, int]] = []  # (time, context, next segment)
        self.forks: dict[int, tuple[float, int, int, float]] = {}
        """Forking context -> (fork time, its segment index, children still running,
        latest child end)."""
        self.parent_of: dict[int, int] = {}

    def run(self) -> Timeline:
        heapq.heappush(self.ready, (0.0, 0, 0))
        while self.ready:
            now, context, index = heapq.heappop(self.ready)
            segments = self.traces[context].segments
            if index == len(segments):
                self.finish(context, now)
                continue
            later = self.step(context, index, now)
            if later is not None:
                heapq.heappush(self.ready, (later, context, index + 1))
        return self.timeline

    def event(self, context: int, name: str, start: float, duration: float) -> None:
        if duration > 0:
            self.timeline.events.append(
                Event(self.timeline.contexts[context].label, name, start, duration)
            )

    def step(self, context: int, index: int, now: float) -> float | None:
        """Runs segment `index` of `context` from `now`; returns when the context is
        free again (None while it waits for the contexts it forked)."""
        segment = self.traces[context].segments[index]
        spent = self.timeline.contexts[context]
        match segment:
            case Compute():
                cycles = segment.scalar_cycles + segment.vector_cycles
                start = now
                if segment.vector_cycles:
                    unit = min(range(len(self.vector_free)), key=self.vector_free.__getitem__)
                    start = max(now, self.vector_free[unit])
                    self.vector_free[unit] = start + cycles
                    spent.vector_wait += start - now
                    self.event(context, "vector unit wait", now, start - now)
                self.event(context, "compute", start, cycles)
                spent.compute += cycles
                return start + cycles
            case Copy():
                _, ddr_end = self.ddr.turn(now, segment.nbytes)
                _, path_end = self.core_path.turn(now, segment.nbytes)
                own = core_copy_cycles(
                    segment.accesses, segment.vector, segment.to_scratchpad, self.machine
                )
                end = max(now + own, ddr_end, path_end)
                self.event(
                    context, "copy in" if segment.to_scratchpad else "copy out", now, end - now
                )
                spent.copy += end - now
                self.count_bytes(spent, segment.nbytes, segment.to_scratchpad)
                return end
            case MatrixProduct():
                unit = min(range(len(self.matrix_free)), key=self.matrix_free.__getitem__)
                start = max(now, self.matrix_free[unit])
                end = self.matrix_free[unit] = start + segment.cycles
                spent.matrix_wait += start - now
                spent.matrix += segment.cycles
                self.timeline.matrix_busy += segment.cycles
                self.timeline.matrix_peak += segment.peak_cycles
                self.event(context, "matrix unit wait", now, start - now)
                self.event(context, "matrix", start, segment.cycles)
                self.timeline.events.append(
                    Event(f"matrix {unit}", "product", start, segment.cycles)
                )
                return end
            case DmaStart():
                engine = min(range(len(self.dma_free)), key=self.dma_free.__getitem__)
                setup = dma_setup_cycles(segment.descriptors, self.machine)
                # the engine fetches a queued descriptor while it moves the one before
                moving, ddr_end = self.ddr.turn(
                    max(now + setup, self.dma_free[engine]), segment.nbytes
                )
                start = moving - setup
                end = max(moving + dma_transfer_cycles(segment.nbytes, self.machine), ddr_end)
                self.timeline.dma_busy += end - max(start, self.dma_free[engine])
                self.dma_free[engine] = self.done[segment.id] = end
                self.timeline.dma_bytes += segment.nbytes
                track = f"dma {engine}"
                name = "dma in" if segment.to_scratchpad else "dma out"
                if setup:
                    self.timeline.events.append(Event(track, "dma setup", start, setup))
                self.timeline.events.append(Event(track, name, moving, end - moving))
                self.count_bytes(spent, segment.nbytes, segment.to_scratchpad)
                return now
            case DmaWait():
                ready = max(self.done[i] for i in segment.ids)
                if ready > now:
                    self.event(context, "dma wait", now, ready - now)
                    spent.dma_wait += ready - now
                    return ready
                return now
            case Parallel():
                start = now + self.machine.threads.fork_cycles
                self.event(context, "fork", now, start - now)
                for child in segment.children:
                    self.parent_of[child] = context
                    self.timeline.contexts[child].start = start
                    heapq.heappush(self.ready, (start, child, 0))
                self.forks[context] = (now, index, len(segment.children), start)
                return None
        raise TypeError(f"unknown trace segment {segment!r}")

    def finish(self, context: int, now: float) -> None:
        self.timeline.contexts[context].end = now
        parent = self.parent_of.get(context)
        if parent is None:
            return
        forked_at, index, remaining, latest = self.forks[parent]
        remaining, latest = remaining - 1, max(latest, now)
        self.forks[parent] = (forked_at, index, remaining, latest)
        if remaining:
            return
        del self.forks[parent]
        resume = latest + self.machine.threads.join_cycles
        self.event(parent, "join", latest, resume - latest)
        self.timeline.contexts[parent].parallel += resume - forked_at
        heapq.heappush(self.ready, (resume, parent, index + 1))

    @staticmethod
    def count_bytes(spent: ContextTime, nbytes: int, to_scratchpad: bool) -> None:
        if to_scratchpad:
            spent.ddr_bytes_read += nbytes
        else:
            spent.ddr_bytes_written += nbytes


def replay(traces: list[ContextTrace], machine: Machine) -> Timeline:
    return Replay(traces, machine).run()


def write_chrome_trace(timeline: Timeline, clock_mhz: float, title: str, path) -> None:
    """The timeline as a Chrome trace (JSON, times in microseconds): one track per
    context, one per DMA engine."""
    tracks = [c.label for c in timeline.contexts]
    tracks += sorted({e.track for e in timeline.events} - set(tracks))
    ids = {track: index for index, track in enumerate(tracks)}
    events: list[dict] = [{"ph": "M", "name": "process_name", "pid": 0, "args": {"name": title}}]
    for track, tid in ids.items():
        events.append(
            {"ph": "M", "name": "thread_name", "pid": 0, "tid": tid, "args": {"name": track}}
        )
        events.append(
            {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": 0,
                "tid": tid,
                "args": {"sort_index": tid},
            }
        )
    for e in timeline.events:
        events.append({
            "ph": "X", "name": e.name, "cat": e.track.split()[0], "pid": 0, "tid": ids[e.track],
            "ts": e.start / clock_mhz, "dur": e.duration / clock_mhz,
            "args": {"start_cycle": e.start, "cycles": e.duration},
        })  # fmt: skip
    with open(path, "w") as out:
        json.dump({"traceEvents": events, "displayTimeUnit": "ns"}, out)
