"""
npu-lower-tiles: the tile level becomes loops (design.md §3; dialects/tile.py).

Each `tile.map` becomes a nest of scf.for, one loop per dimension over its range,
its body the lane's; a flat map runs its leading dimensions as loops and its
trailing ones as one loop over the flat index, whose range is its first dimension's
scaled by the lanes below:

    tile.map (%i, %j) in (%f to %e, %c0 to %c64) flat(%x) over [16, 64] { B(%x) }
        ==>   %lo = arith.muli %f, %c64            scf.for %x = %lo to %hi step %c1 {
              %hi = arith.muli %e, %c64              B(%x) }

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
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
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
    """Lowers every tile.map and tile.reduce to loops (see the module docstring)."""

    name = "npu-lower-tiles"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        PatternRewriteWalker(
            GreedyRewritePatternApplier([MapToLoops(), ReduceToLoop()], dce_enabled=False),
            apply_recursively=False,
        ).rewrite_module(op)
