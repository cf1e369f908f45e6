"""
npu-lower-triton's emitter: the state the pass's patterns share while they lower one
kernel's tt ops where they stand. It holds what the kernel's values became (scalars,
tiles, reduced results), the iterations each block of tt ops is in (the program's,
each kernel loop's), and the function it builds:

* `begin`: the func.func (pointers as DDR memrefs, an index per grid axis), its
  program loop and the program ids, before any op is lowered;
* `begin_loop` / `end_loop`: a loop the kernel runs, its carries in carry tiles;
* the rest by what it emits: scalars, offsets and boxes (tt_emit_scalars.py), copies
  and maps over lanes (tt_emit_tiles.py), values lane by lane (tt_emit_lanes.py),
  stores, reductions, scans and asserts (tt_emit_sinks.py).

Values are emitted in explicit scopes (scoped_builder.py: the entry block, the program
loop, each kernel loop's body, each map's body), and a value is reused only in the
scope that emitted it or one nested in it.
"""

from __future__ import annotations

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerType, MemRefType, UnitAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from xnpu.dialects import tt
from xnpu.dialects.remarks import add_remark
from xnpu.transforms.builders import INDEX, located
from xnpu.transforms.program_loop import INDEPENDENT_TRIPS
from xnpu.transforms.scoped_builder import Scope, ScopedBuilder
from xnpu.transforms.tt_analysis import KernelAnalysis
from xnpu.transforms.tt_emit_lanes import LaneEmission
from xnpu.transforms.tt_emit_scalars import ScalarEmission
from xnpu.transforms.tt_emit_sinks import SinkEmission
from xnpu.transforms.tt_emit_tiles import TileEmission, TileLayout
from xnpu.transforms.tt_values import DotNode, LoadLeaf, Node, Poly, ReducedLeaf, ViewNode


class KernelEmitter(ScalarEmission, TileEmission, LaneEmission, SinkEmission, ScopedBuilder):
    """Builds the func.func of one analysed tt.func, as the patterns of npu-lower-triton
    lower its ops (see the module docstring)."""

    def __init__(self, analysis: KernelAnalysis):
        self.analysis = analysis
        self.kernel = kernel = analysis.kernel
        arg_types: list[Attribute] = [
            MemRefType(tt.stored_element(arg.type.pointee), [DYNAMIC_INDEX])
            if isinstance(arg.type, tt.PointerType)
            else arg.type
            for arg in kernel.args
        ]
        self.entry_block = Block(arg_types=[*arg_types, *([INDEX] * len(analysis.grid_axes))])
        self.args = dict(zip(kernel.args, self.entry_block.args))
        for new, old in zip(self.entry_block.args, kernel.args):
            new.name_hint = old.name_hint
        self.grid = list(self.entry_block.args[len(kernel.args) :])
        for value, axis in zip(self.grid, analysis.grid_axes):
            value.name_hint = f"grid_{'xyz'[axis]}"
        self.program_body = Block(arg_types=[INDEX])
        self.program_body.args[0].name_hint = "pid"
        super().__init__(self.entry_block, self.program_body)
        self.program_ids: list[SSAValue] = []
        self.scalars: dict[SSAValue, SSAValue] = {}
        """tt scalar -> its value in the program loop (or the entry block)."""
        self.induction_variables: dict[SSAValue, SSAValue] = {}
        """A kernel loop's tt induction variable -> its lowered loop's (an index)."""
        self.load_tiles: dict[LoadLeaf, TileLayout] = {}
        self.windows: dict[LoadLeaf, tuple[SSAValue, SSAValue]] = {}
        """A windowed gather's scratchpad buffer and the index its first element holds."""
        self.reduced: dict[ReducedLeaf, SSAValue | TileLayout] = {}
        self.remarks: list[str] = []
        """What the function's remarks will say: loads gathered and stores scattered."""
        self.flat_loops = not analysis.moves_rows()
        """Flat element loops, unless some tile moves as rows: npu-tile cuts the tiles of
        such a block by rows, and must see row loops."""
        self.scope_stacks: dict[Block, list[Scope]] = {}
        """The iterations (the program's, then each kernel loop's it is in) of the block
        holding a tt op, outermost first: where the op's lowering goes."""
        self.loop_of_yield = {loop.body.block.last_op: loop for loop in analysis.loop_carries}
        """The yield of each loop the kernel runs (where its trip ends) -> the loop."""
        self.open_loops: dict[scf.ForOp, tuple[scf.ForOp, dict[int, TileLayout], list]] = {}
        """A kernel loop begun and not yet ended -> (its lowered loop, its carry tiles,
        its bounds)."""
        self.flat_lanes: dict[tuple[SSAValue, ...], tuple[SSAValue, list[int], tuple]] = {}
        """Lanes a flat element loop computes from its one index: (that index, the dims
        it runs over, the box's shape), so a row-major tile over those dims is indexed
        by it directly."""

    def begin(self) -> func.FuncOp:
        """The func.func, its program loop (the program ids computed first) and its
        return; the kernel's ops then move into the program loop, before its yield,
        and are lowered where they stand (the patterns below)."""
        total = self.grid[0]
        for extent in self.grid[1:]:
            total = self.insert_entry(arith.MuliOp(total, extent)).results[0]
        self.emit_program_ids(self.program_body.args[0])
        self.insert(scf.YieldOp())
        c0, c1 = self.index(0), self.index(1)
        program_loop = self.insert_entry(scf.ForOp(c0, total, c1, [], self.program_body))
        self.insert_entry(func.ReturnOp())
        self.move_entry_point(InsertPoint.before(program_loop))
        self.scope_stacks[self.program_body] = list(self.scopes)
        entry = self.entry_block
        self.function = func.FuncOp(
            self.kernel.sym_name.data, (entry.arg_types, ()), Region(entry), visibility="public"
        )
        return self.function

    def add_remarks(self, pass_name: str) -> None:
        """What the function's remarks say: loads gathered, stores scattered, ..."""
        for remark in self.remarks:
            add_remark(self.function, pass_name, remark)

    def emit_program_ids(self, pid: SSAValue) -> None:
        rest = pid
        for axis, extent in enumerate(self.grid):
            if axis == len(self.grid) - 1:
                this = rest
            else:
                this = self.insert(arith.RemUIOp(rest, extent)).results[0]
                rest = self.insert(arith.DivUIOp(rest, extent)).results[0]
            self.program_ids.append(
                self.insert(arith.IndexCastOp(this, IntegerType(32))).results[0]
            )

    def lowering(self, op: Operation):
        """Inserts go before `op`, in the iteration (the program, or a kernel loop's
        trip) whose body holds it."""
        return self.at(self.scope_stacks[op.parent_block()], InsertPoint.before(op))

    def begin_loop(self, loop: scf.ForOp) -> Block:
        """A loop the kernel runs becomes an scf.for over index (its induction variable
        cast back for scalar uses), inserted before it; tensors it carries live in
        carry tiles, filled from their initial values before it and rewritten at the
        end of each trip (`end_loop`), and its scalars are the new loop's own. Its
        body's ops move into the new loop, an iteration of its own; the block returned.

            %acc_0 = scf.for %off = %c0 to %n step %c64       // %carry[i] = 0.0 for all i
                iter_args(%acc = %zeros) {           ==>      scf.for %off = ... {
              %x = tt.load ...                                  spm.copy %x[...] to %in0
              %a = arith.addf %acc, %x                          scf.for %i { %carry[i] = %carry[i] + %in0[i] }
              scf.yield %a }                                  }          // %acc_0 is read from %carry
        """
        body = loop.body.block
        values = self.analysis.values
        kinds = self.analysis.loop_carries[loop]
        tensors, scalars = kinds.tensors, kinds.scalars
        carries: dict[int, TileLayout] = {}
        for i, init in zip(tensors, self.analysis.sink_inputs[loop]):
            leaf = values[loop.results[i]]
            box = self.emitted_box(self.analysis.masks.full_box(leaf.shape))
            carries[i] = self.new_tile("carry", leaf.shape, None, leaf.element, box)
            self.prepare(init, box)
            self.fill_tiles([(carries[i], init)], box)
            for carried in (leaf, values[body.args[i + 1]]):
                self.remember(("tile", carried), carries[i])
        bounds = [self.scalar_index(v) for v in (loop.lb, loop.ub, loop.step)]
        block = Block(arg_types=[INDEX, *(loop.iter_args[i].type for i in scalars)])
        for new, old in zip(block.args, [body.args[0], *(body.args[i + 1] for i in scalars)]):
            new.name_hint = old.name_hint
        lowered = scf.ForOp(*bounds, [self.scalar(loop.iter_args[i]) for i in scalars], block)
        self.insert(located(lowered, loop))
        if self.analysis.independent_trips(loop):
            lowered.attributes[INDEPENDENT_TRIPS] = UnitAttr()
        self.open_loops[loop] = (lowered, carries, bounds)
        lb, _, step = bounds
        with self.iterating(lowered):
            self.scope_stacks[block] = list(self.scopes)
            self.remember(("index", body.args[0]), block.args[0])
            self.induction_variables[body.args[0]] = block.args[0]
            if kinds.steps:  # a stepped pointer: the trips so far x its step
                since = self.insert(arith.SubiOp(block.args[0], lb)).results[0]
                trips = self.insert(arith.DivSIOp(since, step)).results[0]
                for i, moved in kinds.steps.items():
                    self.remember(("index", body.args[i + 1]), self.times(trips, moved))
        self.scalars.update((body.args[i + 1], arg) for i, arg in zip(scalars, block.args[1:]))
        for op in list(body.ops):
            op.detach()
            block.add_op(op)
        return block

    def end_loop(self, yield_op: scf.YieldOp, loop: scf.ForOp) -> None:
        """The trip's end (the carries rewritten, the scalars yielded, before the tt
        yield), then what follows the loop (after the lowered loop)."""
        lowered, carries, bounds = self.open_loops.pop(loop)
        kinds = self.analysis.loop_carries[loop]
        scalars = kinds.scalars
        with self.lowering(yield_op):
            self.emit_next_carries(yield_op, loop, {i: carries[i] for i in kinds.tensors})
            self.insert(scf.YieldOp(*(self.scalar(yield_op.operands[i]) for i in scalars)))
        self.scalars.update((loop.results[i], r) for i, r in zip(scalars, lowered.results))
        if kinds.steps:  # after the loop: every trip's step
            with self.lowering(loop):
                lb, ub, step = bounds
                span = self.insert(arith.SubiOp(ub, lb)).results[0]
                count = self.insert(arith.CeilDivSIOp(span, step)).results[0]
                count = self.insert(arith.MaxSIOp(count, self.index(0))).results[0]
                for i, moved in kinds.steps.items():
                    self.remember(("index", loop.results[i]), self.times(count, moved))

    def times(self, count: SSAValue, step: Poly) -> SSAValue:
        """`count * step` as an index (a stepped pointer's offset so far)."""
        return self.insert(arith.MuliOp(count, self.poly_value(step))).results[0]

    def emit_next_carries(
        self, yield_op: scf.YieldOp, loop: scf.ForOp, carries: dict[int, TileLayout]
    ) -> None:
        """The yielded tensors written over their carry tiles, in place: per shape, one
        loop computes every new value at a lane before it stores any. A value that reads
        a carried tensor at other lanes (through a broadcast or a reshape) is computed
        into a tile of its own first, before any carry tile changes."""
        carried_in = {self.analysis.values[loop.body.block.args[i + 1]] for i in carries}
        nexts = [
            (carries[i], node)
            for i, node in zip(carries, self.analysis.sink_inputs[yield_op])
            if self.analysis.values[loop.body.block.args[i + 1]] is not node
        ]
        by_shape: dict[tuple[int, ...], list[tuple[TileLayout, Node]]] = {}
        for layout, node in nexts:
            box = self.emitted_box(self.analysis.masks.full_box(node.shape))
            if node in self.analysis.accumulated_in_place:
                self.prepare(node, box)  # the dot adds into the carry tile itself
                continue
            if self.reads_across_lanes(node, carried_in) and self.tile_of(node) is None:
                self.materialize(node)
            self.prepare(node, box)
            by_shape.setdefault(node.shape, []).append((layout, node))
        for shape, fills in by_shape.items():
            self.fill_tiles(fills, self.emitted_box(self.analysis.masks.full_box(shape)))

    def reads_across_lanes(
        self, node: Node, carried: set[Node], viewed: bool = False, seen: set | None = None
    ) -> bool:
        """Whether `node`, computed lane by lane, reads one of `carried` at another
        lane: through a view, where no tile or per-iteration value comes between.
        Each node is visited once per way of reaching it (through a view or not)."""
        seen = set() if seen is None else seen
        if (node, viewed) in seen:
            return False
        seen.add((node, viewed))
        if node in carried:
            return viewed and not node.invariant
        if node.invariant or self.tile_of(node) is not None:
            return False
        if node in self.analysis.materialized or node in self.load_tiles:
            return False
        if isinstance(node, DotNode):  # a and b are read at other lanes, acc at this one
            a, b, acc = node.operands
            return any(
                self.reads_across_lanes(o, carried, v, seen)
                for o, v in ((a, True), (b, True), (acc, viewed))
            )
        viewed = viewed or isinstance(node, ViewNode)
        return any(self.reads_across_lanes(o, carried, viewed, seen) for o in node.operands)
