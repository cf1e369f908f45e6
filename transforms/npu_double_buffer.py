"""
npu-double-buffer: tile copies become DMA on rotating buffers, so that the transfer of
the next tile runs under the compute of this one (design.md §3, DB).

    scf.for %pid = %lo to %hi step %c1 {          <prologue: start tile %lo into %in_0>
      %off = <offset of tile %pid>                %r:4 = scf.for %pid = %lo to %hi step %c1
      spm.copy %x[%off] to %in[...]     ==>           iter_args(%slot, %next_in, %out_a, %out_b) {
      <compute: %in -> %out>                        %in = <%in_0 or %in_1, by %slot>  (%out alike)
      spm.copy %out[...] to %y[%off]                %t = scf.if <%pid + 1 < %hi> {
    }                                                   spm.dma_start %x[<offset of %pid + 1>] to
                                                                 <the other %in>
                                                    } else { spm.completed }
                                                    spm.dma_wait %next_in      // this tile is in
                                                    spm.dma_wait %out_a        // %out is free again
                                                    <compute: %in -> %out>
                                                    %w = spm.dma_start %out[...] to %y[%off]
                                                    scf.yield <next slot>, %t, %out_b, %w }
                                                  spm.dma_wait %r#1, %r#2, %r#3

A tile loop is an scf.for whose body has, at its top level, copies between DDR and
scratchpad buffers that are allocated outside the loop and used only inside it: the
program loop, or a loop the kernel runs itself. The operands of an input copy must be
computed from the induction variable by pure ops (not from values the loop carries,
which it keeps carrying, before its own). With `buffers=N`:

* each such buffer becomes N buffers, and the iteration works on the one its slot
  (carried around the loop) selects;
* the prologue starts the input tiles of the first N-1 iterations; iteration i starts
  those of iteration i+N-1 (N=1: of itself, so the engine is used with no overlap),
  then waits for its own;
* outputs are written back by DMA. With `writeback=async` the write-back is waited on
  only before its buffer is reused, N iterations later, or after the loop; with
  `writeback=sync` at once (as the reference compiler does). Output tiles that are
  only written are never prefetched, and other scratchpad buffers (temporaries) stay
  single.

A loop whose tiles, `buffers` of each, would not fit the scratchpad is left
synchronous, and its remark says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import IndexType, ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.transforms.common_subexpression_elimination import cse
from xdsl.transforms.dead_code_elimination import region_dce
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import spm
from xnpu.dialects.location import at_location
from xnpu.dialects.remarks import add_remark
from xnpu.machines import Machine
from xnpu.transforms import (
    check_lowered,
    check_option_types,
    check_scratchpad_fits,
    pass_machine,
    scratchpad_problem,
)
from xnpu.transforms.builders import Constants, constant_int

WRITEBACKS = ("async", "sync")


@dataclass
class TileLoop:
    """One tile loop and the copies that npu-double-buffer turns into DMA."""

    loop: scf.ForOp
    inputs: list[spm.CopyOp] = field(default_factory=list)
    outputs: list[spm.CopyOp] = field(default_factory=list)
    slices: dict[spm.CopyOp, list[Operation]] = field(default_factory=dict)
    """Per input copy: the body ops computing its operands."""
    left: list[tuple[spm.CopyOp, str]] = field(default_factory=list)
    """Copies that stay core copies, and why."""

    @property
    def tiles(self) -> list[spm.AllocOp]:
        tiles: list[spm.AllocOp] = []
        for copy in (*self.inputs, *self.outputs):
            alloc = copy.scratchpad_side.owner
            assert isinstance(alloc, spm.AllocOp)
            if alloc not in tiles:
                tiles.append(alloc)
        return tiles


def _operand_slice(copy: spm.CopyOp, body: Block) -> list[Operation] | str:
    """The top-level body ops `copy`'s operands depend on, if all are pure arith on
    the induction variable and values from outside the loop; else why not."""
    needed: set[Operation] = set()
    pending = [v for v in copy.operands]
    while pending:
        value = pending.pop()
        owner = value.owner
        if owner is body and value is not body.args[0]:
            return "its operands depend on a value the loop carries"
        if isinstance(owner, Operation) and owner.parent_block() is body and owner not in needed:
            if owner.dialect_name() != "arith" or owner.regions:
                return f"its operands depend on '{owner.name}' in the loop"
            needed.add(owner)
            pending.extend(owner.operands)
    return list(needed)


def find_tile_loop(loop: scf.ForOp) -> TileLoop | str | None:
    """The loop's tile copies (see the module docstring); why none can be pipelined,
    if it has copies; None if it has none. Copies left as they are, and why, are in
    the TileLoop's `left`."""
    body = loop.body.block
    copies = [op for op in body.ops if isinstance(op, spm.CopyOp)]
    if not copies:
        return None
    found = TileLoop(loop)
    for op in copies:
        alloc = op.scratchpad_side.owner
        if not isinstance(alloc, spm.AllocOp) or loop.is_ancestor(alloc):
            found.left.append((op, "its buffer is allocated in the loop"))
        elif not all(loop.is_ancestor(use.operation) for use in alloc.buffer.uses):
            found.left.append((op, "its buffer is also used outside the loop"))
        elif not op.to_scratchpad:
            found.outputs.append(op)
        elif isinstance(operands := _operand_slice(op, body), str):
            found.left.append((op, operands))
        else:
            found.inputs.append(op)
            found.slices[op] = operands
    # a buffer both filled and written back by the loop would need its write-back
    # waited before the prefetch: such copies stay core copies
    written = {c.src.owner for c in found.outputs}
    both = "the loop both fills its buffer and writes it back"
    found.left += [(c, both) for c in found.inputs if c.dst.owner in written]
    found.inputs = [c for c in found.inputs if c.dst.owner not in written]
    read = {c.dst.owner for c in found.inputs}
    found.left += [(c, both) for c in found.outputs if c.src.owner in read]
    found.outputs = [c for c in found.outputs if c.src.owner not in read]
    # a DDR buffer an iteration reads after writing it (Inductor's in_out_ptr: a row
    # stored, then read back): a prefetch would read it before that write, and an async
    # write-back would still be writing it when it is read
    read_back = (
        "it reads back a DDR buffer the iteration wrote before, and DMA would reorder the two"
    )
    ordered: set[spm.CopyOp] = set()
    for position, copy in enumerate(copies):
        if copy.to_scratchpad:
            writers = [c for c in copies[:position] if not c.to_scratchpad and c.dst is copy.src]
            ordered.update([copy, *writers] if writers else [])
    # a DDR buffer an iteration writes after reading it: the next trip's prefetch would
    # read it before this trip's write-back, unless each trip reads and writes its own
    # tile (the same offset, moving with the loop's index)
    trip = loop.body.block.args[0]
    for position, copy in enumerate(copies):
        if not copy.to_scratchpad:
            readers = [c for c in copies[:position] if c.to_scratchpad and c.src is copy.dst]
            own_tile = all(
                c.ddr_offset is copy.ddr_offset and _depends_on(copy.ddr_offset, trip, body)
                for c in readers
            )
            if readers and not own_tile:
                ordered.update([copy, *readers])
    found.left += [(c, read_back) for c in (*found.inputs, *found.outputs) if c in ordered]
    found.inputs = [c for c in found.inputs if c not in ordered]
    found.outputs = [c for c in found.outputs if c not in ordered]
    if not found.inputs and not found.outputs:
        return "no copy of a tile can become DMA: " + "; ".join(
            f"{copy.name}{at_location(copy)}: {why}" for copy, why in found.left
        )
    return found


def _depends_on(value: SSAValue, trip: SSAValue, body: Block) -> bool:
    """Whether `value` is computed from `trip` within the loop body."""
    if value is trip:
        return True
    owner = value.owner
    if not isinstance(owner, Operation) or owner.parent_block() is not body:
        return False
    return any(_depends_on(operand, trip, body) for operand in owner.operands)


@dataclass
class PipelineTileLoop(RewritePattern):
    """A tile loop found by `find_tile_loop` is pipelined by `Pipeliner`."""

    tile_loops: dict[scf.ForOp, TileLoop]
    buffers: int
    writeback: str
    pipelined: list[scf.ForOp] = field(default_factory=list)
    """The loops built, for the clean-up of their bodies after the walk."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        tile_loop = self.tile_loops.pop(loop, None)
        if tile_loop is not None:
            self.pipelined.append(
                Pipeliner(tile_loop, self.buffers, self.writeback, rewriter).run()
            )


class Pipeliner:
    """Rewrites one TileLoop with `buffers` rotating buffers (see the module
    docstring): the imperative core behind PipelineTileLoop."""

    def __init__(
        self, tile_loop: TileLoop, buffers: int, writeback: str, rewriter: PatternRewriter
    ):
        self.tile_loop = tile_loop
        self.buffers = buffers
        self.writeback = writeback
        self.rewriter = rewriter
        self.constants = Constants(rewriter, InsertPoint.before(tile_loop.loop))
        self.slot_tests: dict[tuple[SSAValue, int], SSAValue] = {}

    def constant(self, value: int) -> SSAValue:
        """An index constant, defined once before the loop."""
        return self.constants.index(value)

    def run(self) -> scf.ForOp:
        """Builds the pipelined loop in place of the tile loop; returns it."""
        loop, count = self.tile_loop.loop, self.buffers
        self.iv = loop.body.block.args[0]
        inputs, outputs = self.tile_loop.inputs, self.tile_loop.outputs
        copies = {tile: self.replicate(tile) for tile in self.tile_loop.tiles}
        async_writeback = self.writeback == "async" and bool(outputs)

        # before the loop: the input tiles of the first count - 1 iterations
        prologue: list[Operation] = []
        prefetched: list[SSAValue] = []
        for iteration in range(count - 1 if inputs else 0):
            pid = self.after_steps(loop.lb, iteration, prologue)
            in_range = _emit(prologue, arith.CmpiOp(pid, loop.ub, "slt"))
            guarded = self.start_inputs(
                in_range, pid, {t: c[iteration].buffer for t, c in copies.items()}
            )
            prologue.append(guarded)
            prefetched.extend(guarded.results)
        slot_init = [self.constant(0)] if count > 1 else []
        free_outputs = [
            _emit(prologue, spm.CompletedOp())
            for _ in range(count * len(outputs) * async_writeback)
        ]
        self.rewriter.insert(prologue, InsertPoint.before(loop))

        # the loop carries its own values, then the slot, the prefetched input tokens
        # and the write-backs
        own = len(loop.iter_args)
        inits = [*loop.iter_args, *slot_init, *prefetched, *free_outputs]
        block = Block(arg_types=[IndexType(), *(v.type for v in inits)])
        self.rewriter.inline_block(
            loop.body.block, InsertPoint.at_end(block), block.args[: own + 1]
        )
        self.iv = block.args[0]
        carried = list(block.args[own + 1 :])
        slot = carried.pop(0) if count > 1 else None
        queue_in = _chunks(carried[: len(prefetched)], len(inputs))
        queue_out = _chunks(carried[len(prefetched) :], len(outputs))

        head: list[Operation] = []
        current = {tile: self.select(c, slot, head) for tile, c in copies.items()}
        yielded: list[SSAValue] = []
        if count > 1:
            last, zero, one = self.constant(count - 1), self.constant(0), self.constant(1)
            at_last = self.is_slot(slot, count - 1, head)
            at_first = self.is_slot(slot, 0, head) if count > 2 else None
            next_slot = _emit(
                head, arith.SelectOp(at_last, zero, _emit(head, arith.AddiOp(slot, one)))
            )
            yielded.append(next_slot)
        if count > 1 and inputs:  # start the tiles of iteration + count - 1, wait for ours
            if count == 2:  # the slot after this one is also the one before it
                ahead_slot = next_slot
            else:
                ahead_slot = _emit(
                    head, arith.SelectOp(at_first, last, _emit(head, arith.SubiOp(slot, one)))
                )
            ahead = self.after_steps(block.args[0], count - 1, head)
            in_range = _emit(head, arith.CmpiOp(ahead, loop.ub, "slt"))
            ahead_buffers = {tile: self.select(c, ahead_slot, head) for tile, c in copies.items()}
            head.append(guarded := self.start_inputs(in_range, ahead, ahead_buffers))
            yielded.extend([t for entry in queue_in[1:] for t in entry] + list(guarded.results))
            head.append(spm.DmaWaitOp(*queue_in[0]))
        # the write-back that last used this iteration's output buffers must be over
        # before the compute writes them: after the input tiles are in
        output_free = spm.DmaWaitOp(*queue_out[0]) if queue_out else None
        if output_free is not None and (count > 1 or not inputs):
            head.append(output_free)
        self.rewriter.insert(head, InsertPoint.at_start(block))

        for tile, buffer in current.items():
            if buffer is not tile.buffer:
                self.rewriter.replace_all_uses_with(tile.buffer, buffer)
                self.rewriter.erase(tile)
        for copy in inputs:
            if count > 1:
                self.rewriter.erase(copy)
            else:  # one buffer: the transfer starts where the copy was, and is waited on
                start = self.as_dma(copy, {})
                arrived = spm.DmaWaitOp(start.token)
                self.rewriter.replace(copy, [start, arrived], [])
        if output_free is not None and count == 1 and inputs:
            # one buffer: overlap the last write-back with what comes before the first
            # op that touches an output tile (a program may write one before its last
            # input arrives)
            tiles = {copy.scratchpad_side for copy in outputs}
            first = next(op for op in block.ops if _touches(op, tiles))
            self.rewriter.insert(output_free, InsertPoint.before(first))
        written: list[SSAValue] = []
        for copy in outputs:
            start = self.as_dma(copy, {})
            self.rewriter.replace(copy, start, [])
            if async_writeback:
                written.append(start.token)
            else:
                self.rewriter.insert(spm.DmaWaitOp(start.token), InsertPoint.after(start))
        if queue_out:
            yielded.extend([t for entry in queue_out[1:] for t in entry] + written)
        ends = block.last_op
        assert isinstance(ends, scf.YieldOp)
        self.rewriter.replace(ends, scf.YieldOp(*ends.operands, *yielded))

        pipelined = scf.ForOp(loop.lb, loop.ub, loop.step, inits, Region(block))
        pipelined.attributes.update(loop.attributes)  # remarks and npu-tile's facts
        pipelined.location = loop.location
        self.rewriter.replace(loop, pipelined, pipelined.results[:own])
        unwaited = list(pipelined.results[own + len(slot_init) :])
        if unwaited:
            self.rewriter.insert(spm.DmaWaitOp(*unwaited), InsertPoint.after(pipelined))
        return pipelined

    def replicate(self, tile: spm.AllocOp) -> list[spm.AllocOp]:
        """`buffers` allocs for `tile`, named tile_0, tile_1, ... (tile itself for 1)."""
        if self.buffers == 1:
            return [tile]
        name = tile.buffer.name_hint or "tile"
        copies = [spm.AllocOp(tile.buffer.type, f"{name}_{k}") for k in range(self.buffers)]
        self.rewriter.insert(copies, InsertPoint.before(tile))
        return copies

    def after_steps(self, pid: SSAValue, iterations: int, ops: list[Operation]) -> SSAValue:
        """`pid + iterations * step` of the loop (folded when the step is a constant)."""
        if iterations == 0:
            return pid
        return _emit(ops, arith.AddiOp(pid, self.times_step(iterations, ops)))

    def times_step(self, iterations: int, ops: list[Operation]) -> SSAValue:
        """`iterations * step` of the loop (folded when the step is a constant)."""
        step = self.tile_loop.loop.step
        if (value := constant_int(step)) is not None:
            return self.constant(iterations * value)
        return _emit(ops, arith.MuliOp(self.constant(iterations), step))

    def is_slot(self, slot: SSAValue, k: int, ops: list[Operation]) -> SSAValue:
        """`slot == k`, computed once (appended to `ops` the first time)."""
        if (slot, k) not in self.slot_tests:
            self.slot_tests[slot, k] = _emit(ops, arith.CmpiOp(slot, self.constant(k), "eq"))
        return self.slot_tests[slot, k]

    def select(
        self, copies: list[spm.AllocOp], slot: SSAValue | None, ops: list[Operation]
    ) -> SSAValue:
        """The buffer of `slot` among `copies` (a chain of selects appended to `ops`)."""
        chosen = copies[0].buffer
        for k, alloc in enumerate(copies[1:], start=1):
            is_k = self.is_slot(slot, k, ops)
            chosen = _emit(ops, arith.SelectOp(is_k, alloc.buffer, chosen))
        return chosen

    def input_starts(
        self, pid: SSAValue, buffers: dict[spm.AllocOp, SSAValue]
    ) -> tuple[list[Operation], list[spm.DmaStartOp]]:
        """The DMA starts of iteration `pid`'s input tiles into `buffers`, after the
        ops they need: each copy's operand slice, cloned with `pid` for the induction
        variable."""
        mapping: dict[SSAValue, SSAValue] = {self.iv: pid}
        needed = {op for copy in self.tile_loop.inputs for op in self.tile_loop.slices[copy]}
        ops = [op.clone(value_mapper=mapping) for op in self.iv.owner.ops if op in needed]
        starts = []
        for copy in self.tile_loop.inputs:
            mapping[copy.dst] = buffers[copy.dst.owner]
            starts.append(self.as_dma(copy, mapping))
        return ops, starts

    def start_inputs(
        self, condition: SSAValue, pid: SSAValue, buffers: dict[spm.AllocOp, SSAValue]
    ) -> scf.IfOp:
        """`scf.if condition` starting the input tiles of `pid`, else completed tokens."""
        ops, starts = self.input_starts(pid, buffers)
        done = [spm.CompletedOp() for _ in starts]
        return scf.IfOp(
            condition,
            [spm.TokenType()] * len(starts),
            Region(Block([*ops, *starts, scf.YieldOp(*(s.token for s in starts))])),
            Region(Block([*done, scf.YieldOp(*(d.token for d in done))])),
        )

    @staticmethod
    def as_dma(copy: spm.CopyOp, mapping: dict[SSAValue, SSAValue]) -> spm.DmaStartOp:
        """The DMA start doing `copy`, its operands renamed through `mapping`, its
        source location kept (an out-of-bounds transfer names the kernel's line)."""
        return copy.remade(mapping, kind=spm.DmaStartOp)


def _touches(op: Operation, buffers: set[SSAValue]) -> bool:
    """Whether `op` or an op inside it uses one of `buffers`."""
    return any(operand in buffers for inner in op.walk() for operand in inner.operands)


def _emit(ops: list[Operation], op: Operation) -> SSAValue:
    ops.append(op)
    return op.results[0]


def _chunks(values: list[SSAValue], size: int) -> list[list[SSAValue]]:
    return [values[i : i + size] for i in range(0, len(values), size)] if size else []


@dataclass(frozen=True)
class NpuDoubleBufferPass(ModulePass):
    """Turns tile copies into DMA on rotating buffers (see the module docstring)."""

    name = "npu-double-buffer"

    buffers: int = 2
    """Buffers per tile: 2 is double buffering; 1 uses DMA without overlap."""

    writeback: str = "async"
    """"async": wait for a write-back only before its buffer is reused; "sync": at once."""

    machine: str | Machine = "edge-npu"
    """The machine model whose scratchpad the buffers must fit."""

    def _describe(self, tile_loop: TileLoop) -> str:
        remark = (
            f"pipelined over {self.buffers} buffer{'s' * (self.buffers != 1)} "
            f"({self.writeback} write-back): "
            f"{len(tile_loop.inputs)} input and {len(tile_loop.outputs)} output copies "
            f"become DMA"
        )
        for copy, why in tile_loop.left:
            remark += f"; {copy.name}{at_location(copy)} stays a core copy: {why}"
        return remark

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        check_lowered(self.name, op)
        if self.buffers < 1:
            raise PassFailedException(
                f"npu-double-buffer: buffers must be at least 1, got {self.buffers}"
            )
        if self.writeback not in WRITEBACKS:
            raise PassFailedException(
                f"npu-double-buffer: unknown writeback '{self.writeback}'; use one of "
                f"{', '.join(WRITEBACKS)}"
            )
        machine = pass_machine(self.name, self.machine)
        tile_loops = {}
        copies: dict[spm.AllocOp, int] = {}  # what the accepted loops make of their tiles
        for loop in op.walk():
            found = find_tile_loop(loop) if isinstance(loop, scf.ForOp) else None
            if isinstance(found, str):
                add_remark(loop, self.name, f"not pipelined: {found}")
            elif found is not None:
                function = loop.parent_op()
                while not isinstance(function, func.FuncOp):
                    function = function.parent_op()
                more = {**copies, **{tile: self.buffers for tile in found.tiles}}
                too_big = scratchpad_problem(function, machine, more)
                if too_big:
                    add_remark(loop, self.name, f"not pipelined: {self.buffers} buffers of "
                               f"each tile would take {too_big}")  # fmt: skip
                    continue
                copies = more
                tile_loops[loop] = found
                add_remark(loop, self.name, self._describe(found))
        pattern = PipelineTileLoop(tile_loops, self.buffers, self.writeback)
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
        for pipelined in pattern.pipelined:  # the slices cloned for prefetches, deduplicated
            region_dce(pipelined.body)
            cse(pipelined.body)
        remedy = "use fewer buffers, fewer contexts or a smaller BLOCK"
        check_scratchpad_fits(op, machine, self.name, remedy)
