"""
npu-tile: each program's block is cut again into scratchpad tiles whose size the
compiler chooses from the machine's budget (design.md §1, §2). Both rewrites turn the
program loop into a loop over tiles, which npu-multithread shares out and
npu-double-buffer pipelines.

Strip-mining, when a block is larger than a tile (e.g. BLOCK = N on grid = (1,)): a
block of B elements becomes m = B / T tiles of T, and the loop runs over (program,
tile) pairs. Every element loop runs over its part of the tile; its index, used as a
value, is the block's (`%i + %t0`).

    scf.for %pid = %c0 to %grid {            scf.for %w = %c0 to %grid * m {
      spm.copy %x[%off] to %in count %n        %pid = %w / m      %t0 = (%w % m) * T
      scf.for %i = %c0 to %n {...}     ==>     spm.copy %x[%off + %t0] to %in count clamp(%n - %t0, 0, T)
      spm.copy %out to %y[%off] count %n       scf.for %i = %c0 to clamp(%n - %t0, 0, T) {...}
    }                                          spm.copy %out to %y[%off + %t0] count clamp(%n - %t0, 0, T)
                                             }

Coarsening, when a block is smaller than a tile and every transfer's offset is the
program id times a step plus an invariant: k programs share one tile and one transfer
each, and each program still computes on its own part of the tile. A transfer whose
programs' parts are contiguous (step B) moves their union; one at another step (a row
kernel's runtime row stride) or of a count short of B moves them as the rows of one
2-D transfer; one at step 0 (weights every program loads alike) moves once a tile and
keeps its size.

    scf.for %pid = %c0 to %grid {            scf.for %g = %c0 to ceildiv(%grid, k) {
      spm.copy %x[%off] to %in count %n        %p0 = %g * k      %k = min(k, %grid - %p0)   // k: see below
      <compute on %in[0 .. B)>         ==>     spm.copy %x[%off(%p0)] to %in count <the k programs' union>
      spm.copy %out to %y[%off] count %n       scf.for %j = %c0 to %k { %pid = %p0 + %j  <compute on %in[%j * B ..]> }
    }                                          spm.copy %out to %y[%off(%p0)] count <the union>
                                             }

The tile T is the largest power of two whose buffers, one set per context and per
rotating buffer, fit `budget` bytes. A strip-mined block gives every context and
buffer a tile even when it is the launch's only program (the reference style); a
coarsened loop takes k = min(ceildiv(grid, contexts x buffers), T / B) programs a
tile, computed from the launch's grid at run time. A loop that cannot be
re-cut keeps its blocks, with a remark saying why (a block reduced across its lanes
cannot be strip-mined; an offset not affine in the program id cannot be coarsened).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder, ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import spm
from xnpu.dialects.remarks import add_remark
from xnpu.machines import Machine
from xnpu.transforms import (
    check_contexts,
    check_lowered,
    check_option_types,
    check_scratchpad_fits,
    pass_machine,
)
from xnpu.transforms.builders import INDEX, constant_int
from xnpu.transforms.program_loop import (
    BLOCK_ELEMENTS,
    PROGRAMS_IN_TILE,
    TILE_ELEMENTS,
    program_loop,
)
from xnpu.transforms.tiling_plan import (
    RUNTIME,
    FlatBound,
    ProgramBound,
    SameCount,
    SharedFill,
    TilePlan,
    addresses_rows,
    indexes_tile,
    pid_coefficient,
    plan_tiling,
)


class _Emitter:
    """Clones a program body into a new loop body, with pid-dependent values mapped."""

    def __init__(self, plan: TilePlan, block: Block):
        self.plan = plan
        self.block = block
        self.tiles = {a.buffer for a in plan.tiles}
        self.made: dict[tuple, SSAValue] = {}

    def once(self, key: tuple, build) -> SSAValue:
        """`build()`'s value, built at the end of the block the first time `key` is asked."""
        if key not in self.made:
            with ImplicitBuilder(self.block):
                self.made[key] = build()
        return self.made[key]

    def const(self, value: int) -> SSAValue:
        return arith.ConstantOp(IntegerAttr(value, INDEX)).result

    def clamp(self, value: SSAValue, low: SSAValue, high: SSAValue) -> SSAValue:
        return arith.MinSIOp(arith.MaxSIOp(value, low).result, high).result

    def clone_slice(self, values: Sequence[SSAValue], mapper: dict) -> list[SSAValue]:
        """`values` at the program `mapper` names: the body ops they depend on are
        cloned once, in order, with the mapper's substitutions."""
        body = self.plan.loop.body.block
        needed: set[Operation] = set()
        stack = [v.owner for v in values if isinstance(v.owner, Operation)]
        while stack:
            op = stack.pop()
            if op.parent_block() is not body or op in needed:
                continue
            needed.add(op)
            stack.extend(v.owner for v in op.operands if isinstance(v.owner, Operation))
        for op in body.ops:
            if op in needed and op.results and op.results[0] not in mapper:
                self.block.add_op(op.clone(value_mapper=mapper))
        return [mapper.get(v, v) for v in values]


@dataclass
class StripMineLoop(RewritePattern):
    """A program loop whose blocks are larger than a tile runs over (program, tile)
    pairs (see the module docstring)."""

    plans: dict[scf.ForOp, TilePlan]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        plan = self.plans.get(loop)
        if plan is None or not plan.strip_mines:
            return
        del self.plans[loop]
        _resize_tiles(plan, plan.tile, rewriter)
        fewest = plan.block // plan.tile
        most = max(fewest, plan.block // plan.smallest)
        block = Block(arg_types=[INDEX])
        emitter = _Emitter(plan, block)
        with ImplicitBuilder(Builder(InsertPoint.before(loop))):
            # m tiles a program: enough for every copy, as many as the budget needs
            count = arith.SubiOp(loop.ub, loop.lb).result
            one = emitter.const(1)
            spread = arith.CeilDivUIOp(emitter.const(plan.copies), arith.MaxUIOp(count, one))
            m = arith.MinUIOp(arith.MaxUIOp(spread, emitter.const(fewest)), emitter.const(most))
            tile = arith.CeilDivUIOp(emitter.const(plan.block), m).result
            trips = arith.MuliOp(count, m)
        with ImplicitBuilder(block):
            zero = emitter.const(0)
            work = block.args[0]
            pid = arith.AddiOp(loop.lb, arith.DivUIOp(work, m)).result
            first = arith.MuliOp(arith.RemUIOp(work, m), tile).result
        mapper: dict = {loop.body.block.args[0]: pid}
        body_ops = list(loop.body.block.ops)
        for op in body_ops[:-1]:
            if isinstance(op, spm.CopyOp):
                self.copy_tile_part(op, mapper, emitter, first, tile, zero)
            elif isinstance(op, scf.ForOp):
                self.element_loop_part(op, mapper, emitter, first, tile, zero)
            else:
                block.add_op(op.clone(value_mapper=mapper))
        block.add_op(scf.YieldOp())
        tiled = scf.ForOp(_zero_before(loop, rewriter), trips.result, loop.step, [], block)
        _describe(tiled, plan)
        rewriter.replace(loop, tiled)

    def copy_tile_part(self, copy, mapper, emitter, first, tile, zero) -> None:
        """The transfer of the tile's part: of its rows for a 2-D one, from the tile's
        first row (`first` times the DDR row stride further), else of its elements."""
        ddr_offset = copy.src_offset if copy.to_scratchpad else copy.dst_offset
        rows = copy.rows if copy.is_2d else copy.count
        count = emitter.once(
            ("part", rows),
            lambda: emitter.clamp(arith.SubiOp(mapper.get(rows, rows), first).result, zero, tile),
        )
        if copy.is_2d:
            stride = copy.src_stride if copy.to_scratchpad else copy.dst_stride
            stride = mapper.get(stride, stride)
            skip = emitter.once(("skip", stride), lambda: arith.MuliOp(first, stride).result)
        else:
            skip = first
        moved = emitter.once(("moved", ddr_offset, skip), lambda: arith.AddiOp(
            mapper.get(ddr_offset, ddr_offset), skip).result)  # fmt: skip
        if copy.is_2d:
            box = (count, mapper.get(copy.src_stride, copy.src_stride),
                   mapper.get(copy.dst_stride, copy.dst_stride))  # fmt: skip
            emitter.block.add_op(copy.remade(mapper, ddr_offset=moved, box=box))
        else:
            emitter.block.add_op(copy.remade(mapper, ddr_offset=moved, count=count))

    def element_loop_part(self, loop, mapper, emitter, first, tile, zero) -> None:
        bounds = [
            mapper.get(bound, bound) if constant_int(bound) == 0 else
            emitter.once(("part", bound), lambda bound=bound: emitter.clamp(
                arith.SubiOp(mapper.get(bound, bound), first).result, zero, tile))
            for bound in (loop.lb, loop.ub)
        ]  # fmt: skip
        clone = loop.clone(value_mapper=mapper)
        clone.operands = [*bounds, *clone.operands[2:]]
        emitter.block.add_op(clone)
        index = clone.body.block.args[0]
        as_values = [
            use for use in index.uses
            if not indexes_tile(use, emitter.tiles) and not addresses_rows(use.operation)
        ]  # fmt: skip
        if as_values:
            in_block = arith.AddiOp(index, first)
            clone.body.block.insert_op_before(in_block, clone.body.block.first_op)
            for use in as_values:
                use.operation.operands[use.index] = in_block.result


@dataclass
class CoarsenLoop(RewritePattern):
    """A program loop whose blocks are smaller than a tile runs `k` programs per tile
    (see the module docstring)."""

    plans: dict[scf.ForOp, TilePlan]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        plan = self.plans.get(loop)
        if plan is None or plan.strip_mines:
            return
        del self.plans[loop]
        _resize_tiles(plan, plan.tile, rewriter, keep=plan.shared)
        per_tile = plan.tile // plan.block
        block = Block(arg_types=[INDEX])
        emitter = _Emitter(plan, block)
        with ImplicitBuilder(Builder(InsertPoint.before(loop))):
            # k programs a tile: enough tiles for every copy, at most what a tile holds
            count = arith.SubiOp(loop.ub, loop.lb).result
            spread = arith.CeilDivUIOp(count, emitter.const(plan.copies)).result
            k = arith.MinUIOp(arith.MaxUIOp(spread, emitter.const(1)), emitter.const(per_tile))
            trips = arith.CeilDivUIOp(count, k)
        with ImplicitBuilder(block):
            zero, one, b = (emitter.const(v) for v in (0, 1, plan.block))
            first = arith.AddiOp(loop.lb, arith.MuliOp(block.args[0], k)).result
            programs = arith.MinUIOp(k, arith.SubiOp(loop.ub, first)).result
        mapper: dict = {loop.body.block.args[0]: first}
        body_ops = list(loop.body.block.ops)[:-1]
        copies = [op for op in body_ops if op in plan.counts]
        for copy in copies:
            if copy.to_scratchpad:
                self.union_copy(copy, mapper, emitter, programs, zero, b)
        inner = Block(arg_types=[INDEX])
        with ImplicitBuilder(inner):
            pid = arith.AddiOp(first, inner.args[0]).result
            shift = arith.MuliOp(inner.args[0], b).result
        inner_mapper: dict = {loop.body.block.args[0]: pid}
        sliced = emitter.tiles - plan.shared
        for op in body_ops:
            if op not in plan.counts:
                clone = op.clone(value_mapper=inner_mapper)
                inner.add_op(clone)
                _shift_tile_accesses(clone, sliced, shift)
        inner.add_op(scf.YieldOp())
        programs_loop = scf.ForOp(zero, programs, one, [], inner)
        programs_loop.attributes[PROGRAMS_IN_TILE] = IntegerAttr(per_tile, INDEX)
        block.add_op(programs_loop)
        for copy in copies:
            if not copy.to_scratchpad:
                self.union_copy(copy, mapper, emitter, programs, zero, b)
        block.add_op(scf.YieldOp())
        tiled = scf.ForOp(_zero_before(loop, rewriter), trips.result, loop.step, [], block)
        _describe(tiled, plan)
        rewriter.replace(loop, tiled)

    def union_copy(self, copy, mapper, emitter, programs, zero, b) -> None:
        """`copy` for the programs of one tile, the union of their parts moved at once:
        one range, or (plan.rows) a 2-D transfer of a row per program."""
        plan = emitter.plan
        form = plan.counts[copy]
        pid = plan.loop.body.block.args[0]
        ddr_offset = copy.src_offset if copy.to_scratchpad else copy.dst_offset
        slices = [ddr_offset]
        if isinstance(form, FlatBound):
            slices.append(form.bound)
        elif isinstance(form, ProgramBound):
            slices.append(form.limit)
        elif isinstance(form, SameCount | SharedFill):
            slices.append(copy.count)
        values = emitter.clone_slice(slices, mapper)
        first = mapper[pid]
        box = None
        step = self.ddr_step(ddr_offset, values[0], first, emitter) if copy in plan.rows else None
        with ImplicitBuilder(emitter.block):
            if isinstance(form, ProgramBound):
                limit = values[1]
                if limit.type != INDEX:
                    limit = arith.IndexCastOp(limit, INDEX).result
                programs = emitter.clamp(arith.SubiOp(limit, first).result, zero, programs)
            if isinstance(form, SharedFill):
                count = values[1]
            elif copy in plan.rows:
                count = values[1] if isinstance(form, SameCount) else b
                box = (programs, step, b) if copy.to_scratchpad else (programs, b, step)
            elif isinstance(form, FlatBound):
                span = arith.MuliOp(programs, b).result
                count = emitter.clamp(arith.SubiOp(values[1], values[0]).result, zero, span)
            else:
                count = arith.MuliOp(programs, b).result
        emitter.block.add_op(copy.remade(mapper, ddr_offset=values[0], count=count, box=box))

    def ddr_step(self, ddr_offset, at_first, first, emitter) -> SSAValue:
        """Elements from one program's part of `copy` to the next's: a constant, or
        the offset of the tile's second program minus its first's."""
        plan = emitter.plan
        pid = plan.loop.body.block.args[0]
        step = pid_coefficient(ddr_offset, pid, plan.loop)
        if step != RUNTIME:
            return emitter.once(("step", step), lambda: emitter.const(step))
        if ("step", ddr_offset) not in emitter.made:
            with ImplicitBuilder(emitter.block):
                second = arith.AddiOp(first, emitter.const(1)).result
            (at_second,) = emitter.clone_slice([ddr_offset], {pid: second})
            with ImplicitBuilder(emitter.block):
                emitter.made["step", ddr_offset] = arith.SubiOp(at_second, at_first).result
        return emitter.made["step", ddr_offset]


def _describe(tiled: scf.ForOp, plan: TilePlan) -> None:
    width = max(plan.widths.values(), default=1)  # a 2-D block's rows, in elements
    tiled.attributes[TILE_ELEMENTS] = IntegerAttr(plan.tile * width, INDEX)
    tiled.attributes[BLOCK_ELEMENTS] = IntegerAttr(plan.block * width, INDEX)
    how = "strip-mined" if plan.strip_mines else "coarsened"
    shared = (
        f"; {len(plan.shared)} tile(s) every program fills alike move once a tile"
        if plan.shared
        else ""
    )
    add_remark(tiled, "npu-tile", f"blocks of {plan.block} {plan.unit} {how} into tiles of at "
               f"most {plan.tile}{shared}")  # fmt: skip


def _zero_before(loop: scf.ForOp, rewriter: PatternRewriter) -> SSAValue:
    """A zero index before `loop` (a re-cut loop counts its tiles from 0)."""
    zero = arith.ConstantOp(IntegerAttr(0, INDEX))
    rewriter.insert(zero, InsertPoint.before(loop))
    return zero.result


def _shift_tile_accesses(op: Operation, tiles: set[SSAValue], shift: SSAValue) -> None:
    """Tile loads and stores under `op` index `shift` elements further. A loop whose
    index only addresses these tiles runs `shift` further instead; any other access
    adds `shift` to its index."""
    shifted: set[SSAValue] = set()
    for loop in [inner for inner in op.walk() if isinstance(inner, scf.ForOp)]:
        index = loop.body.block.args[0]
        if not index.uses or not all(indexes_tile(use, tiles) for use in index.uses):
            continue
        with ImplicitBuilder(Builder(InsertPoint.before(loop))):
            bounds = [arith.AddiOp(bound, shift).result for bound in (loop.lb, loop.ub)]
        loop.operands = [*bounds, *loop.operands[2:]]
        shifted.add(index)
    moved: dict[tuple[SSAValue, Block | None], SSAValue] = {}
    for access in list(op.walk()):
        if isinstance(access, memref.LoadOp | memref.StoreOp) and access.memref in tiles:
            (index,) = access.indices
            if index in shifted:
                continue
            key = (index, access.parent_block())
            if key not in moved:
                add = arith.AddiOp(index, shift)
                access.parent_block().insert_op_before(add, access)
                moved[key] = add.result
            access.operands[len(access.operands) - 1] = moved[key]


def _resize_tiles(
    plan: TilePlan, elements: int, rewriter: PatternRewriter, keep: set[SSAValue] = frozenset()
) -> None:
    """The plan's tiles, but those in `keep`, replaced by tiles of `elements` (and the
    plan updated)."""
    resized = []
    for alloc in plan.tiles:
        if alloc.buffer in keep:
            resized.append(alloc)
            continue
        old = alloc.buffer.type
        assert isinstance(old, MemRefType)
        width = plan.widths.pop(alloc.buffer, 1)
        shape = [elements * width]
        new = spm.AllocOp(spm.scratchpad_type(old.element_type, shape), alloc.buffer.name_hint)
        rewriter.replace(alloc, new)
        plan.widths[new.buffer] = width
        resized.append(new)
    plan.tiles = resized


@dataclass(frozen=True)
class NpuTilePass(ModulePass):
    """Re-cuts every program loop's blocks into tiles sized from the scratchpad budget
    (see the module docstring)."""

    name = "npu-tile"

    budget: int | None = None
    """Bytes every tile of a kernel may take, all copies counted; by default the
    machine's `scratchpad.tile_budget_bytes` (2 MiB, hexagon-mlir's default)."""

    contexts: int | None = None
    """Contexts each holding its own tiles (npu-multithread's); by default the
    machine's vector contexts."""

    buffers: int = 2
    """Rotating buffers of each tile (npu-double-buffer's)."""

    machine: str | Machine = "edge-npu"
    """The machine model: its scratchpad granule and budget."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        check_lowered(self.name, op)
        machine = pass_machine(self.name, self.machine)
        pad = machine.scratchpad
        budget = (
            min(pad.tile_budget_bytes, pad.capacity_bytes) if self.budget is None else self.budget
        )
        contexts = machine.core.vector_contexts if self.contexts is None else self.contexts
        check_contexts(self.name, contexts, machine)
        for option, value in (("budget", budget), ("buffers", self.buffers)):
            if value < 1:
                raise PassFailedException(f"npu-tile: {option} must be at least 1, got {value}")
        if budget > machine.scratchpad.capacity_bytes:
            raise PassFailedException(
                f"npu-tile: budget {budget} bytes is more than the {machine.scratchpad.capacity_bytes}"
                f"-byte scratchpad of machine '{machine.name}'"
            )
        plans: dict[scf.ForOp, TilePlan] = {}
        refusals: dict[func.FuncOp, str] = {}
        for function in op.walk():
            if not isinstance(function, func.FuncOp):
                continue
            loop = program_loop(function)
            if loop is None:
                continue
            plan = plan_tiling(loop, machine, budget, contexts * self.buffers)
            if isinstance(plan, TilePlan):
                plans[loop] = plan
            else:
                refusals[function] = plan
        for function, why in refusals.items():
            loop = program_loop(function)
            assert loop is not None
            add_remark(loop, self.name, why)
            check_scratchpad_fits(function, machine, self.name, f"it was not tiled: {why}")
        PatternRewriteWalker(StripMineLoop(plans), apply_recursively=False).rewrite_module(op)
        PatternRewriteWalker(CoarsenLoop(plans), apply_recursively=False).rewrite_module(op)
        check_scratchpad_fits(op, machine, self.name, "give a smaller budget")
