"""
The functional layer's record: per hardware context, a trace of what it did, in order.

    Compute(scalar_cycles, vector_cycles)        op costs summed between events
    Copy(bytes, accesses, ...)                   a core-driven spm.copy
    DmaStart(id, bytes, ...) / DmaWait(ids)      asynchronous transfers
    Parallel(children)                           an hwctx.parallel: fork, the children's
                                                 traces, join

Values never depend on time in a race-free program, so the interpreter runs each
context's ops in program order (the contexts of a parallel region one after another)
and the timing engine (timing.py) replays these traces on the machine's shared
resources afterwards. The state also watches for races, each an error naming both
operations: an access to scratchpad bytes that an unfinished DMA is writing, or
writing bytes it is reading; and two programs writing one DDR element, or two
contexts of a parallel region sharing a scratchpad element (ownership.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.ir import Operation, SSAValue

from xnpu.dialects.location import at_location
from xnpu.dialects.spm import AllocOp, scratchpad_overflow
from xnpu.interpreters.ownership import Elements, Ledger
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
class Parallel:
    """An hwctx.parallel: fork `children` (trace indices), wait for all, join."""

    op: Operation
    children: tuple[int, ...]


Segment = Compute | Copy | DmaStart | DmaWait | Parallel


@dataclass
class ContextTrace:
    """What one hardware context did, in program order."""

    context: int
    label: str
    segments: list[Segment] = field(default_factory=list)
    ddr_bytes_direct: int = 0
    """Bytes of DDR moved by element-wise loads and stores (gathers, scatters)."""


class InterpreterError(Exception):
    """A run that cannot go on: out-of-bounds access, scratchpad overflow, a race...
    The message names the op and where it is."""


@dataclass(frozen=True)
class Transfer:
    """An unfinished DMA's scratchpad side: elements `low` to `high` of a buffer."""

    op: Operation
    token: int
    low: int
    high: int
    writes_scratchpad: bool

    def describe(self) -> str:
        way = "writing" if self.writes_scratchpad else "reading"
        return f"{self.op.name}{at_location(self.op)} (token {self.token}, still {way} them)"


def _describe_value(value: SSAValue) -> str:
    return f"%{value.name_hint}" if value.name_hint else "a scratchpad buffer"


def _more(count: int) -> str:
    return f" (and {count - 1:,} more)" if count > 1 else ""


class ExecutionState:
    """The mutable state of one run shared by xnpu's interpreter functions."""

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
        self.next_dma_id = 0
        self.in_flight: dict[int, list[Transfer]] = {}
        """Unfinished DMAs by the scratchpad buffer (numpy array id) they touch."""
        self.transfers: dict[int, tuple[np.ndarray, Transfer]] = {}
        self.ledger = Ledger()
        self.context_unit = self.ledger.new_units(1, "main")
        """The running context's unit (ownership.py), for shared scratchpad."""
        self.unit: int | np.ndarray = self.context_unit
        """The unit of order running now, for DDR: an iteration of the context's
        outermost loop (an array of them in such a loop run on arrays), or the
        context's own unit outside it."""
        self.shared: dict[int, np.ndarray] = {}
        """Scratchpad buffers the contexts of the running parallel region share."""

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

    # ---- races between DMA and everything else touching the scratchpad

    def check_access(
        self, op: Operation, buffer: np.ndarray, value: SSAValue, low: int, high: int, writes: bool
    ) -> None:
        """Fails if elements `low`..`high` of `buffer` are under an unfinished DMA that
        writes them, or that reads them while `op` writes."""
        for transfer in self.in_flight.get(id(buffer), ()):
            if (
                low <= transfer.high
                and transfer.low <= high
                and (writes or transfer.writes_scratchpad)
            ):
                way = "writes" if writes else "reads"
                raise InterpreterError(
                    f"race: {op.name}{at_location(op)} {way} elements {low} to {high} of "
                    f"{_describe_value(value)} while {transfer.describe()}; wait on its "
                    f"token first"
                )

    def start_transfer(
        self, op: Operation, buffer: np.ndarray, value: SSAValue, low: int, high: int, writes: bool
    ) -> int:
        self.check_access(op, buffer, value, low, high, writes)
        token = self.next_dma_id
        self.next_dma_id += 1
        transfer = Transfer(op, token, low, high, writes)
        self.in_flight.setdefault(id(buffer), []).append(transfer)
        self.transfers[token] = (buffer, transfer)
        return token

    def finish_transfer(self, token: int) -> None:
        buffer, transfer = self.transfers.pop(token)
        pending = self.in_flight[id(buffer)]
        pending.remove(transfer)
        if not pending:
            del self.in_flight[id(buffer)]

    def check_all_waited(self, where: str) -> None:
        if self.transfers:
            _, transfer = next(iter(self.transfers.values()))
            raise InterpreterError(
                f"{transfer.op.name}{at_location(transfer.op)} (token {transfer.token}) is "
                f"never waited on before the end of {where}"
            )

    # ---- scratchpad occupancy

    def allocate(self, op: AllocOp, array: np.ndarray) -> None:
        live = [*self.live_buffers, op]
        problem = scratchpad_overflow([(buffer, 1) for buffer in live], self.machine)
        if problem is not None:
            raise InterpreterError(f"scratchpad overflow{at_location(op)}: {problem}")
        self.live_buffers.append(op)
        self.live_arrays.append(array)

    def release_to(self, mark: int) -> None:
        del self.live_buffers[mark:]
        del self.live_arrays[mark:]

    # ---- races between programs, and between the contexts of a parallel region

    def watches(self, buffer: np.ndarray, ddr: bool, writes: bool) -> bool:
        """Whether an access needs `note_access` (computing its elements costs)."""
        return (ddr and writes) or id(buffer) in self.shared

    def note_access(
        self,
        op: Operation,
        buffer: np.ndarray,
        value: SSAValue,
        elements: Elements,
        writes: bool,
        ddr: bool,
    ) -> None:
        """Fails if another program wrote these DDR elements, or another context of
        the running parallel region wrote (or, for a write, read) these shared
        scratchpad elements; then records the access."""
        ledger = self.ledger
        if ddr:
            if not writes:
                return
            why = (
                "programs have no order between them (Triton gives none), so one must "
                "not write what another wrote"
            )
            units = self.unit
            checks = [(ledger.writers, "wrote")]
        elif id(buffer) in self.shared:
            why = (
                "the contexts of an hwctx.parallel have no order between them; give each "
                "context its own buffer by allocating it inside the region"
            )
            units = self.context_unit
            checks = [(ledger.writers, "wrote")] + ([(ledger.readers, "read")] if writes else [])
        else:
            return
        way = "writes" if writes else "reads"
        for table, done in checks:
            found = ledger.find(table, buffer, elements, units)
            if found is not None:
                element, unit, record, count = found
                raise InterpreterError(
                    f"race: {op.name}{at_location(op)} ({ledger.describe_unit(unit)}) {way} "
                    f"element {element}{_more(count)} of {_describe_value(value)}, which "
                    f"{ledger.describe_record(record)} {done}: {why}"
                )
        if writes:
            clash = ledger.clash_within(elements, units)
            if clash is not None:
                element, unit, other, count = clash
                raise InterpreterError(
                    f"race: {op.name}{at_location(op)} writes element {element}{_more(count)} of "
                    f"{_describe_value(value)} in {ledger.describe_unit(unit)} and in "
                    f"{ledger.describe_unit(other)}: {why}"
                )
        ledger.claim(ledger.writers if writes else ledger.readers, buffer, elements, units, op)

    def share(self, mark: int) -> None:
        """Starts a parallel region: the scratchpad buffers live before `mark` are
        shared by its contexts."""
        self.shared = {id(a): a for a in self.live_arrays[:mark]}

    def unshare(self) -> None:
        self.ledger.forget(self.shared.values())
        self.shared = {}
