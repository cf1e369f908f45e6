"""
How npu-lower-triton's emitter lowers what consumes tensors: a store (a map into a
tile and the copy back, a scatter, or one masked element), and the ops that carry an
accumulator along an axis, each a loop per row: `tt.reduce` (from the combiner's
identity, fp16 sums in f32), `tt.scan` (every prefix stored) and `tt.assert`.

    %sum = scf.for %r = %c0 to %c1024 step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %in0[%r]   %s = arith.addf %acc, %x   scf.yield %s }

Part of `KernelEmitter` (tt_emitter.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from xdsl.dialects import arith, cf, memref, scf
from xdsl.dialects.builtin import Float32Type, TensorType, UnitAttr, i1
from xdsl.ir import Block, Region, SSAValue

from xnpu.dialects import tile, tt
from xnpu.dialects.combiners import identity_attribute
from xnpu.dialects.location import at_location
from xnpu.transforms.builders import located
from xnpu.transforms.libdevice import narrow_float
from xnpu.transforms.program_loop import COMBINED_FREELY
from xnpu.transforms.tt_analysis import StorePlan, one_op_combiner, row_major
from xnpu.transforms.tt_emit_tiles import TileLayout
from xnpu.transforms.tt_values import Affine, Node


class SinkEmission:
    """Stores, reductions, scans and asserts (see the module docstring)."""

    def emit_store(self, plan: StorePlan) -> None:
        pointer, value = plan.pointer, plan.value
        if plan.kind == "scalar":  # under a mask, in an scf.if that stores when it holds
            target = self.poly_value(pointer.offset.start)
            scalar = self.value_at(value, [], {})
            store = located(memref.StoreOp.get(scalar, self.args[pointer.base], [target]), plan.op)
            if plan.op.mask is None:
                self.insert(store)
            else:
                body = Region(Block([store, scf.YieldOp()]))
                self.insert(located(scf.IfOp(self.scalar(plan.op.mask), [], body), plan.op))
            return
        box = self.emitted_box(plan.box)
        self.prepare(value, box)
        if plan.kind == "tile":
            layout = self.new_tile("out", plan.shape, plan.dims, value.element, box)
            self.fill_tiles([(layout, value)], box)
            self.copy(pointer, layout.buffer, plan.dims, box, plan.op)
            return
        if plan.kind == "split":
            layout = self.new_tile("out", plan.shape, plan.dims, value.element, box)
            self.fill_tiles([(layout, value)], box)
            self.split_copy(pointer, plan.split, layout.buffer, plan.shape[0], plan.op)
            return
        self.remarks.append(
            f"store{at_location(plan.op)} is scattered element by element to DDR: {plan.why}"
        )
        if not isinstance(pointer.offset, Affine):
            self.prepare(pointer.offset, box)

        def scatter(lanes):
            memo: dict = {}
            result = self.value_at(value, lanes, memo)
            target = self.address_at(pointer, lanes, memo)
            scattered = memref.StoreOp.get(result, self.args[pointer.base], [target])
            self.insert(located(scattered, plan.op))

        self.element_loops(box, scatter)

    def emit_reduce(self, op: tt.ReduceOp) -> None:
        """Per row along the axis: a loop carrying one accumulator per operand, from
        lane 0's values; the results are scalars, or tiles when other lanes remain."""
        operands = self.analysis.sink_inputs[op]
        leaves = [self.analysis.values[r] for r in op.results]
        axis = op.axis.value.data
        shape = operands[0].shape
        box = self.emitted_box(self.analysis.masks.full_box(shape))
        for operand in operands:
            self.prepare(operand, box)
        combine = self.combiner(op)
        outer_dims = [d for d, s in enumerate(shape) if s != 1 and d != axis]
        layouts: list[TileLayout] = []
        if outer_dims:
            result_shape = leaves[0].shape
            result_dims = [d if d < axis else d - 1 for d in outer_dims]
            full = self.emitted_box(self.analysis.masks.full_box(result_shape))
            for leaf in leaves:
                buffer = self.alloc("red", leaf.element, prod(shape[d] for d in outer_dims))
                layouts.append(TileLayout(buffer, row_major(result_shape, result_dims), full))
                self.reduced[leaf] = layouts[-1]

        kind = one_op_combiner(op)
        cloned = kind is None
        # a half-precision sum accumulates in f32, as HVX's adds accumulate wider
        # (qf32), then rounds once: fp16 cannot hold a long sum's partial totals
        wide = (
            operands[0].element
            if kind is arith.AddfOp and narrow_float(operands[0].element)
            else None
        )

        def widen(values: list[SSAValue]) -> list[SSAValue]:
            if wide is None:
                return values
            return [self.converted(v, Float32Type()) for v in values]

        def row(lanes: list[SSAValue]) -> None:
            if cloned:  # from lane 0, its first trip taking its values as they are
                zeros = [self.zero_of(operand.element) for operand in operands]

                def first_or_combined(accs, inner):
                    xs = self.values_at(operands, inner)
                    first = self.insert(arith.CmpiOp(inner[axis], self.index(0), "eq"))
                    combined = combine(accs, xs)
                    return [
                        self.insert(arith.SelectOp(first, x, c)).results[0]
                        for x, c in zip(xs, combined)
                    ]

                totals = self.combine_along(axis, shape[axis], lanes, zeros, first_or_combined, 0)
                totals[0].owner.attributes[COMBINED_FREELY] = UnitAttr()
            else:

                def step(accs, inner):
                    return combine(accs, widen(self.values_at(operands, inner)))

                # from the combiner's identity where it has one (every lane in the loop,
                # so npu-vectorize leaves no tail of lanes-1), else from lane 0's values
                element = Float32Type() if wide is not None else operands[0].element
                identity = identity_attribute(kind, element)
                if identity is not None:
                    firsts, start = [self.insert(arith.ConstantOp(identity)).results[0]], 0
                else:
                    firsts, start = widen(self.values_at(operands, lanes)), 1
                totals = self.combine_along(axis, shape[axis], lanes, firsts, step, start)
                if wide is not None:
                    totals = [self.insert(arith.TruncFOp(totals[0], wide)).results[0]]
            if layouts:
                out_lanes = [lane for d, lane in enumerate(lanes) if d != axis]
                for total, layout in zip(totals, layouts):
                    index = self.tile_index(layout, out_lanes)
                    self.insert(memref.StoreOp.get(total, layout.buffer, [index]))
            else:
                for leaf, result, total in zip(leaves, op.results, totals):
                    self.reduced[leaf] = total
                    self.scalars[result] = total

        self.outer_loops(shape, outer_dims, row)

    def emit_assert(self, op: tt.AssertOp) -> None:
        """`cf.assert` of the condition's lanes, AND-ed along the last axis (an
        accumulator loop npu-vectorize vectorizes), one per row of the others.

            tt.assert %ok, "out of bounds" : tensor<64xi1>   ==>   %all = scf.for %r ... iter_args(%acc = %true)
                                                                     { scf.yield (arith.andi %acc, %ok[r]) }
                                                                   cf.assert %all, "out of bounds"
        """
        message = op.message.data
        if not isinstance(op.condition.type, TensorType):
            self.insert(located(cf.AssertOp(self.scalar(op.condition), message), op))
            return
        (condition,) = self.analysis.sink_inputs[op]
        shape = condition.shape
        self.prepare(condition, self.emitted_box(self.analysis.masks.full_box(shape)))
        axis = len(shape) - 1
        holds = identity_attribute(arith.AndIOp, i1)

        def row(lanes: list[SSAValue]) -> None:
            def step(accs, inner):
                lane = self.value_at(condition, inner, {})
                return [self.insert(arith.AndIOp(accs[0], lane)).results[0]]

            start = [self.insert(arith.ConstantOp(holds)).results[0]]
            (all_hold,) = self.combine_along(axis, shape[axis], lanes, start, step, 0)
            self.insert(located(cf.AssertOp(all_hold, message), op))

        self.outer_loops(shape, [d for d, s in enumerate(shape) if s != 1 and d != axis], row)

    def emit_scan(self, op: tt.ScanOp) -> None:
        """Per row along the axis: a loop carrying one accumulator per operand that
        stores every prefix into the scan's tiles (from the last lane when `reverse`)."""
        operands = self.analysis.sink_inputs[op]
        axis, extent = op.axis.value.data, operands[0].shape[op.axis.value.data]
        shape = operands[0].shape
        box = self.emitted_box(self.analysis.masks.full_box(shape))
        for operand in operands:
            self.prepare(operand, box)
        combine = self.combiner(op)
        dims = [d for d, s in enumerate(shape) if s != 1]
        layouts = []
        for result in op.results:
            leaf = self.analysis.values[result]
            layouts.append(self.new_tile("scan", shape, dims, leaf.element, box))
            self.remember(("tile", leaf), layouts[-1])
        reverse = bool(op.reverse.value.data)
        last = self.index(extent - 1)

        def lane_at(step: SSAValue) -> SSAValue:
            return self.insert(arith.SubiOp(last, step)).results[0] if reverse else step

        def store(lanes: list[SSAValue], values: list[SSAValue]) -> None:
            for value, layout in zip(values, layouts):
                index = self.tile_index(layout, lanes)
                self.insert(memref.StoreOp.get(value, layout.buffer, [index]))

        def row(lanes: list[SSAValue]) -> None:
            start = list(lanes)
            start[axis] = lane_at(self.index(0))
            firsts = self.values_at(operands, start)
            store(start, firsts)

            def step(accs, inner):
                at = list(inner)
                at[axis] = lane_at(inner[axis])
                new = combine(accs, self.values_at(operands, at))
                store(at, new)
                return new

            self.combine_along(axis, extent, lanes, firsts, step)

        self.outer_loops(shape, [d for d in dims if d != axis], row)

    def outer_loops(self, shape, outer_dims: list[int], body: Callable) -> None:
        """`body(lanes)` for every lane of `outer_dims` (lane 0 elsewhere)."""

        def at(ivs: list[SSAValue]) -> None:
            lanes = [self.index(0)] * len(shape)
            for d, iv in zip(outer_dims, ivs):
                lanes[d] = iv
            body(lanes)

        self.map_over([(self.index(0), self.index(shape[d])) for d in outer_dims], at)

    def values_at(self, nodes: Sequence[Node], lanes: list[SSAValue]) -> list[SSAValue]:
        return [self.value_at(node, lanes, {}) for node in nodes]

    def combine_along(self, axis, extent, lanes, firsts, step, start: int = 1) -> list[SSAValue]:
        """The accumulators after lanes start..extent-1 of `axis` (from `firsts`, lane
        0's values when `start` is 1), each lane's new ones `step(accs, lanes)`."""
        if extent == start:
            return firsts
        reduce = self.insert(tile.ReduceOp(self.index(start), self.index(extent), firsts))
        block = reduce.body.block
        block.args[0].name_hint = "r"
        for arg in block.args[1:]:
            arg.name_hint = "acc"
        with self.inside(reduce):
            inner = list(lanes)
            inner[axis] = block.args[0]
            accs = list(block.args[1:])
            self.insert(tile.YieldOp(*step(accs, inner)))
        return list(reduce.results)

    def combiner(
        self, op: tt.ReduceOp | tt.ScanOp
    ) -> Callable[[list[SSAValue], list[SSAValue]], list[SSAValue]]:
        """The combiner as one op when the analysis finds one, else its region cloned."""
        kind = one_op_combiner(op)
        if kind is not None:
            return lambda accs, xs: [self.insert(kind(accs[0], xs[0])).results[0]]
        block = op.regions[0].block
        body = list(block.ops)  # the combiner's ops, then its return
        count = len(block.args) // 2
        outer = {  # scalars of the kernel the combiner uses (Inductor's welford: constants)
            value: self.scalar(value)
            for inner in body
            for value in inner.operands
            if value.owner is not block and value.owner not in body
        }

        def general(accs: list[SSAValue], xs: list[SSAValue]) -> list[SSAValue]:
            mapping = outer | dict(zip(block.args, [*accs, *xs]))
            for inner in body[:-1]:
                clone = inner.clone(value_mapper=mapping)
                self.insert(clone)
                mapping.update(zip(inner.results, clone.results))
            return [mapping.get(v, v) for v in body[-1].operands][:count]

        return general
