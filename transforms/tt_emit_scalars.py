"""
What npu-lower-triton's emitter computes once per iteration (a program, or a trip of
a kernel loop), not lane by lane: the kernel's scalars, lane-invariant offsets
(`Poly`s) as indices, and the boxes of masks as lane ranges and guards.

    %len = arith.minsi (arith.maxsi (%n - %off) 0) 1024      // `offs < n` over 1024 lanes

Part of `KernelEmitter` (tt_emitter.py); the analyses that decide what each value is
build no IR (tt_analysis.py, tt_masks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Block, Operation, Region, SSAValue

from xnpu.dialects import tt
from xnpu.transforms.builders import located
from xnpu.transforms.libdevice import tt_expansion
from xnpu.transforms.tt_masks import AndBox, BoundBox, Box, ConditionBox, FullBox, ViewBox
from xnpu.transforms.tt_values import LoweringError, Node, Poly, ScalarLoad


@dataclass(eq=False)
class EmittedBox:
    """A Box's lane ranges and guards as values of the program loop: along dimension
    d the lanes [firsts[d], ends[d]) (None: 0 and the extent), when every guard holds."""

    box: Box
    firsts: tuple[SSAValue | None, ...]
    ends: tuple[SSAValue | None, ...]
    guards: tuple[SSAValue, ...]


class ScalarEmission:
    """Scalars, offsets and boxes, emitted once per iteration (see the module docstring)."""

    def emit_scalar_load(self, load: ScalarLoad) -> SSAValue:
        """One element from DDR; under a mask, an scf.if that reads it only when the
        mask holds and else gives `other` (zero without one)."""
        op, pointer = load.op, load.pointer
        offset = self.poly_value(pointer.offset.start)
        read = located(memref.LoadOp.get(self.args[pointer.base], [offset]), op)
        if op.mask is None:
            return self.insert(read).res
        otherwise = self.scalar(op.other) if op.other is not None else self.zero_of(read.res.type)
        masked = scf.IfOp(
            self.scalar(op.mask),
            [read.res.type],
            Region(Block([read, scf.YieldOp(read.res)])),
            Region(Block([scf.YieldOp(otherwise)])),
        )
        return self.insert(located(masked, op)).results[0]

    def emit_scalar_op(self, op: Operation) -> None:
        if isinstance(op, tt.GetProgramIdOp):
            self.scalars[op.result] = self.program_ids[op.axis.value.data]
            return
        if isinstance(op, tt.GetNumProgramsOp):
            cast = arith.IndexCastOp(self.grid[op.axis.value.data], IntegerType(32))
            self.scalars[op.result] = self.insert(cast).results[0]
            return
        if isinstance(op, arith.ConstantOp):
            self.scalars[op.result] = self.insert_entry(op.clone()).results[0]
            return
        expansion = tt_expansion(op)
        if expansion is not None:
            emit = lambda new: self.insert(located(new, op)).results[0]  # noqa: E731
            operands = [self.scalar(v) for v in op.operands]
            self.scalars[op.results[0]] = expansion(emit, operands)
            return
        clone = op.clone(value_mapper={v: self.scalar(v) for v in op.operands})
        self.insert(clone)
        self.scalars.update(zip(op.results, clone.results))

    def scalar(self, value: SSAValue) -> SSAValue:
        if value in self.scalars:
            return self.scalars[value]
        if value in self.args:
            return self.args[value]
        if value in self.induction_variables:  # cast back once a trip, where first needed
            index = self.induction_variables[value]
            with self.iteration_level():
                cast = lambda: self.insert(arith.IndexCastOp(index, value.type)).results[0]  # noqa: E731
                return self.cached(("scalar", value), cast)
        raise LoweringError(f"npu-lower-triton: internal error: no scalar for {value}")

    def poly_value(self, poly: Poly) -> SSAValue:
        """A lane-invariant integer as an index computed once per iteration (a program,
        or a trip of a kernel loop)."""
        with self.iteration_level():
            return self.cached(("poly", poly.key), lambda: self._poly_value(poly))

    def _poly_value(self, poly: Poly) -> SSAValue:
        total: SSAValue | None = None
        constant = 0
        for coef, monomial in poly.terms:
            if not monomial:
                constant += coef
                continue
            factors = [self.scalar_index(value) for value in monomial]
            term = factors[0]
            for factor in factors[1:]:
                term = self.insert(arith.MuliOp(term, factor)).results[0]
            if coef != 1:
                term = self.insert(arith.MuliOp(term, self.index(coef))).results[0]
            total = term if total is None else self.insert(arith.AddiOp(total, term)).results[0]
        if total is None:
            total = self.index(constant)
        elif constant:
            total = self.insert(arith.AddiOp(total, self.index(constant))).results[0]
        return total

    def scalar_index(self, value: SSAValue) -> SSAValue:
        return self.cached(("index", value), lambda: self.to_index(self.scalar(value)))

    def box_of(self, mask: Node | None, shape: tuple[int, ...]) -> EmittedBox:
        box = self.analysis.masks.box_of(mask, shape)
        assert box is not None, "the analysis refuses masks that are not boxes"
        return self.emitted_box(box)

    def emitted_box(self, box: Box) -> EmittedBox:
        """A box's counts and guards, computed once per iteration."""
        with self.iteration_level():
            return self.cached(("box", box), lambda: self._emit_box(box))

    def _emit_box(self, box: Box) -> EmittedBox:
        unbounded = (None,) * len(box.shape)
        match box:
            case FullBox():
                return EmittedBox(box, unbounded, unbounded, ())
            case ConditionBox():
                return EmittedBox(box, unbounded, unbounded, (self.scalar_of(box.condition),))
            case ViewBox():
                inner = self.emitted_box(box.inner)
                firsts, ends = list(unbounded), list(unbounded)
                guards = list(inner.guards)
                for s, (first, end) in enumerate(zip(inner.firsts, inner.ends)):
                    if first is None and end is None:
                        continue
                    if s in box.dims:
                        firsts[box.dims[s]], ends[box.dims[s]] = first, end
                    else:  # a size-1 dimension that was dropped or broadcast: lane 0 in range
                        guards.append(self.nonempty(first, end))
                return EmittedBox(box, tuple(firsts), tuple(ends), tuple(guards))
            case AndBox():
                a, b = self.emitted_box(box.a), self.emitted_box(box.b)
                firsts = tuple(map(self.larger, a.firsts, b.firsts))
                ends = tuple(map(self.smaller, a.ends, b.ends))
                return EmittedBox(box, firsts, ends, a.guards + b.guards)
            case BoundBox():
                return self._emit_bound(box)
        raise LoweringError(f"npu-lower-triton: internal error: cannot emit {box}")

    def larger(self, x: SSAValue | None, y: SSAValue | None) -> SSAValue | None:
        if x is None or y is None:
            return x if y is None else y
        return self.insert(arith.MaxSIOp(x, y)).results[0]

    def smaller(self, x: SSAValue | None, y: SSAValue | None) -> SSAValue | None:
        if x is None or y is None:
            return x if y is None else y
        return self.insert(arith.MinSIOp(x, y)).results[0]

    def nonempty(self, first: SSAValue | None, end: SSAValue | None) -> SSAValue:
        """`first < end` (0 and the extent where None)."""
        lower = first if first is not None else self.index(0)
        if end is None:  # the extent of a dropped dimension is 1
            return self.insert(arith.CmpiOp(lower, self.index(1), "slt")).results[0]
        return self.insert(arith.CmpiOp(end, lower, "sgt")).results[0]

    def _emit_bound(self, box: BoundBox) -> EmittedBox:
        """The lanes l of [0, extent) with `start + step * l < limit` (upper) or
        `>= limit` (lower), as the end or the first of that range. With a negative
        step (lanes reversed) the bound flips: `start - s * l < b` holds from lane
        ceil((start - b + 1) / s) on, `>= b` up to it."""
        if isinstance(box.limit, Poly):
            bound = self.poly_value(box.limit)
        else:
            bound = self.to_index(self.scalar_of(box.limit))
        if box.inclusive != box.lower:  # `<= b` is `< b + 1`, `> b` is `>= b + 1`
            bound = self.insert(arith.AddiOp(bound, self.index(1))).results[0]
        start = self.poly_value(box.start)
        if box.step > 0:
            room = self.insert(arith.SubiOp(bound, start)).results[0]
        else:
            room = self.insert(arith.SubiOp(start, bound)).results[0]
            room = self.insert(arith.AddiOp(room, self.index(1))).results[0]
        if abs(box.step) != 1:
            room = self.insert(arith.CeilDivSIOp(room, self.index(abs(box.step)))).results[0]
        room = self.insert(arith.MaxSIOp(room, self.index(0))).results[0]
        lane = self.insert(arith.MinSIOp(room, self.index(box.shape[box.dim]))).results[0]
        firsts: list[SSAValue | None] = [None] * len(box.shape)
        ends: list[SSAValue | None] = [None] * len(box.shape)
        (firsts if box.lower == (box.step > 0) else ends)[box.dim] = lane
        return EmittedBox(box, tuple(firsts), tuple(ends), ())

    def ranges(self, box: EmittedBox, dims: Sequence[int]) -> list[tuple[SSAValue, SSAValue]]:
        """Loop or copy ranges (first, end) for `dims` of a box, every guard (and every
        range of a dimension not in `dims`) folded into the first: when one fails, its
        end is its first and no lane runs."""
        return self.cached(("ranges", box, tuple(dims)), lambda: self._ranges(box, dims))

    def _ranges(self, box: EmittedBox, dims: Sequence[int]) -> list[tuple[SSAValue, SSAValue]]:
        live = list(box.guards)
        for d, (first, end) in enumerate(zip(box.firsts, box.ends)):
            if d not in dims and (first is not None or end is not None):
                live.append(self.nonempty(first, end))
        ranges = [
            (
                box.firsts[d] if box.firsts[d] is not None else self.index(0),
                box.ends[d] if box.ends[d] is not None else self.index(box.box.shape[d]),
            )
            for d in dims
        ] or [(self.index(0), self.index(1))]
        if live:
            condition = live[0]
            for other in live[1:]:
                condition = self.insert(arith.AndIOp(condition, other)).results[0]
            first, end = ranges[0]
            ranges[0] = (first, self.insert(arith.SelectOp(condition, end, first)).results[0])
        return ranges
