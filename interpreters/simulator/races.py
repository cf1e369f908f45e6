"""
The race detector: every race a run can have, each an error naming both operations.

* DMA. An access to scratchpad elements that an unfinished DMA writes, or a write to
  elements it reads (`RaceDetector.check_access`); a DMA never waited on.

Who wrote each element: the races that no DMA token shows.

* DDR. Triton gives no order between programs, so two programs, or two hardware
  contexts, writing one element of a kernel argument within a launch is a race,
  whatever the values. The unit of order is one iteration of a context's outermost
  loop (a program, or the programs a tile holds), or a context's code outside it.
* Shared scratchpad. An hwctx.parallel gives its contexts no order, so a buffer
  allocated before the region is shared by them: one context writing an element that
  another context reads or writes inside the region is a race.

The functional layer runs contexts one after another, so order of execution proves
nothing; the ledger instead records, per element, the last (unit, op) that wrote it
(and, for shared scratchpad, read it), and a different unit's access is the race:

    ledger = Ledger()
    unit = ledger.new_units(1, "context 1")
    ledger.find(ledger.writers, out, elements, unit)   # None, or (element, record)
    ledger.claim(ledger.writers, out, elements, unit, op)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue

from xnpu.dialects.location import at_location
from xnpu.dialects.spm import is_scratchpad
from xnpu.interpreters.simulator.errors import InterpreterError

Elements = slice | np.ndarray
"""Flat element indices of a buffer: a slice, or an index array."""
Units = int | np.ndarray
"""The unit of each access: one for all, or an array broadcast with the elements."""


@dataclass(frozen=True)
class UnitRange:
    """Units `base` to `base + count - 1`: the iterations of `loop` in `context`, or,
    with no loop, the context's code outside its outermost loops."""

    base: int
    count: int
    context: str
    loop: Operation | None
    lower: int
    step: int

    def describe(self, unit: int) -> str:
        if self.loop is None:
            return self.context
        iteration = self.lower + (unit - self.base) * self.step
        return f"{self.context}, iteration {iteration} of {self.loop.name}{at_location(self.loop)}"


class Runs:
    """One buffer's records while every claim on it is a slice of one unit (a tile's
    DMA, a program's contiguous store): sorted, disjoint runs of elements
    [start, stop), each with one record. Any other access, or more than `LIMIT` runs,
    turns them into one record per element (`dense`), -1 for none: a ledger of a 64M
    element output costs a few runs instead of 256 MB."""

    LIMIT = 1 << 16

    def __init__(self, size: int):
        self.size = size
        self.starts: list[int] = []
        self.stops: list[int] = []
        self.records: list[int] = []

    @staticmethod
    def takes(elements: Elements, units: Units) -> bool:
        return isinstance(units, int) and isinstance(elements, slice) and elements.step in (None, 1)

    def overlapping(self, start: int, stop: int) -> range:
        """The indices of the runs that share an element with [start, stop)."""
        if start >= stop:
            return range(0)
        return range(bisect.bisect_right(self.stops, start), bisect.bisect_left(self.starts, stop))

    def claim(self, start: int, stop: int, record: int) -> None:
        if start >= stop:
            return
        runs = self.overlapping(start, stop)
        starts, stops, records = [start], [stop], [record]
        if runs:
            first, last = runs[0], runs[-1]
            if self.starts[first] < start:  # what is left of the first run
                starts.insert(0, self.starts[first])
                stops.insert(0, start)
                records.insert(0, self.records[first])
            if self.stops[last] > stop:  # and of the last
                starts.append(stop)
                stops.append(self.stops[last])
                records.append(self.records[last])
        self.starts[runs.start : runs.stop] = starts
        self.stops[runs.start : runs.stop] = stops
        self.records[runs.start : runs.stop] = records

    def dense(self) -> np.ndarray:
        entries = np.full(self.size, -1, np.int32)
        for start, stop, record in zip(self.starts, self.stops, self.records):
            entries[start:stop] = record
        return entries


class Ledger:
    """Per watched buffer, the record of each element's last writer (and reader);
    a record is one (unit, op) pair."""

    def __init__(self):
        self.ranges: list[UnitRange] = []
        self.next_unit = 0
        self.record_ops: list[Operation] = []
        self.record_units = np.zeros(0, np.int64)
        self._record_of: dict[tuple[int, Operation], int] = {}
        self.writers: dict[int, np.ndarray | Runs] = {}
        """id(buffer) -> the record of each element's last write, -1 for none."""
        self.readers: dict[int, np.ndarray | Runs] = {}
        """id(buffer) -> the record of each element's last read (shared scratchpad)."""

    def new_units(
        self, count: int, context: str, loop: Operation | None = None, lower=0, step=1
    ) -> int:
        """`count` fresh units (the iterations of `loop`); returns the first."""
        base = self.next_unit
        self.ranges.append(UnitRange(base, count, context, loop, lower, step))
        self.next_unit += count
        return base

    def describe_unit(self, unit: int) -> str:
        index = bisect.bisect_right([r.base for r in self.ranges], unit) - 1
        return self.ranges[index].describe(unit)

    def describe_record(self, record: int) -> str:
        op = self.record_ops[record]
        return f"{op.name}{at_location(op)} ({self.describe_unit(int(self.record_units[record]))})"

    def forget(self, buffers) -> None:
        """Stops watching `buffers` (numpy arrays)."""
        for buffer in buffers:
            self.writers.pop(id(buffer), None)
            self.readers.pop(id(buffer), None)

    def find(
        self, table: dict[int, np.ndarray], buffer: np.ndarray, elements: Elements, units: Units
    ) -> tuple[int, int, int, int] | None:
        """The first element of `elements` whose entry in `table` is another unit's
        record, as (element, unit of the access, that record, how many such elements);
        None if there is none."""
        entries = self._entries(table, buffer, elements, units)
        if entries is None:
            return None
        if isinstance(entries, Runs):
            return self._find_in_runs(entries, elements, units)
        flat, units = _aligned(elements, units)
        previous = entries[flat]
        known = previous >= 0
        if not known.any():
            return None
        other = known & (self.record_units[np.where(known, previous, 0)] != units)
        if not other.any():
            return None
        k = int(np.argmax(other))
        element = flat.start + k if isinstance(flat, slice) else int(flat[k])
        unit = units if isinstance(units, int) else int(units[k])
        return element, unit, int(previous[k]), int(np.count_nonzero(other))

    def clash_within(self, elements: Elements, units: Units) -> tuple[int, int, int, int] | None:
        """Two units of one access (a loop run on arrays) touching one element:
        (element, unit, other unit, how many such pairs), or None."""
        if isinstance(units, int) or isinstance(elements, slice):
            return None
        flat, units = _aligned(elements, units)
        order = np.argsort(flat, kind="stable")
        flat, units = flat[order], units[order]
        clash = (flat[1:] == flat[:-1]) & (units[1:] != units[:-1])
        if not clash.any():
            return None
        k = int(np.argmax(clash))
        return int(flat[k]), int(units[k + 1]), int(units[k]), int(np.count_nonzero(clash))

    def claim(
        self,
        table: dict[int, np.ndarray],
        buffer: np.ndarray,
        elements: Elements,
        units: Units,
        op: Operation,
    ) -> None:
        """Records (unit, op) as the last access to `elements` in `table`."""
        entries = self._entries(table, buffer, elements, units)
        if entries is None:
            entries = table[id(buffer)] = (
                Runs(buffer.size)
                if Runs.takes(elements, units)
                else np.full(buffer.size, -1, np.int32)
            )
        if isinstance(entries, Runs):
            entries.claim(*elements.indices(entries.size)[:2], self._record(units, op))
            if len(entries.starts) > Runs.LIMIT:
                table[id(buffer)] = entries.dense()
            return
        flat, units = _aligned(elements, units)
        if isinstance(units, int):
            entries[flat] = self._record(units, op)
        else:
            distinct, inverse = np.unique(units, return_inverse=True)
            records = np.array([self._record(int(u), op) for u in distinct], np.int32)
            entries[flat] = records[inverse.reshape(-1)]

    @staticmethod
    def _entries(table, buffer: np.ndarray, elements: Elements, units: Units):
        """`buffer`'s records in `table` (None if it has none), as runs while the access
        is one they can take, else one per element from now on."""
        entries = table.get(id(buffer))
        if isinstance(entries, Runs) and not Runs.takes(elements, units):
            entries = table[id(buffer)] = entries.dense()
        return entries

    def _find_in_runs(self, runs: Runs, elements: slice, unit: int):
        start, stop, _ = elements.indices(runs.size)
        found, count = None, 0
        for index in runs.overlapping(start, stop):
            record = runs.records[index]
            if self.record_units[record] == unit:
                continue
            low, high = max(runs.starts[index], start), min(runs.stops[index], stop)
            if found is None:
                found = (low, unit, record)
            count += high - low
        return None if found is None else (*found, count)

    def _record(self, unit: int, op: Operation) -> int:
        record = self._record_of.get((unit, op))
        if record is None:
            record = self._record_of[(unit, op)] = len(self.record_ops)
            self.record_ops.append(op)
            if record >= len(self.record_units):
                grown = np.zeros(max(16, 2 * len(self.record_units)), np.int64)
                grown[: len(self.record_units)] = self.record_units
                self.record_units = grown
            self.record_units[record] = unit
        return record


def _aligned(elements: Elements, units: Units) -> tuple[Elements, Units]:
    """Flat elements and their units, both 1-D arrays unless they are one slice and
    one unit."""
    if isinstance(elements, slice):
        return elements, units
    if isinstance(units, int):
        return elements.reshape(-1), units
    units = units.reshape(units.shape + (1,) * (elements.ndim - units.ndim))
    elements, units = np.broadcast_arrays(elements, units)
    return elements.reshape(-1), units.reshape(-1)


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


class RaceDetector:
    """The records the race checks read: unfinished DMAs, and who wrote (or read)
    each watched element. The execution state is one (trace.py)."""

    def reset_races(self) -> None:
        """No transfer in flight, no access recorded: the records before a run."""
        self.next_dma_id = 0
        self.in_flight: dict[int, list[Transfer]] = {}
        """Unfinished DMAs by the scratchpad buffer (numpy array id) they touch."""
        self.transfers: dict[int, tuple[np.ndarray, Transfer]] = {}
        self.ledger = Ledger()
        self.context_unit = self.ledger.new_units(1, "main")
        """The running context's unit, for shared scratchpad."""
        self.unit: int | np.ndarray = self.context_unit
        """The unit of order running now, for DDR: an iteration of the context's
        outermost loop (an array of them in such a loop run on arrays), or the
        context's own unit outside it."""
        self.shared: dict[int, np.ndarray] = {}
        """Scratchpad buffers the contexts of the running parallel region share."""

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


def check_race(
    state: RaceDetector,
    op: Operation,
    buffer: np.ndarray,
    ref: SSAValue,
    where: tuple,
    writes: bool,
) -> None:
    """Fails if the access races: it overlaps an unfinished DMA (see
    RaceDetector.check_access), or another program or context touched its elements
    (see RaceDetector.note_access). `where` indexes every element accessed."""
    ddr = not is_scratchpad(ref.type)
    if id(buffer) not in state.in_flight and not state.watches(buffer, ddr, writes):
        return
    if len(where) > 1:
        flat = np.ravel_multi_index(np.broadcast_arrays(*map(np.asarray, where)), buffer.shape)
    else:
        flat = np.asarray(where[0])
    if id(buffer) in state.in_flight:
        state.check_access(op, buffer, ref, int(flat.min()), int(flat.max()), writes)
    state.note_access(op, buffer, ref, flat, writes, ddr)
