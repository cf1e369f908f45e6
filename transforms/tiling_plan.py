"""
npu-tile's analysis (builds no IR): whether and how a program loop's blocks are cut
into scratchpad tiles. `plan_tiling` reads the loop's tiles and copies and gives a
`TilePlan` (the tile size for the budget, the rows a block holds, how each copy's
count varies with the program) or says why it cannot; the refusals name the copy or
the access that stands in the way. npu_tile.py's patterns rewrite from the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.dialects import arith, memref, scf
from xdsl.ir import Block, Operation, SSAValue
from xdsl.traits import is_side_effect_free

from xnpu.dialects import spm
from xnpu.dialects.location import at_location
from xnpu.machines import Machine
from xnpu.transforms.builders import constant_int, static_range
from xnpu.transforms.program_loop import private_buffers


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
        if constant_int(factor) == width and _is_column(column, width) and addresses_rows(product):
            return product
    return None


def _is_column(value: SSAValue, width: int) -> bool:
    """Whether `value` is the index of a loop from 0 or more to at most `width`."""
    loop = value.owner.parent_op() if isinstance(value.owner, Block) else None
    if not isinstance(loop, scf.ForOp) or value is not loop.body.block.args[0]:
        return False
    low, high = static_range(loop.lb)[0], static_range(loop.ub)[1]
    return low is not None and low >= 0 and high is not None and high <= width


def addresses_rows(product: Operation) -> bool:
    """Whether `product` (index * w) only ever becomes scratchpad indices, plus a column."""
    return isinstance(product, arith.MuliOp) and all(
        isinstance(add := use.operation, arith.AddiOp)
        and all(indexes_tile(index_use) for index_use in add.result.uses)
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


def indexes_tile(use, tiles: set[SSAValue] | None = None) -> bool:
    """Whether `use` is the index of a load or store of one of `tiles` (None: of any
    scratchpad buffer)."""
    access = use.operation
    return (
        isinstance(access, memref.LoadOp | memref.StoreOp)
        and (spm.is_scratchpad(access.memref.type) if tiles is None else access.memref in tiles)
        and use.index == len(access.operands) - 1
    )
