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
from dataclasses import dataclass, field

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
from xdsl.traits import is_side_effect_free
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import spm
from xnpu.dialects.location import at_location
from xnpu.dialects.remarks import add_remark
from xnpu.machines import Machine
from xnpu.transforms import (
    check_contexts,
    check_lowered,
    check_option_types,
    check_scratchpad_fits,
    pass_machine,
)
from xnpu.transforms.builders import INDEX, constant_int, static_range
from xnpu.transforms.program_loop import (
    BLOCK_ELEMENTS,
    PROGRAMS_IN_TILE,
    TILE_ELEMENTS,
    private_buffers,
    program_loop,
)

# ---------------------------------------------------------------- the analysis


@dataclass(frozen=True)
class FullCount:
    """Every element of the block moves (an unmasked transfer)."""


@dataclass(frozen=True)
class FlatBound:
    """count = clamp(bound - offset, 0, B): a mask `offsets < bound`."""

    bound: SSAValue


@dataclass(frozen=True)
class ProgramBound:
    """count = pid < limit ? B : 0: a mask on the program (Inductor's rows)."""

    limit: SSAValue


@dataclass(frozen=True)
class SameCount:
    """count does not depend on the program (e.g. a mask `cols < n_cols`): the
    programs' parts are the rows of one 2-D transfer."""


@dataclass(frozen=True)
class SharedFill:
    """The same elements for every program (offset and count independent of the
    program id, e.g. a layer norm's weights): moved once a tile, read by all its
    programs where they are."""


CountForm = FullCount | FlatBound | ProgramBound | SameCount | SharedFill

RUNTIME = "runtime"
"""pid_coefficient's answer for c * pid + invariant with c known only at run time."""


@dataclass
class TilePlan:
    """How npu-tile re-cuts one program loop: `block` elements a program become tiles
    of `tile` (strip-mining when smaller, coarsening when larger)."""

    loop: scf.ForOp
    tiles: list[spm.AllocOp]
    block: int
    tile: int
    """The tiles' allocated size: the largest a tile gets."""
    copies: int
    """Tiles the launch should give at least (contexts x buffers), when it can."""
    smallest: int
    """The smallest tile strip-mining may cut (one allocation granule)."""
    strip_mines: bool
    """Strip-mining (a block becomes tiles) or coarsening (programs share a tile)."""
    widths: dict[SSAValue, int] = field(default_factory=dict)
    """Elements a row of each tile holds: a 2-D block (rows x columns) is cut by rows,
    and `block`, `tile` and `smallest` count rows; 1 for a 1-D block's tiles."""
    counts: dict[spm.CopyOp, CountForm] = field(default_factory=dict)
    """Coarsening: how each transfer's count depends on its program."""
    rows: set[spm.CopyOp] = field(default_factory=set)
    """Coarsening: the transfers whose programs' parts are not one contiguous range,
    moved as a 2-D transfer of a row per program."""

    @property
    def unit(self) -> str:
        return "rows" if any(w > 1 for w in self.widths.values()) else "elements"

    @property
    def shared(self) -> set[SSAValue]:
        """Coarsening: the tiles every program fills alike (see SharedFill)."""
        return {c.dst for c, form in self.counts.items() if isinstance(form, SharedFill)}


def plan_tiling(loop: scf.ForOp, machine: Machine, budget: int, copies: int) -> TilePlan | str:
    """The plan for the program loop `loop`, or why it keeps its blocks."""
    tiles = private_buffers(loop)
    if not tiles:
        return "the loop has no scratchpad tiles"
    shape = block_rows(tiles)
    if isinstance(shape, str):
        return shape
    block, widths = shape
    largest, smallest = tile_bounds(tiles, machine, budget, copies, widths=widths)
    if not largest:
        return (
            f"its {len(tiles)} tiles, {copies} copies each, do not fit the budget of "
            f"{budget} bytes even at one {machine.scratchpad.granule_bytes}-byte granule"
        )
    if block > largest or block >= copies * smallest:
        plan = TilePlan(loop, tiles, block, min(largest, block), copies, smallest, True, widths)
        why = strip_mining_refusal(plan)
        return f"its blocks of {block} {plan.unit} stay whole: {why}" if why else plan
    if block < largest:
        plan = TilePlan(loop, tiles, block, largest, copies, smallest, False, widths)
        why = coarsening_refusal(plan)
        if why:
            return f"its blocks of {block} {plan.unit} are not coarsened: {why}"
        others = [a for a in tiles if a.buffer not in plan.shared]
        if plan.shared and others:  # the shared keep their size: the others may grow
            fixed = [a for a in tiles if a.buffer in plan.shared]
            plan.tile = tile_bounds(others, machine, budget, copies, fixed)[0]
        return plan
    return f"its blocks of {block} elements already are tiles of the largest size"


def block_rows(tiles: Sequence[spm.AllocOp]) -> tuple[int, dict[SSAValue, int]] | str:
    """A block's rows and the elements a row of each tile holds, or why the tiles do
    not share rows. A tile that 2-D transfers fill or write back holds rows of their
    scratchpad stride; the other tiles hold the same number of rows."""
    widths: dict[SSAValue, int] = {}
    for alloc in tiles:
        strides = {
            constant_int(copy.dst_stride if copy.to_scratchpad else copy.src_stride)
            for use in alloc.buffer.uses
            if isinstance(copy := use.operation, spm.CopyOp) and copy.is_2d
        }
        if None in strides or len(strides) > 1:
            return f"the 2-D transfers of {alloc.buffer.name_hint or 'a tile'} have no one constant row length"
        if strides:
            widths[alloc.buffer] = strides.pop()
    shapes = {a.buffer.type.get_shape() for a in tiles}
    if any(len(shape) != 1 for shape in shapes):
        return f"its tiles are not 1-D ({', '.join(sorted(map(str, shapes)))})"
    sizes = {a.buffer: a.buffer.type.get_shape()[0] for a in tiles}
    rows = {sizes[b] // w for b, w in widths.items()} or set(sizes.values())
    uneven = f"its tiles do not hold one number of rows ({', '.join(sorted(map(str, sizes.values())))} elements)"
    if len(rows) != 1:
        return uneven
    (count,) = rows
    for buffer, size in sizes.items():
        if buffer not in widths and size % count == 0:
            widths[buffer] = size // count
        if widths.get(buffer, 0) * count != size:
            return uneven
    return count, widths


def tile_bounds(
    tiles: Sequence[spm.AllocOp], machine: Machine, budget: int, copies: int,
    fixed: Sequence[spm.AllocOp] = (), widths: dict[SSAValue, int] | None = None,
) -> tuple[int, int]:  # fmt: skip
    """(largest, smallest) tile in rows (elements for a 1-D block, see TilePlan.widths):
    the largest power of two whose `tiles` (at least one), with the `fixed` ones at
    their own size, `copies` times over, fit the budget; and one allocation granule.
    (0, 0) when not even one row each fits."""
    pad = machine.scratchpad
    row_bytes = [_element_bytes(a) * (widths or {}).get(a.buffer, 1) for a in tiles]
    kept = sum(pad.rounded(a.buffer.type.element_count() * _element_bytes(a)) for a in fixed)

    def fits(rows: int) -> bool:
        return (sum(pad.rounded(rows * w) for w in row_bytes) + kept) * copies <= budget

    if not tiles:
        raise ValueError("tile_bounds: no tile to size (every size would fit)")
    if not fits(1):
        return 0, 0
    largest = 1
    while fits(largest * 2):
        largest *= 2
    return largest, min(largest, max(1, pad.granule_bytes // max(row_bytes)))


def _element_bytes(alloc: spm.AllocOp) -> int:
    element = alloc.buffer.type.element_type
    return max(1, getattr(element, "bitwidth", 32) // 8)


def _tile_users(plan: TilePlan):
    for alloc in plan.tiles:
        for use in alloc.buffer.uses:
            yield use.operation


def _copy_refusal(copy: spm.CopyOp, plan: TilePlan, by_rows: bool = False) -> str | None:
    if copy.parent_block() is not plan.loop.body.block:
        inside = copy.parent_op()
        if isinstance(inside, scf.ForOp):  # a loop the kernel runs: it tiles its block itself
            return f"spm.copy{at_location(copy)} is inside a loop of the program"
        return f"spm.copy{at_location(copy)} is inside a nested region"
    if copy.is_2d and not by_rows:
        return f"spm.copy{at_location(copy)} moves a 2-D box"
    if by_rows and not copy.is_2d and plan.widths.get(copy.scratchpad_side, 1) > 1:
        return f"spm.copy{at_location(copy)} moves a tile of rows as one range"
    spm_offset = copy.dst_offset if copy.to_scratchpad else copy.src_offset
    if constant_int(spm_offset) != 0:
        return f"spm.copy{at_location(copy)} does not start at the tile's first element"
    return None


def strip_mining_refusal(plan: TilePlan) -> str | None:
    """Why the blocks cannot be cut into tiles, or None: every tile access must be a
    row loop's (an element loop's for a 1-D block), in a loop at the top of the
    program, at its own index; or, for a tile of rows of w elements, at index * w plus
    a column."""
    body = plan.loop.body.block
    for user in _tile_users(plan):
        if isinstance(user, spm.CopyOp):
            why = _copy_refusal(user, plan, by_rows=True)
            if why:
                return why
            continue
        if not isinstance(user, memref.LoadOp | memref.StoreOp):
            return f"{user.name}{at_location(user)} uses a tile whole"
        row_loop = user.parent_op()
        while isinstance(row_loop, scf.ForOp) and row_loop.parent_block() is not body:
            row_loop = row_loop.parent_op()
        if not isinstance(row_loop, scf.ForOp):
            return f"{user.name}{at_location(user)} reads or writes a tile outside an element loop"
        if row_loop.iter_args:
            return f"the block is reduced across its {plan.unit} (the loop{at_location(row_loop)})"
        index = row_loop.body.block.args[0]
        (at,) = user.indices
        width = plan.widths.get(user.memref, 1)
        # a tile of rows is read at index * width + column, a tile of elements at index
        rows_at = width > 1 and _row_start(at, index, width) is not None
        if not rows_at and (width > 1 or at is not index):
            return f"{user.name}{at_location(user)} does not index the tile by its loop's index"
    for op in body.ops:
        if isinstance(op, scf.ForOp) and not _touches_tiles(op, plan):
            return f"the loop{at_location(op)} runs over the block without a tile"
    return None


def _row_start(at: SSAValue, index: SSAValue, width: int) -> arith.MuliOp | None:
    """The `index * width` of a tile index `at` = index * width + column, if `at` is one
    (the column a loop index below `width`) and the product only ever addresses
    scratchpad elements so."""
    add = at.owner
    if not isinstance(add, arith.AddiOp):
        return None
    for start, column in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
        product = start.owner
        if not isinstance(product, arith.MuliOp) or index not in (product.lhs, product.rhs):
            continue
        factor = product.rhs if product.lhs is index else product.lhs
        if constant_int(factor) == width and _is_column(column, width) and _addresses_rows(product):
            return product
    return None


def _is_column(value: SSAValue, width: int) -> bool:
    """Whether `value` is the index of a loop from 0 or more to at most `width`."""
    loop = value.owner.parent_op() if isinstance(value.owner, Block) else None
    if not isinstance(loop, scf.ForOp) or value is not loop.body.block.args[0]:
        return False
    low, high = static_range(loop.lb)[0], static_range(loop.ub)[1]
    return low is not None and low >= 0 and high is not None and high <= width


def _addresses_rows(product: Operation) -> bool:
    """Whether `product` (index * w) only ever becomes scratchpad indices, plus a column."""
    return isinstance(product, arith.MuliOp) and all(
        isinstance(add := use.operation, arith.AddiOp)
        and all(_indexes_tile(index_use) for index_use in add.result.uses)
        for use in product.result.uses
    )


def _touches_tiles(op: Operation, plan: TilePlan) -> bool:
    tiles = {a.buffer for a in plan.tiles}
    return any(operand in tiles for inner in op.walk() for operand in inner.operands)


def coarsening_refusal(plan: TilePlan) -> str | None:
    """Why consecutive programs cannot share a tile, or None (filling `plan.counts`):
    every transfer's offset is pid * B plus an invariant, and its count a known mask;
    or the transfer fills a tile alike for every program (SharedFill)."""
    pid = plan.loop.body.block.args[0]
    for user in _tile_users(plan):
        if isinstance(user, spm.CopyOp):
            why = _copy_refusal(user, plan)
            if why:
                return why
            offset = user.src_offset if user.to_scratchpad else user.dst_offset
            step = pid_coefficient(offset, pid, plan.loop)
            where = f"spm.copy{at_location(user)}"
            if step is None:
                return f"{where} has an offset that is not the program id times a step plus an invariant"
            if step == 0:
                if not user.to_scratchpad:
                    return f"{where} writes the same place for every program"
                why = shared_fill_refusal(user, plan)
                if why:
                    return why
                plan.counts[user] = SharedFill()
                continue
            form = count_form(user, pid, plan)
            if form is None:
                return f"{where} has a count that is not a bound on the offset or the program"
            if step != plan.block or isinstance(form, SameCount):
                if isinstance(form, FlatBound):
                    return (
                        f"{where} is masked on its offsets, but moves by {step} elements from one "
                        f"program to the next, not by the block's {plan.block}"
                    )
                plan.rows.add(user)
            plan.counts[user] = form
        elif not isinstance(user, memref.LoadOp | memref.StoreOp):
            return f"{user.name}{at_location(user)} uses a tile whole"
    return read_back_refusal(plan)


def read_back_refusal(plan: TilePlan) -> str | None:
    """Why the programs cannot share a tile when a program reads a DDR buffer after
    writing it (a row stored, then read back): a tile's copies in come before its
    copies out, so the read would come before the write. None when no program does
    (reading a buffer and then writing it back, in place, is fine)."""
    written: dict[SSAValue, Operation] = {}
    for op in plan.loop.body.walk():
        read = op.src if isinstance(op, spm.CopyOp) and op.to_scratchpad else None
        if isinstance(op, memref.LoadOp) and not spm.is_scratchpad(op.memref.type):
            read = op.memref
        if read is not None and read in written:
            writer = written[read]
            return (
                f"{op.name}{at_location(op)} reads back %{read.name_hint or '?'}, which the "
                f"program wrote before ({writer.name}{at_location(writer)}): in a shared tile "
                "every read would come before every write"
            )
        if isinstance(op, spm.CopyOp) and not op.to_scratchpad:
            written.setdefault(op.dst, op)
        elif isinstance(op, memref.StoreOp) and not spm.is_scratchpad(op.memref.type):
            written.setdefault(op.memref, op)
    return None


def shared_fill_refusal(fill: spm.CopyOp, plan: TilePlan) -> str | None:
    """Why the tile `fill` fills at an offset independent of the program cannot be
    filled once for the programs of a tile, or None: its count does not depend on the
    program either, the programs do not write its source, and nothing they write into
    the tile depends on the program or on memory."""
    pid, loop = plan.loop.body.block.args[0], plan.loop
    where = f"spm.copy{at_location(fill)}"
    if pid_coefficient(fill.count, pid, loop) != 0:
        return f"{where} fills a tile at the same offset for every program, but not the same count"
    for op in loop.walk():
        writes = (isinstance(op, spm.CopyOp) and not op.to_scratchpad and op.dst is fill.src) or (
            isinstance(op, memref.StoreOp) and op.memref is fill.src
        )
        if writes:
            return f"{where} reads what the programs write ({op.name}{at_location(op)})"
    for use in fill.dst.uses:
        user = use.operation
        if user is fill or isinstance(user, memref.LoadOp):
            continue
        if isinstance(user, memref.StoreOp) and all(
            pid_coefficient(v, pid, loop) == 0 for v in (user.value, *user.indices)
        ):
            continue
        return (
            f"{user.name}{at_location(user)} changes the tile {where} fills alike for every program"
        )
    return None


def pid_coefficient(value: SSAValue, pid: SSAValue, loop: scf.ForOp) -> int | str | None:
    """c when `value` is c * pid plus something the same in every program of `loop`
    (0: it does not depend on the program; RUNTIME: c is an invariant known at run
    time, e.g. a row stride argument); None when it is not affine in pid, or depends
    on memory or on a value a loop carries."""
    if value is pid:
        return 1
    owner = value.owner
    if isinstance(owner, Block):
        parent = owner.parent_op()
        if parent is None or not loop.is_ancestor(parent):
            return 0
        if isinstance(parent, scf.ForOp) and parent is not loop and value is owner.args[0]:
            bounds = (pid_coefficient(b, pid, loop) for b in (parent.lb, parent.ub, parent.step))
            return 0 if all(b == 0 for b in bounds) else None
        return None
    if not loop.is_ancestor(owner):
        return 0
    if isinstance(owner, arith.IndexCastOp | arith.ExtSIOp | arith.ExtUIOp):
        return pid_coefficient(owner.operands[0], pid, loop)
    operands = [pid_coefficient(v, pid, loop) for v in owner.operands]
    if None in operands:
        return None
    if isinstance(owner, arith.AddiOp | arith.SubiOp):
        if RUNTIME in operands:
            return RUNTIME
        sign = 1 if isinstance(owner, arith.AddiOp) else -1
        return operands[0] + sign * operands[1]
    if isinstance(owner, arith.MuliOp):
        if operands == [0, 0]:
            return 0
        if 0 not in operands:
            return None  # pid * pid
        (factor, other) = (owner.lhs, operands[1]) if operands[0] == 0 else (owner.rhs, operands[0])
        known = constant_int(factor)
        return RUNTIME if known is None or other == RUNTIME else known * other
    if not any(operands) and not owner.regions and is_side_effect_free(owner):
        return 0
    return None


def count_form(copy: spm.CopyOp, pid: SSAValue, plan: TilePlan) -> CountForm | None:
    """The mask a transfer's count encodes (see FullCount, FlatBound, ProgramBound,
    SameCount)."""
    count, loop = copy.count, plan.loop
    if constant_int(count) == plan.block:
        return FullCount()
    owner = count.owner
    if isinstance(owner, arith.MinSIOp) and constant_int(owner.rhs) == plan.block:
        clamped = owner.lhs.owner
        if isinstance(clamped, arith.MaxSIOp) and constant_int(clamped.rhs) == 0:
            difference = clamped.lhs.owner
            offset = copy.src_offset if copy.to_scratchpad else copy.dst_offset
            if (
                isinstance(difference, arith.SubiOp)
                and difference.rhs is offset
                and pid_coefficient(difference.lhs, pid, loop) == 0
            ):
                return FlatBound(difference.lhs)
    if (
        isinstance(owner, arith.SelectOp)
        and constant_int(owner.lhs) == plan.block
        and constant_int(owner.rhs) == 0
    ):
        test = owner.cond.owner
        if (
            isinstance(test, arith.CmpiOp)
            and test.predicate.value.data == 2  # slt
            and _is_pid(test.lhs, pid)
            and pid_coefficient(test.rhs, pid, loop) == 0
        ):
            return ProgramBound(test.rhs)
    if pid_coefficient(count, pid, loop) == 0:
        return SameCount()
    return None


def _is_pid(value: SSAValue, pid: SSAValue) -> bool:
    while isinstance(value.owner, arith.IndexCastOp):
        value = value.owner.input
    return value is pid


# ---------------------------------------------------------------- the rewrites


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
            if not _indexes_tile(use, emitter.tiles) and not _addresses_rows(use.operation)
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
        if not index.uses or not all(_indexes_tile(use, tiles) for use in index.uses):
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


def _indexes_tile(use, tiles: set[SSAValue] | None = None) -> bool:
    """Whether `use` is the index of a load or store of one of `tiles` (None: of any
    scratchpad buffer)."""
    access = use.operation
    return (
        isinstance(access, memref.LoadOp | memref.StoreOp)
        and (spm.is_scratchpad(access.memref.type) if tiles is None else access.memref in tiles)
        and use.index == len(access.operands) - 1
    )


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
