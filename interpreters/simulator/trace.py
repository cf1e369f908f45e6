"""
The functional layer's record: per hardware context, a trace of what it did, in order.

    Compute(scalar_cycles, vector_cycles)        op costs summed between events
    Copy(bytes, accesses, ...)                   a core-driven spm.copy
    DmaStart(id, bytes, ...) / DmaWait(ids)      asynchronous transfers
    MatrixProduct(cycles)                        an spm.matmul on a matrix unit
    Parallel(children)                           an hwctx.parallel: fork, the children's
                                                 traces, join

Values never depend on time in a race-free program, so the interpreter runs each
context's ops in program order (the contexts of a parallel region one after another)
and the timing engine (timing.py) replays these traces on the machine's shared
resources afterwards. The state also watches for races, each an error naming both
operations: an access to scratchpad bytes that an unfinished DMA is writing, or
writing bytes it is reading; and two programs writing one DDR element, or two
contexts of a parallel region sharing a scratchpad element (races.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.ir import Operation

from xnpu.dialects.location import at_location
from xnpu.dialects.spm import AllocOp, scratchpad_overflow, scratchpad_used
from xnpu.interpreters.simulator.errors import InterpreterError
from xnpu.interpreters.simulator.races import RaceDetector
from xnpu.machines import Machine


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


@dataclass
class MatrixProduct:
    """An spm.matmul: `cycles` on one of the machine's matrix units (costs/matrix.py);
    the issuing context waits for it."""

    op: Operation
    cycles: float
    peak_cycles: float
    """What its multiply-accumulates would take at the unit's peak (costs/matrix.py)."""


@dataclass
class Parallel:
    """An hwctx.parallel: fork `children` (trace indices), wait for all, join."""

    op: Operation
    children: tuple[int, ...]


Segment = Compute | Copy | DmaStart | DmaWait | MatrixProduct | Parallel


@dataclass
class ContextTrace:
    """What one hardware context did, in program order."""

    context: int
    label: str
    segments: list[Segment] = field(default_factory=list)
    ddr_bytes_direct: int = 0
    """Bytes of DDR moved by element-wise loads and stores (gathers, scatters)."""


class ExecutionState(RaceDetector):
    """The mutable state of one run shared by xnpu's interpreter functions: the traces,
    the scratchpad's occupancy and, inherited, the race detector's records (races.py)."""

    def __init__(self, machine: Machine):
        self.machine = machine
        self.reset()

    def reset(self) -> None:
        """The state before a run (the functions that share it run the next one)."""
        self.traces: list[ContextTrace] = [ContextTrace(0, "main")]
        self.current = self.traces[0]
        self.scale = 1
        """How many iterations the op being executed stands for (vectorized loops)."""
        self.pending_scalar = 0.0
        self.pending_vector = 0.0
        self.live_buffers: list[AllocOp] = []
        self.live_arrays: list[np.ndarray] = []
        self.scratchpad_peak = 0
        """The most scratchpad bytes live at once (whole granules)."""
        self.reset_races()

    def new_trace(self, label: str) -> ContextTrace:
        trace = ContextTrace(len(self.traces), label)
        self.traces.append(trace)
        return trace

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

    def allocate(self, op: AllocOp, array: np.ndarray) -> None:
        live = [(buffer, 1) for buffer in (*self.live_buffers, op)]
        problem = scratchpad_overflow(live, self.machine)
        if problem is not None:
            raise InterpreterError(f"scratchpad overflow{at_location(op)}: {problem}")
        self.scratchpad_peak = max(self.scratchpad_peak, scratchpad_used(live, self.machine))
        self.live_buffers.append(op)
        self.live_arrays.append(array)

    def release_to(self, mark: int) -> None:
        del self.live_buffers[mark:]
        del self.live_arrays[mark:]
