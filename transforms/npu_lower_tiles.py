"""
npu-lower-tiles: the tile level becomes loops (design.md §3; dialects/tile.py).

Each `tile.map` becomes a nest of scf.for, one loop per dimension over its range,
its body the lane's; a flat map runs its leading dimensions as loops and its
trailing ones as one loop over the flat index, whose range is its first dimension's
scaled by the lanes below:

    tile.map (%i, %j) in (%f to %e, %c0 to %c64) flat(%x) over [16, 64] { B(%x) }
        ==>   %lo = arith.muli %f, %c64            scf.for %x = %lo to %hi step %c1 {
              %hi = arith.muli %e, %c64              B(%x) }

A `tile.matmul` (one npu-matrix left, or every one at the scalar level) becomes a map
over the result's lanes of a reduce over k, which then become loops as above:

    tile.matmul %a, %b into %c {...}   ==>   tile.map (%i, %j) in (%c0 to %cM, %c0 to %cN) {
                                                %s = tile.reduce (%k) in (%c0 to %cK)
                                                        from (%acc = <c[i, j] or 0> : f32) {
                                                  %p = arith.mulf (ext a[i, k]), (ext b[k, j])
                                                  tile.yield (arith.addf %acc, %p) : f32 }
                                                memref.store %s, %c[i * sc1 + j * sc2] }

A `tile.reduce` becomes an scf.for carrying its accumulators:

    %s = tile.reduce (%r) in (%lo to %hi) from (%acc = %z : f32) { B  tile.yield %n : f32 }
        ==>  %s = scf.for %r = %lo to %hi step %c1 iter_args(%acc = %z) -> (f32) { B  scf.yield %n : f32 }

Attributes the tile ops carry (an accumulator's `npu.combined_freely`) pass to the
(outermost) loop. Constants come from the function's entry block (found there, or made once at its
start), so the loops read the same constants the rest of the function does.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, IntegerType, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import tile
from xnpu.transforms import check_option_types
from xnpu.transforms.builders import INDEX, constant_int

LOOP_NAMES = "ijk"
"""Induction variable names, outermost first (and round again past the third)."""


def entry_index(op: Operation, value: int, rewriter: PatternRewriter) -> SSAValue:
    """The `arith.constant value : index` of the function holding `op`, from its entry
    block: found among the constants there, else made once at its start."""
    function = op
    while not isinstance(function, func.FuncOp):
        function = function.parent_op()
        if function is None:
            raise PassFailedException("npu-lower-tiles: a tile.map outside a func.func")
    entry = function.body.block
    for candidate in entry.ops:
        found = candidate.results[0] if len(candidate.results) == 1 else None
        if found is not None and found.type == INDEX and constant_int(found) == value:
            return found
    made = arith.ConstantOp(IntegerAttr(value, INDEX), INDEX)
    rewriter.insert(made, InsertPoint.at_start(entry))
    return made.result


@dataclass
class MapToLoops(RewritePattern):
    """A tile.map becomes its loop nest (see the module docstring)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tile.MapOp, rewriter: PatternRewriter) -> None:
        ranges = op.ranges
        lane_values: list[SSAValue | None] = [None] * len(ranges)
        if op.extents:
            outer = len(ranges) - len(op.extents)
            first, end = ranges[outer]
            flat = (
                self.scaled(op, first, op.inner_lanes, rewriter),
                self.scaled(op, end, op.inner_lanes, rewriter),
            )
            bounds = [*ranges[:outer], flat]
        else:
            bounds = ranges
        one = entry_index(op, 1, rewriter)
        point = InsertPoint.before(op)
        ivs: list[SSAValue] = []
        for depth, (lower, upper) in enumerate(bounds):
            block = Block(arg_types=[INDEX])
            block.args[0].name_hint = LOOP_NAMES[depth % len(LOOP_NAMES)]
            loop = scf.ForOp(lower, upper, one, [], block)
            if not depth:
                loop.attributes.update(op.attributes)
            rewriter.insert(loop, point)
            ivs.append(block.args[0])
            point = InsertPoint.at_end(block)
        if op.extents:  # the lanes of the flat dims are unused (tile.map verifies it)
            lane_values[: len(ivs) - 1] = ivs[:-1]
            arguments = [*(v if v is not None else ivs[-1] for v in lane_values), ivs[-1]]
        else:
            arguments = ivs
        body = op.body.block
        rewriter.erase(body.last_op)  # tile.yield
        rewriter.inline_block(body, point, arguments)
        rewriter.insert(scf.YieldOp(), point)
        for loop_block in (iv.owner for iv in ivs[:-1]):  # the outer loops end too
            rewriter.insert(scf.YieldOp(), InsertPoint.at_end(loop_block))
        rewriter.erase(op)

    @staticmethod
    def scaled(op: Operation, value: SSAValue, factor: int, rewriter) -> SSAValue:
        """`value * factor` before `op`, folded when `value` is a constant."""
        known = constant_int(value)
        if known is not None:
            return entry_index(op, known * factor, rewriter)
        if factor == 1:
            return value
        product = arith.MuliOp(value, entry_index(op, factor, rewriter))
        rewriter.insert(product, InsertPoint.before(op))
        return product.result


@dataclass
class MatmulToMaps(RewritePattern):
    """A tile.matmul becomes a map of a reduce over k (see the module docstring)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tile.MatmulOp, rewriter: PatternRewriter) -> None:
        batch, m, n, depth = op.shape
        a_strides, b_strides, c_strides = op.strides_of()
        element = op.c.type.element_type
        integer = isinstance(element, IntegerType)
        zero = entry_index(op, 0, rewriter)
        kept = [d for d, extent in enumerate((batch, m, n)) if extent > 1 or d]
        ranges = [(zero, entry_index(op, (batch, m, n)[d], rewriter)) for d in kept]
        lanes_map = tile.MapOp(ranges)
        lanes_map.attributes.update(op.attributes)  # its remarks go to the loop
        rewriter.insert(lanes_map, InsertPoint.before(op))
        lanes = dict(zip(kept, lanes_map.lanes))
        lane = [lanes.get(d, zero) for d in range(3)]

        def insert(new: Operation) -> SSAValue:
            rewriter.insert(new, InsertPoint.at_end(block))
            return new.results[0]

        def index(terms: list[tuple[SSAValue, int]]) -> SSAValue:
            total = None
            for value, stride in terms:
                if stride == 0:
                    continue
                if stride != 1:
                    value = insert(arith.MuliOp(value, entry_index(op, stride, rewriter)))
                total = value if total is None else insert(arith.AddiOp(total, value))
            return total if total is not None else zero

        def widened(value: SSAValue) -> SSAValue:
            if value.type == element:
                return value
            return insert((arith.ExtSIOp if integer else arith.ExtFOp)(value, element))

        block = lanes_map.body.block
        at_c = index(list(zip(lane, c_strides)))
        if op.accumulate:
            init = insert(memref.LoadOp.get(op.c, [at_c]))
        else:
            init = insert(
                arith.ConstantOp(IntegerAttr(0, element) if integer else FloatAttr(0.0, element))
            )
        reduce = tile.ReduceOp(zero, entry_index(op, depth, rewriter), [init])
        rewriter.insert(reduce, InsertPoint.at_end(block))
        rewriter.insert(
            memref.StoreOp.get(reduce.results[0], op.c, [at_c]), InsertPoint.at_end(block)
        )
        rewriter.insert(tile.YieldOp(), InsertPoint.at_end(block))
        k, total = reduce.body.block.args
        k.name_hint, total.name_hint = "k", "acc"
        block = reduce.body.block
        x = widened(
            insert(
                memref.LoadOp.get(
                    op.a,
                    [index([(lane[0], a_strides[0]), (lane[1], a_strides[1]), (k, a_strides[2])])],
                )
            )
        )
        y = widened(
            insert(
                memref.LoadOp.get(
                    op.b,
                    [index([(lane[0], b_strides[0]), (k, b_strides[1]), (lane[2], b_strides[2])])],
                )
            )
        )
        product = insert((arith.MuliOp if integer else arith.MulfOp)(x, y))
        added = insert((arith.AddiOp if integer else arith.AddfOp)(total, product))
        rewriter.insert(tile.YieldOp(added), InsertPoint.at_end(block))
        rewriter.erase(op)


@dataclass
class ReduceToLoop(RewritePattern):
    """A tile.reduce becomes an scf.for carrying its accumulators (see the module
    docstring)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tile.ReduceOp, rewriter: PatternRewriter) -> None:
        body = op.body.block
        block = Block(arg_types=[arg.type for arg in body.args])
        for new, old in zip(block.args, body.args):
            new.name_hint = old.name_hint
        loop = scf.ForOp(op.first, op.end, entry_index(op, 1, rewriter), list(op.inits), block)
        loop.attributes.update(op.attributes)
        rewriter.insert(loop, InsertPoint.before(op))
        last = body.last_op
        assert isinstance(last, tile.YieldOp)
        nexts = list(last.values)
        rewriter.erase(last)
        rewriter.inline_block(body, InsertPoint.at_end(block), block.args)
        rewriter.insert(scf.YieldOp(*nexts), InsertPoint.at_end(block))
        rewriter.replace(op, [], loop.results)


@dataclass(frozen=True)
class NpuLowerTilesPass(ModulePass):
    """Lowers every tile.matmul, tile.map and tile.reduce to loops (see the module docstring)."""

    name = "npu-lower-tiles"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        PatternRewriteWalker(MatmulToMaps(), apply_recursively=False).rewrite_module(op)
        PatternRewriteWalker(
            GreedyRewritePatternApplier([MapToLoops(), ReduceToLoop()], dce_enabled=False),
            apply_recursively=False,
        ).rewrite_module(op)
