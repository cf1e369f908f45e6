"""
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
from xdsl.ir import Operation

from xnpu.dialects.location import at_location

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
