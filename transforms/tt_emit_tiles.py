"""
How npu-lower-triton's emitter moves blocks and runs over their lanes: the copies of a
load's box into a tile (1-D, rows at a stride, rows of a period, or the window a
gather reads), masked lanes filled with `other`, and the `tile.map` over a box's lanes
(nested, or one flat loop over trailing dims held whole).

    spm.copy %x[%off] to %in0[%c0] count %len
    tile.map (%i) in (%c0 to %len) { ... tile.yield }

Part of `KernelEmitter` (tt_emitter.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Attribute, Operation, SSAValue

from xnpu.dialects import spm, tile, tt
from xnpu.dialects.location import at_location
from xnpu.transforms.builders import constant_int, located
from xnpu.transforms.tt_analysis import copy_groups, row_major
from xnpu.transforms.tt_emit_scalars import EmittedBox
from xnpu.transforms.tt_values import Affine, LoadLeaf, Pointer, Poly


@dataclass
class TileLayout:
    """A scratchpad tile holding a tensor: lane (l0, l1, ...) is at sum(l_d * strides[d])."""

    buffer: SSAValue
    strides: tuple[int, ...]
    region: EmittedBox
    """The lanes the tile holds valid data for."""


class TileEmission:
    """Copies of boxes and maps over their lanes (see the module docstring)."""

    def emit_load(self, leaf: LoadLeaf) -> None:
        dims = leaf.tile_dims
        if leaf.split is not None:
            box = self.box_of(None, leaf.shape)
            buffer = self.alloc("in", leaf.element, leaf.shape[0])
            self.load_tiles[leaf] = TileLayout(buffer, (1,), box)
            self.split_copy(leaf.pointer, leaf.split, buffer, leaf.shape[0], leaf.op)
            return
        if leaf.window is not None:
            self.emit_window(leaf)
            return
        if dims is None:  # a gather: read in the loops that use it
            self.remarks.append(
                f"load{at_location(leaf.op)} is gathered element by element from DDR: "
                f"{leaf.gathered_because}"
            )
            return
        box = self.box_of(leaf.mask, leaf.shape)
        buffer = self.alloc("in", leaf.element, prod(leaf.shape[d] for d in dims))
        self.load_tiles[leaf] = TileLayout(buffer, row_major(leaf.shape, dims), box)
        self.copy(leaf.pointer, buffer, dims, box, leaf.op)

    def split_copy(
        self, pointer: Pointer, split, tile: SSAValue, lanes: int, source: Operation
    ) -> None:
        """An spm.copy of a block whose offsets are affine piece by piece: `lanes //
        period` rows of `period` elements, `row_step` apart in DDR and packed in the
        tile (tt_windows.Split)."""
        rows = (
            self.index(lanes // split.period),
            self.poly_value(split.row_step),
            self.index(split.period),
        )
        self.transfer(
            self.args[pointer.base], self.poly_value(split.start), tile, self.index(0),
            self.index(split.period), rows, source,
        )  # fmt: skip
        what = "load" if isinstance(source, tt.LoadOp) else "store"
        self.remarks.append(
            f"{what}{at_location(source)} moves as {lanes // split.period} row(s) of "
            f"{split.period}: its offsets are affine piece by piece"
        )

    def copy(
        self, pointer: Pointer, tile: SSAValue, dims, box: EmittedBox, source: Operation
    ) -> None:
        """An spm.copy of `box`'s lanes between DDR at `pointer` and `tile` (row-major
        over `dims`) for the tt.load or tt.store `source` (whose location it takes); a
        box that starts past lane 0 moves from its first lanes on."""
        affine = pointer.offset
        assert isinstance(affine, Affine)
        ddr, ddr_offset = self.args[pointer.base], self.poly_value(affine.start)
        ranges = self.ranges(box, dims)
        tile_offset = self.index(0)
        ddr_skip = self.box_start(box, dims, [affine.lanes[d] for d in dims])
        if ddr_skip is not None:
            ddr_offset = self.insert(arith.AddiOp(ddr_offset, ddr_skip)).results[0]
            strides = row_major(box.box.shape, dims)
            tile_offset = self.box_start(box, dims, [Poly.of(strides[d]) for d in dims])
        counts = dict(
            zip(dims, (self.span(box, d, first, end) for d, (first, end) in zip(dims, ranges)))
        )
        groups = copy_groups(box.box.shape, affine, dims, box.box.bounded)
        if not self.flat_loops and len(groups) == 1 and len(groups[0]) > 1:
            # another tile moves as rows: this one too, so npu-tile sees one row shape
            groups = [groups[0][:1], groups[0][1:]]

        def count_of(group: list[int]) -> SSAValue:  # its inner dims are whole
            return self.scaled_index(counts[group[0]], prod(box.box.shape[d] for d in group[1:]))

        rows = None
        if len(groups) == 2:
            row_stride = self.poly_value(affine.lanes[groups[0][-1]])
            tile_row = prod(box.box.shape[d] for d in groups[1])
            rows = (count_of(groups[0]), row_stride, self.index(tile_row))
            count = count_of(groups[1])
        elif dims and len(groups[0]) == 1 and affine.lanes[dims[0]].constant != 1:
            # strided: rows of one element
            rows = (counts[dims[0]], self.poly_value(affine.lanes[dims[0]]), self.index(1))
            count = self.index(1)
        else:
            count = count_of(groups[0]) if dims else ranges[0][1]
        self.transfer(ddr, ddr_offset, tile, tile_offset, count, rows, source)

    def transfer(self, ddr, ddr_offset, tile, tile_offset, count, rows, source) -> None:
        """The spm.copy of a tt.load (DDR to `tile`) or tt.store (back), at the source's
        location; `rows` is (rows, DDR row stride, tile row stride) or None."""
        if isinstance(source, tt.LoadOp):
            copy = spm.CopyOp(ddr, ddr_offset, tile, tile_offset, count, rows)
        else:
            rows = rows if rows is None else (rows[0], rows[2], rows[1])
            copy = spm.CopyOp(tile, tile_offset, ddr, ddr_offset, count, rows)
        self.insert(located(copy, source))

    def box_start(self, box: EmittedBox, dims, coefficients: Sequence[Poly]) -> SSAValue | None:
        """`sum(first_d * coefficient_d)` over `dims`: where a box that starts past lane
        0 starts, in DDR or in a tile (None when it starts at lane 0)."""
        ranges = self.ranges(box, dims)
        key = ("box start", box, tuple(dims), tuple(c.key for c in coefficients))

        def start() -> SSAValue | None:
            total = None
            for d, (first, _), coefficient in zip(dims, ranges, coefficients):
                if box.firsts[d] is not None:
                    term = self.lane_offset(first, coefficient)
                    total = (
                        term if total is None else self.insert(arith.AddiOp(total, term)).results[0]
                    )
            return total

        return self.cached(key, start)

    def span(self, box: EmittedBox, d: int, first: SSAValue, end: SSAValue) -> SSAValue:
        """The lanes in [first, end): `end` when the box starts at lane 0."""
        if box.firsts[d] is None:
            return end
        return self.cached(("span", first, end), lambda: self._span(first, end))

    def _span(self, first: SSAValue, end: SSAValue) -> SSAValue:
        length = self.insert(arith.SubiOp(end, first)).results[0]
        return self.insert(arith.MaxSIOp(length, self.index(0))).results[0]

    def lane_offset(self, lane: SSAValue, coefficient: Poly) -> SSAValue:
        """`lane * coefficient`, for a lane index and a lane-invariant coefficient."""
        if coefficient.constant == 1:
            return lane
        return self.insert(arith.MuliOp(lane, self.poly_value(coefficient))).results[0]

    def ensure_filled(self, leaf: LoadLeaf) -> None:
        """Masked lanes of a tile read outside the load's own box hold `other`."""
        if leaf.mask is None or self.scope.lookup(("filled", leaf)):
            return
        self.remember(("filled", leaf), True)
        layout = self.load_tiles[leaf]
        box = layout.region
        dims = [d for d in range(len(leaf.shape)) if layout.strides[d]]
        ranges = self.ranges(box, dims)
        if leaf.other is not None:
            self.prepare(leaf.other, box)
        other = leaf.other

        def body(ivs):
            lanes = [self.index(0)] * len(leaf.shape)
            for d, iv in zip(dims, ivs):
                lanes[d] = iv
            value = (
                self.value_at(other, lanes, {}) if other is not None else self.zero_of(leaf.element)
            )
            self.insert(memref.StoreOp.get(value, layout.buffer, [self.tile_index(layout, lanes)]))

        extents = [self.index(leaf.shape[d]) for d in dims] or [self.index(1)]
        for piece in self.complement(box, dims, ranges, extents):
            self.map_over(piece, body)

    def complement(self, box: EmittedBox, dims, ranges, extents) -> list[list[tuple]]:
        """The lanes of [0, extent) per dimension outside `ranges`, as loop-nest bounds:
        the rows before and after the box's rows, and in its rows the columns around it."""
        (f0, e0), (x0,) = ranges[0], extents[:1]
        lowered = not dims or box.firsts[dims[0]] is not None
        rows_outside = [(e0, x0)] + ([(self.index(0), f0)] if lowered else [])
        if len(dims) < 2:
            return [[r] for r in rows_outside]
        (f1, e1), x1 = ranges[1], extents[1]
        pieces = [[r, (self.index(0), x1)] for r in rows_outside]
        pieces.append([(f0, e0), (e1, x1)])
        if box.firsts[dims[1]] is not None:
            pieces.append([(f0, e0), (self.index(0), f1)])
        return pieces

    def zero_of(self, element: Attribute) -> SSAValue:
        return self.constant(0 if isinstance(element, IntegerType) else 0.0, element)

    def element_loops(self, box: EmittedBox, body: Callable[[list[SSAValue]], None]) -> None:
        """A tile.map over the lanes of `box`; `body` gets one index per tensor
        dimension. Trailing dims the box holds whole run as one flat loop where they
        can (`flat_map`), else one loop per dimension (npu-lower-tiles makes the loops)."""
        shape = box.box.shape
        dims = [d for d, s in enumerate(shape) if s != 1]
        bounds = self.ranges(box, dims)
        run = self.flat_run(box, dims)
        if len(run) > 1 and self.flat_loops and self.flat_map(box, dims, bounds, run, body):
            return
        self.lane_map(shape, dims, bounds, None, body)

    def lane_map(self, shape, dims, bounds, run, body) -> tile.MapOp:
        """The tile.map over `bounds` (a range per dim of `dims`; `run`: the trailing
        dims it runs flat), its body built by `body(lanes)` in a scope of its own."""

        def lanes_body(arguments: list[SSAValue]) -> None:
            lanes = [self.index(0)] * len(shape)
            for d, lane in zip(dims, arguments):
                lanes[d] = lane
            if run:
                self.flat_lanes[tuple(lanes)] = (arguments[-1], run, shape)
            body(lanes)
            if run:
                self.flat_lanes.pop(tuple(lanes))

        op = self.map_over(bounds, lanes_body, [shape[d] for d in run] if run else None)
        assert op is not None, "a box has a range per dimension, or one of 0 to 1"
        return op

    def flat_map(self, box: EmittedBox, dims, bounds, run, body) -> bool:
        """The trailing dims `run` as one flat loop (a contiguous 4-D block of
        16 x 16 x 128 x 2 is one loop of 65,536 lanes, which npu-vectorize vectorizes,
        not 8,192 loops of 2): a row-major tile over them is indexed by the flat index
        itself. When `body` reads a dim's own lane (a mask, a row's reduction result,
        a lane index as data), the flat map is undone (False): dividing the index
        back into lanes would cost more than it saves and hide the rows from npu-tile.

            tile.map (%i, %j) in (...) { ... %t[%i * 2 + %j] }
                ==>  tile.map (%i, %j) in (...) flat(%f) over [n, 2] { ... %t[%f] }"""
        op = self.lane_map(box.box.shape, dims, bounds, run, body)
        if any(lane.uses for lane in op.body.block.args[len(dims) - len(run) : len(dims)]):
            op.detach()
            op.erase()
            return False
        return True

    @staticmethod
    def flat_run(box: EmittedBox, dims: list[int]) -> list[int]:
        """The trailing `dims` one flat loop can run: every one but the first whole
        (no mask cuts it, no box starts past its lane 0)."""
        run: list[int] = []
        for d in reversed(dims):
            run.insert(0, d)
            if box.firsts[d] is not None or box.ends[d] is not None:
                break
        return run

    def scaled_index(self, value: SSAValue, factor: int) -> SSAValue:
        """`value * factor`, folded when `value` is a constant."""
        known = constant_int(value)
        if known is not None:
            return self.index(known * factor)
        if factor == 1:
            return value
        return self.insert(arith.MuliOp(value, self.index(factor))).results[0]

    def emit_window(self, leaf: LoadLeaf) -> None:
        """One copy of the DDR range a gather's lanes read (tt_windows.py), which the
        loops then gather from in the scratchpad."""
        window = leaf.window
        box = self.box_of(leaf.mask, leaf.shape)  # the live lanes: their ends are read
        dims = list(range(len(leaf.shape)))
        lanes = [(first, self.offset_index(end, -1)) for first, end in self.ranges(box, dims)]
        low, high = self.window_ends(window, lanes)
        count = self.insert(arith.SubiOp(high, low)).results[0]
        count = self.insert(arith.AddiOp(count, self.index(1))).results[0]
        for first, last in lanes:  # no live lane: nothing to move
            live = self.insert(arith.CmpiOp(first, last, "sle")).results[0]
            count = self.insert(arith.SelectOp(live, count, self.index(0))).results[0]
        buffer = self.alloc("win", leaf.element, window.size)
        copy = spm.CopyOp(self.args[leaf.pointer.base], low, buffer, self.index(0), count)
        self.insert(located(copy, leaf.op))
        self.windows[leaf] = (buffer, low)
        self.remarks.append(
            f"load{at_location(leaf.op)} moves the range its lanes read ({window.size} elements "
            "at most) in one copy, and gathers from the scratchpad"
        )

    def offset_index(self, value: SSAValue, offset: int) -> SSAValue:
        """`value + offset`, folded when `value` is a constant."""
        known = constant_int(value)
        if known is not None:
            return self.index(known + offset)
        return self.insert(arith.AddiOp(value, self.index(offset))).results[0]

    def plus_lane(self, total: SSAValue, lane: SSAValue, coefficient: Poly) -> SSAValue:
        """`total + lane * coefficient`, folded where both are constants."""
        known, step = constant_int(lane), coefficient.constant
        if known is not None and step is not None:
            return self.offset_index(total, known * step) if known * step else total
        return self.insert(arith.AddiOp(total, self.lane_offset(lane, coefficient))).results[0]

    def window_ends(self, window, lanes) -> tuple[SSAValue, SSAValue]:
        """The smallest and largest index a window's live lanes read, as indices, from
        the first and last live lane of each dim (`lanes`)."""
        op = lambda new: self.insert(new).results[0]  # noqa: E731
        if window.kind == "lanes":
            (affine,) = window.parts
            low = high = self.poly_value(affine.start)
            for d, (first, last) in enumerate(lanes):
                if affine.varies(d):
                    low = self.plus_lane(low, first, affine.lanes[d])
                    high = self.plus_lane(high, last, affine.lanes[d])
            return low, high
        inner, *rest = window.parts
        a, b = self.window_ends(inner, lanes)
        if window.kind == "shift":
            node, subtract = rest
            shift = self.to_index(self.scalar_of(node))
            kind = arith.SubiOp if subtract else arith.AddiOp
            return op(kind(a, shift)), op(kind(b, shift))
        (constant,) = rest
        c = self.index(constant)
        if window.kind == "scale":
            return op(arith.MuliOp(a, c)), op(arith.MuliOp(b, c))
        if window.kind == "quotient":
            return op(arith.DivUIOp(a, c)), op(arith.DivUIOp(b, c))
        # remainder: the ends' remainders, or 0 and constant - 1 where the values wrap
        wraps = op(arith.CmpiOp(op(arith.DivUIOp(a, c)), op(arith.DivUIOp(b, c)), "ne"))
        low = op(arith.SelectOp(wraps, self.index(0), op(arith.RemUIOp(a, c))))
        high = op(arith.SelectOp(wraps, self.index(constant - 1), op(arith.RemUIOp(b, c))))
        return low, high
