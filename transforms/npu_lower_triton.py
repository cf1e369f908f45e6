"""
npu-lower-triton: a `tt` kernel becomes the scalar NPU program of design.md §3.

    tt.func @k(%x: !tt.ptr<f32>, %n: i32)          func.func @k(%x: memref<?xf32>, %n: i32,
      %pid = tt.get_program_id x                                 %grid_x: index) {
      ...                                             %in = spm.alloc : memref<1024xf32, #spm.scratch>
      %v = tt.load %p, %mask                 ==>      scf.for %pid = %c0 to %grid_x step %c1 {
      %y = math.erf %v                                  %len = <valid lanes of the mask>
      tt.store %q, %y, %mask                            spm.copy %x[%off] to %in[%c0] count %len
                                                        scf.for %i = %c0 to %len step %c1 {
                                                          %e = memref.load %in[%i]
                                                          %r = math.erf %e
                                                          memref.store %r, %out[%i] }
                                                        spm.copy %out[%c0] to %y[%off] count %len }

What each tt value becomes is decided by the analysis (tt_analysis.py), which builds
no IR and refuses what cannot be lowered. `KernelEmitter` builds the program from it,
in program order:

* a load read from a tile becomes an `spm.copy` of just the valid elements of its box;
* a store becomes an element loop over its box into a tile and a copy back (or
  element-wise DDR stores for scatters); `tt.reduce` a loop with an accumulator over
  the whole tile (masked lanes hold the load's `other`);
* element-wise trees are evaluated lane by lane inside those loops; lane-invariant
  values once per program; a value used by several sinks once, into its own tile;
* libdevice calls (`tt.extern_elementwise`, e.g. `__nv_erff`) become `math` ops;
* a loop the kernel runs becomes an index loop in the program loop, the tensors it
  carries kept in carry tiles (`emit_loop`).

Values are emitted in explicit scopes (the entry block, the program loop, each kernel
loop's body, each element loop's body), and a value is reused only in the scope that
emitted it or one nested in it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, cf, func, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    Float32Type,
    IntegerType,
    MemRefType,
    ModuleOp,
    TensorType,
    UnitAttr,
    i1,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
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

from xnpu.dialects import spm, tile, tt
from xnpu.dialects.combiners import identity_attribute
from xnpu.dialects.location import at_location
from xnpu.dialects.remarks import add_remark
from xnpu.transforms import check_option_types
from xnpu.transforms.builders import INDEX, constant_int
from xnpu.transforms.libdevice import narrow_float, tt_expansion
from xnpu.transforms.program_loop import COMBINED_FREELY, INDEPENDENT_TRIPS
from xnpu.transforms.scoped_builder import Scope, ScopedBuilder
from xnpu.transforms.tt_analysis import (
    KernelAnalysis,
    StorePlan,
    copy_groups,
    one_op_combiner,
    row_major,
)
from xnpu.transforms.tt_masks import AndBox, BoundBox, Box, ConditionBox, FullBox, ViewBox
from xnpu.transforms.tt_values import (
    Affine,
    AffineLeaf,
    ComputeNode,
    ConstantLeaf,
    JoinNode,
    LoadLeaf,
    LoweringError,
    Node,
    Pointer,
    Poly,
    ReducedLeaf,
    ReshapeNode,
    ScalarLeaf,
    ScalarLoad,
    ScalarOp,
    ViewNode,
)

__all__ = ["LoweringError", "NpuLowerTritonPass"]


@dataclass
class TileLayout:
    """A scratchpad tile holding a tensor: lane (l0, l1, ...) is at sum(l_d * strides[d])."""

    buffer: SSAValue
    strides: tuple[int, ...]
    region: EmittedBox
    """The lanes the tile holds valid data for."""


@dataclass(eq=False)
class EmittedBox:
    """A Box's lane ranges and guards as values of the program loop: along dimension
    d the lanes [firsts[d], ends[d]) (None: 0 and the extent), when every guard holds."""

    box: Box
    firsts: tuple[SSAValue | None, ...]
    ends: tuple[SSAValue | None, ...]
    guards: tuple[SSAValue, ...]


class KernelEmitter(ScopedBuilder):
    """Builds the func.func of one analysed tt.func (`emit()`): its arguments are the
    kernel's (pointers become DDR memrefs) and one index per grid axis, its body one
    loop over every program."""

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

    # ---- the function and its program loop

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

    def add_remarks(self) -> None:
        """What the function's remarks say: loads gathered, stores scattered, ..."""
        for remark in self.remarks:
            add_remark(self.function, NpuLowerTritonPass.name, remark)

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

    # ---- loops the kernel runs

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
        viewed = viewed or isinstance(node, ViewNode)
        return any(self.reads_across_lanes(o, carried, viewed, seen) for o in node.operands)

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

    # ---- boxes

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

    # ---- loads

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
            self.loop_nest(piece, body)

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

    # ---- loops

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
        extents = [shape[d] for d in run] if run else None
        op = self.insert(tile.MapOp(bounds, extents))
        block = op.body.block
        for arg, name in zip(block.args, "ijk" * len(block.args)):
            arg.name_hint = name
        with self.inside(op):
            lanes = [self.index(0)] * len(shape)
            for d, lane in zip(dims, block.args):
                lanes[d] = lane
            if run:
                block.args[-1].name_hint = "f"
                self.flat_lanes[tuple(lanes)] = (block.args[-1], run, shape)
            body(lanes)
            if run:
                self.flat_lanes.pop(tuple(lanes))
            self.insert(tile.YieldOp())
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

    # ---- evaluating nodes lane by lane

    def prepare(self, node: Node, box: EmittedBox, seen: set[Node] | None = None) -> None:
        """Before a loop over `box`: computes the tiles and per-program scalars the
        tree needs, and fills masked lanes the loop will read."""
        seen = set() if seen is None else seen
        if node in seen:
            return
        seen.add(node)
        if node.invariant:
            self.scalar_of(node)
            return
        if node in self.analysis.materialized:
            if self.tile_of(node) is None:
                self.materialize(node)
            return
        if isinstance(node, LoadLeaf) and node in self.load_tiles:
            if self.load_tiles[node].region is not box:
                self.ensure_filled(node)
            return
        for operand in node.operands:
            self.prepare(operand, box, seen)

    def materialize(self, node: Node) -> None:
        box = self.emitted_box(self.analysis.materialized_box(node))
        layout = self.new_tile("tmp", node.shape, None, node.element, box)
        self.prepare_operands(node, box)
        self.fill_tiles([(layout, node)], box)
        self.remember(("tile", node), layout)

    def new_tile(
        self, kind: str, shape: tuple[int, ...], dims: list[int] | None, element, box: EmittedBox
    ) -> TileLayout:
        """A tile holding `dims` of `shape` row-major (None: every dimension not of size 1)."""
        if dims is None:
            dims = [d for d, s in enumerate(shape) if s != 1]
        buffer = self.alloc(kind, element, prod(shape[d] for d in dims))
        return TileLayout(buffer, row_major(shape, dims), box)

    def fill_tiles(self, fills: Sequence[tuple[TileLayout, Node]], box: EmittedBox) -> None:
        """One element loop over `box` that computes every node at a lane, then stores
        each into its tile at that lane (the nodes prepared by the caller)."""

        def body(lanes):
            memo: dict = {}
            values = [self.value_at(node, lanes, memo) for _, node in fills]
            for (layout, _), value in zip(fills, values):
                index = self.tile_index(layout, lanes)
                self.insert(memref.StoreOp.get(value, layout.buffer, [index]))

        self.element_loops(box, body)

    def tile_of(self, node: Node) -> TileLayout | None:
        """The tile a node was computed into, if it was in this scope or an outer one."""
        return self.scope.lookup(("tile", node))

    def prepare_operands(self, node: Node, box: EmittedBox) -> None:
        """`prepare` for a node computed here, not read from its tile."""
        seen = {node}
        if node.invariant:
            self.scalar_of(node)
            return
        for operand in node.operands:
            self.prepare(operand, box, seen)

    def tile_index(self, layout: TileLayout, lanes: Sequence[SSAValue]) -> SSAValue:
        """sum(lane * stride): computed once per scope for each layout and lanes."""
        key = ("tile index", layout.strides, tuple(lanes))
        return self.cached(key, lambda: self._tile_index(layout, lanes))

    def _tile_index(self, layout: TileLayout, lanes: Sequence[SSAValue]) -> SSAValue:
        total: SSAValue | None = None
        flat = self.flat_lanes.get(tuple(lanes))
        skipped: set[int] = set()
        if flat is not None:
            index, run, shape = flat
            if [layout.strides[d] for d in run] == [row_major(shape, run)[d] for d in run]:
                total, skipped = index, set(run)
        for d, (lane, stride) in enumerate(zip(lanes, layout.strides)):
            if stride == 0 or d in skipped:
                continue
            term = (
                lane
                if stride == 1
                else self.insert(arith.MuliOp(lane, self.index(stride))).results[0]
            )
            total = term if total is None else self.insert(arith.AddiOp(total, term)).results[0]
        return total if total is not None else self.index(0)

    def scalar_of(self, node: Node) -> SSAValue:
        """An invariant node computed once per iteration, in the iteration's scope."""
        lanes = [self.index(0)] * len(node.shape)
        with self.iteration_level():
            return self.cached(("invariant", node), lambda: self.evaluate(node, lanes, {}))

    def value_at(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        if node.invariant:
            return self.scalar_of(node)
        return self.evaluate(node, lanes, memo)

    def evaluate(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        """`node` at `lanes`, computed at the current point (invariant operands come
        from the program scope)."""
        key = (node, tuple(lanes))
        if key not in memo:
            memo[key] = self._evaluate(node, lanes, memo)
        return memo[key]

    def _evaluate(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        if (tile := self.tile_of(node)) is not None:
            return self.load_tile(tile, lanes)
        match node:
            case ScalarLeaf():
                return self.scalar(node.value)
            case ConstantLeaf():
                return self.insert_entry(arith.ConstantOp(node.value, node.element)).results[0]
            case AffineLeaf():
                return self.affine_at(node.affine, lanes)
            case LoadLeaf() if node in self.load_tiles:
                return self.load_tile(self.load_tiles[node], lanes)
            case LoadLeaf():
                return self.gather_at(node, lanes, memo)
            case ReducedLeaf():
                result = self.reduced[node]
                return result if isinstance(result, SSAValue) else self.load_tile(result, lanes)
            case ViewNode():
                mapped = node.lane_map(lanes)
                mapped = [m if not isinstance(m, int) else self.index(m) for m in mapped]
                return self.value_at(node.operands[0], mapped, memo)
            case ReshapeNode():
                return self.value_at(node.operands[0], self.regrouped(node, lanes), memo)
            case JoinNode():
                a, b = (self.value_at(o, lanes[:-1], memo) for o in node.operands)
                first = self.insert(arith.CmpiOp(lanes[-1], self.index(0), "eq")).results[0]
                return self.insert(arith.SelectOp(first, a, b)).results[0]
            case ComputeNode():
                operands = [self.value_at(o, lanes, memo) for o in node.operands]
                return self.compute(node, operands)
        raise LoweringError(f"npu-lower-triton: internal error: cannot evaluate {node}")

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

    def regrouped(self, node: ReshapeNode, lanes: Sequence[SSAValue]) -> list[SSAValue]:
        """The source lanes of a regrouping reshape's `lanes`: through the row-major
        flat position (divided back down the source's dims)."""
        source = node.operands[0].shape
        flat = None
        strides = row_major(node.shape, range(len(node.shape)))
        for d, lane in enumerate(lanes):
            if node.shape[d] == 1:
                continue
            term = self.scaled_index(lane, strides[d])
            flat = term if flat is None else self.insert(arith.AddiOp(flat, term)).results[0]
        flat = flat if flat is not None else self.index(0)
        mapped = []
        for extent, stride in zip(source, row_major(source, range(len(source)))):
            if extent == 1:
                mapped.append(self.index(0))
                continue
            if stride != 1:
                lane = self.insert(arith.DivUIOp(flat, self.index(stride))).results[0]
            else:
                lane = flat
            if stride * extent < prod(source):
                lane = self.insert(arith.RemUIOp(lane, self.index(extent))).results[0]
            mapped.append(lane)
        return mapped

    def load_tile(self, layout: TileLayout, lanes) -> SSAValue:
        return self.insert(memref.LoadOp.get(layout.buffer, [self.tile_index(layout, lanes)])).res

    def affine_at(self, affine: Affine, lanes) -> SSAValue:
        total = self.poly_value(affine.start)
        for d, lane in enumerate(lanes):
            if affine.varies(d):
                term = self.lane_offset(lane, affine.lanes[d])
                total = self.insert(arith.AddiOp(total, term)).results[0]
        return self.insert(arith.IndexCastOp(total, affine.type)).results[0]

    def address_at(self, pointer: Pointer, lanes, memo) -> SSAValue:
        if isinstance(pointer.offset, Affine):
            address = self.affine_at(pointer.offset, lanes)
        else:
            address = self.value_at(pointer.offset, lanes, memo)
        return self.to_index(address)

    def gather_at(self, leaf: LoadLeaf, lanes, memo) -> SSAValue:
        address = self.address_at(leaf.pointer, lanes, memo)
        mask = self.value_at(leaf.mask, lanes, memo) if leaf.mask is not None else None
        if leaf in self.windows:  # from the scratchpad: a masked-off lane reads element 0
            buffer, low = self.windows[leaf]
            address = self.insert(arith.SubiOp(address, low)).results[0]
        else:
            buffer = self.args[leaf.pointer.base]
        if mask is not None:
            address = self.insert(arith.SelectOp(mask, address, self.index(0))).results[0]
        gather = memref.LoadOp.get(buffer, [address])
        value = self.insert(located(gather, leaf.op)).res
        if mask is not None:
            other = (
                self.value_at(leaf.other, lanes, memo)
                if leaf.other is not None
                else self.zero_of(leaf.element)
            )
            value = self.insert(arith.SelectOp(mask, value, other)).results[0]
        return value

    def compute(self, node: ComputeNode, operands: list[SSAValue]) -> SSAValue:
        op = node.op
        if node.expansion is not None:  # libdevice calls
            return node.expansion(lambda new: self.insert(new).results[0], operands)
        if node.op_type is not type(op):  # pointer offsets
            new = node.op_type(*operands)
        else:
            new = type(op).create(
                operands=operands,
                result_types=[node.element],
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
        return self.insert(new).results[0]

    # ---- sinks

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
            return [self.insert(arith.ExtFOp(v, Float32Type())).results[0] for v in values]

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

        self.loop_nest([(self.index(0), self.index(shape[d])) for d in outer_dims], at)

    def values_at(self, nodes: Sequence[Node], lanes: list[SSAValue]) -> list[SSAValue]:
        return [self.value_at(node, lanes, {}) for node in nodes]

    def combine_along(self, axis, extent, lanes, firsts, step, start: int = 1) -> list[SSAValue]:
        """The accumulators after lanes start..extent-1 of `axis` (from `firsts`, lane
        0's values when `start` is 1), each lane's new ones `step(accs, lanes)`."""
        if extent == start:
            return firsts
        block = Block(arg_types=[INDEX, *(v.type for v in firsts)])
        block.args[0].name_hint = "r"
        for arg in block.args[1:]:
            arg.name_hint = "acc"
        loop = scf.ForOp(self.index(start), self.index(extent), self.index(1), firsts, block)
        self.insert(loop)
        with self.inside(loop):
            inner = list(lanes)
            inner[axis] = block.args[0]
            accs = list(block.args[1:])
            self.insert(scf.YieldOp(*step(accs, inner)))
        return list(loop.results)

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


def located(op: Operation, source: Operation) -> Operation:
    """`op` at the source location of the tt op it does the work of (for remarks)."""
    op.location = source.location
    return op


def driven_ops(block: Block) -> Iterator[Operation]:
    """The tt ops of a kernel body the patterns lower, in program order: each op, the
    body of each loop the kernel runs, and the ops of an scf.if's regions (whose
    scalars are computed ahead, its tensors selected lane by lane); not a combiner's."""
    for op in block.ops:
        yield op
        if isinstance(op, scf.ForOp):
            yield from driven_ops(op.body.block)
        elif isinstance(op, scf.IfOp):
            for region in op.regions:
                yield from list(driven_ops(region.block))[:-1]


@dataclass
class TtOpPattern(RewritePattern):
    """A pattern on the ops of the kernels being lowered, each kernel's emitter (the
    state its ops share) found by the op."""

    emitters: dict[Operation, KernelEmitter]


class LowerKernelSignature(TtOpPattern):
    """A tt.func becomes its func.func: pointers become DDR memrefs, one index per grid
    axis is added, and the kernel's ops move into the loop over every program."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, kernel: tt.FuncOp, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(kernel)
        if emitter is None:
            return
        function = emitter.begin()
        program_end = emitter.program_body.last_op
        for op in list(kernel.body.block.ops)[:-1]:  # all but tt.return
            op.detach()
            emitter.program_body.insert_op_before(op, program_end)
        rewriter.replace(kernel, function)


class LowerScalar(TtOpPattern):
    """A scalar the kernel computes (a program id, arithmetic, a libdevice call, one
    element loaded from DDR): once per iteration, where it stands."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        emitter = None if isinstance(op, scf.ForOp | scf.IfOp) else self.emitters.get(op)
        known = emitter.analysis.values.get(op.results[0]) if emitter and op.results else None
        if isinstance(known, ScalarOp):
            with emitter.lowering(op):
                emitter.emit_scalar_op(op)
        elif isinstance(known, ScalarLoad):
            with emitter.lowering(op):
                emitter.scalars[op.results[0]] = emitter.emit_scalar_load(known)


class LowerLoad(TtOpPattern):
    """A tt.load of a tensor: the copy of its box into a tile (or of a window to gather
    from); a gather is read where its lanes are used."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tt.LoadOp, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        known = emitter.analysis.values.get(op.result) if emitter else None
        if isinstance(known, LoadLeaf):
            with emitter.lowering(op):
                emitter.emit_load(known)


class LowerStore(TtOpPattern):
    """A tt.store: a tile.map computing its value over its box into a tile, and the
    copy back (or the scatter, or one masked element)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tt.StoreOp, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        if emitter is not None:
            with emitter.lowering(op):
                emitter.emit_store(emitter.analysis.stores[op])


class LowerCombining(TtOpPattern):
    """tt.reduce, tt.scan and tt.assert: loops carrying accumulators along an axis."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        emit = {
            tt.ReduceOp: "emit_reduce", tt.ScanOp: "emit_scan", tt.AssertOp: "emit_assert"
        }.get(type(op))  # fmt: skip
        if emitter is not None and emit is not None:
            with emitter.lowering(op):
                getattr(emitter, emit)(op)


class LowerKernelLoop(TtOpPattern):
    """A loop the kernel runs (`KernelEmitter.begin_loop`), and its trip's end at its
    yield (`end_loop`)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        if emitter is None:
            return
        if isinstance(op, scf.ForOp):
            with emitter.lowering(op):
                emitter.begin_loop(op)
        elif isinstance(op, scf.YieldOp) and op in emitter.loop_of_yield:
            emitter.end_loop(op, emitter.loop_of_yield[op])


class HoistIfScalars(TtOpPattern):
    """An scf.if the kernel runs: its ops move ahead of it, to be lowered there (its
    tensors are selected lane by lane where they are used)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.IfOp, rewriter: PatternRewriter) -> None:
        if self.emitters.get(op) is None:
            return
        for region in op.regions:
            for inner in list(region.block.ops)[:-1]:
                inner.detach()
                op.parent_block().insert_op_before(inner, op)


def erase_lowered(ops: Sequence[Operation]) -> None:
    """The kernel's own ops, dead once every sink is lowered: their references to each
    other dropped first, then each erased (one the lowered IR still used would fail)."""
    attached = [op for op in ops if not isinstance(op, tt.FuncOp) and op.parent is not None]
    for op in attached:
        op.detach()
    for op in attached:
        op.drop_all_references()
    for op in attached:
        op.erase()


@contextmanager
def recursion_room(frames: int):
    """Node trees are walked recursively, a few Python frames per level: a long
    element-wise chain (a degree-512 polynomial) needs more than Python's default."""
    default = sys.getrecursionlimit()
    sys.setrecursionlimit(max(default, frames))
    try:
        yield
    finally:
        sys.setrecursionlimit(default)


@dataclass(frozen=True)
class NpuLowerTritonPass(ModulePass):
    """Lowers every tt.func to the NPU program at the tile level (see the module
    docstring)."""

    name = "npu-lower-triton"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        # every kernel analysed before anything is rewritten, and rewritten in a copy:
        # a kernel that cannot be lowered leaves the module as it was (whether its tiles
        # fit the scratchpad is npu-tile's to decide: it re-cuts them)
        working = op.clone()
        emitters: dict[Operation, KernelEmitter] = {}
        frames = 1000
        for kernel in working.body.block.ops:
            if isinstance(kernel, tt.FuncOp):
                size = sum(1 for _ in kernel.walk())
                with recursion_room(1000 + 8 * size):
                    emitter = KernelEmitter(KernelAnalysis(kernel))
                frames = max(frames, 1000 + 8 * size)
                emitters[kernel] = emitter
                emitters.update(dict.fromkeys(driven_ops(kernel.body.block), emitter))
        if not emitters:
            raise PassFailedException(
                "npu-lower-triton: the module holds no tt.func to lower (is it lowered already?)"
            )
        lowering = [LowerKernelSignature, HoistIfScalars, LowerKernelLoop, LowerScalar,
                    LowerLoad, LowerStore, LowerCombining]  # fmt: skip
        with recursion_room(frames):
            PatternRewriteWalker(
                GreedyRewritePatternApplier([pattern(emitters) for pattern in lowering]),
                apply_recursively=False,
            ).rewrite_module(working)
        erase_lowered(list(emitters))
        for emitter in set(emitters.values()):
            emitter.add_remarks()
        block = op.body.block
        for old in list(block.ops):
            block.erase_op(old)
        for new in list(working.body.block.ops):
            new.detach()
            block.add_op(new)
