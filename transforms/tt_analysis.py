"""
What each value of a `tt` kernel is, for npu-lower-triton: a pure analysis (it builds
no IR) whose typed results the emitter (npu_lower_triton.py) turns into the scalar
NPU program. The values it deals in are in tt_values.py, the boxes of masks in
tt_masks.py.

    %offs = tt.make_range {start = 0, end = 1024}    Affine: lane + 0
    %p = tt.addptr %x_splat, %idx                    Pointer(%x, Affine)
    %m = arith.cmpi slt, %idx, %n_splat              BoundBox: lanes < n - start
    %v = tt.load %p, %m                              LoadLeaf, read from a tile
    %e = math.erf %v                                 ComputeNode(erf, [LoadLeaf])
    tt.store %q, %e, %m                              StorePlan: a tile and a copy back

* Scalars (program ids, kernel arguments, scalar arithmetic) are `ScalarOp`s, cloned
  into the program loop; a scalar `tt.load` is a `ScalarLoad`.
* Integer tensors affine in the lanes (`pid * B + arange(B)`, Inductor's
  `r0_1 + 512 * x0`) stay symbolic (`Affine`): copy offsets, counts and strides.
* A load whose pointers are `base + Affine` (1-D, or 2-D with unit inner stride) and
  whose mask is a box (`lanes < bound` per dimension, and-ed, or a scalar condition)
  is read from a scratchpad tile (`LoadLeaf.tile_dims`); other loads are gathered.
* Element-wise math is a tree of `Node`s; a lane-varying value used by several sinks
  is computed once into its own tile (`KernelAnalysis.materialized`).
* An scf.for the kernel runs is analysed in place: a tensor it carries is a
  `CarriedLeaf` (read from a carry tile) in its body and after it; its initial value
  and its yielded value are sinks of the loop and of its scf.yield.

Anything the lowering cannot do is refused here, with the op and its location, before
any IR is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import gcd, prod

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    TensorType,
    i1,
)
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.traits import is_side_effect_free

from xnpu.dialects import arith_tensor, tt
from xnpu.dialects.combiners import COMBINERS
from xnpu.transforms.libdevice import tt_expansion
from xnpu.transforms.tt_masks import Box, MaskAnalysis
from xnpu.transforms.tt_values import (
    Affine,
    AffineLeaf,
    CarriedLeaf,
    ComputeNode,
    ConstantLeaf,
    DotNode,
    JoinNode,
    LoadLeaf,
    Node,
    Pointer,
    Poly,
    ReducedLeaf,
    ReshapeNode,
    ScalarLeaf,
    ScalarLoad,
    ScalarOp,
    ScannedLeaf,
    Value,
    ViewNode,
    fail,
    unit_lanes,
)
from xnpu.transforms.tt_windows import MAX_WINDOW, Split, expanded, split_of, window_of

NOT_A_BOX = "its mask is not a box (lanes between bounds along each dimension, and-ed)"

CMPF_OPS = arith_tensor.both_forms(arith_tensor.CmpFOp)
SELECT_OPS = arith_tensor.both_forms(arith_tensor.SelectOp)
EXTSI_OPS = arith_tensor.both_forms(arith_tensor.ExtSIOp)


# ------------------------------------------------------------------ sinks


@dataclass(frozen=True)
class StorePlan:
    """How a tt.store is lowered: `scalar` (one element), `tile` (an element loop
    into a scratchpad tile of `dims`, then a copy to DDR), `split` (the same, copied
    as rows of a Split's period) or `scatter` (element by element to DDR)."""

    op: tt.StoreOp
    pointer: Pointer
    value: Node
    box: Box | None
    kind: str
    dims: list[int] | None = None
    why: str | None = None
    """Why a scatter is one (for its remark)."""
    split: Split | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tt.shape_of(self.op.ptr.type)


def row_major(shape: Sequence[int], dims: Sequence[int]) -> tuple[int, ...]:
    """Lane strides of a tile that stores `dims` of `shape` row-major (0 elsewhere)."""
    strides = [0] * len(shape)
    stride = 1
    for d in reversed(dims):
        strides[d] = stride
        stride *= shape[d]
    return tuple(strides)


def tile_dims(shape, affine: Affine, for_store: bool, bounded: Sequence[bool]) -> list[int] | str:
    """The dims a tile keeps (lanes that vary), if a box copy can move it; else why not.
    Dims contiguous in memory move as one (`copy_groups`); of two groups, the outer
    may step by a runtime stride, the inner must step by 1."""
    dims = [d for d in range(len(shape)) if affine.varies(d)]
    if for_store and len(dims) != sum(1 for s in shape if s != 1):
        return "several lanes store to one address"
    if any(affine.lanes[d].may_be_negative for d in dims):
        return "its addresses fall (or may fall, by a runtime stride) as the lanes rise"
    groups = copy_groups(shape, affine, dims, bounded)
    if len(groups) > 2:
        return (
            f"its addresses vary along {len(groups)} runs of dimensions that are not "
            "contiguous in memory (copies move at most 2)"
        )
    if any(len(g) > 1 for g in groups) and affine.lanes[dims[-1]].constant != 1:
        return "its inner dimension is not contiguous (its stride is not 1)"
    if len(groups) == 2 and affine.lanes[groups[1][-1]].constant != 1:
        return "its inner dimension is not contiguous (its stride is not 1)"
    return dims


def copy_groups(
    shape, affine: Affine, dims: Sequence[int], bounded: Sequence[bool]
) -> list[list[int]]:
    """`dims` in runs a copy moves as one: a dim joins the one outside it when it is
    whole (no mask cuts it) and the outer steps by exactly its extent times its step,
    as a contiguous N-D block's dims all do.

        offsets n * 512 + h * 256 + w * 2 + c over 16 x 2 x 128 x 2  ->  [[n, h, w, c]]"""
    groups: list[list[int]] = []
    for d in dims:
        if groups and not bounded[d]:
            outer = groups[-1][-1]
            if affine.lanes[outer].key == affine.lanes[d].scaled(shape[d]).key:
                groups[-1].append(d)
                continue
        groups.append([d])
    return groups


LEAVES = ScalarLeaf | ConstantLeaf | AffineLeaf | LoadLeaf | ReducedLeaf | ScannedLeaf | CarriedLeaf
"""Nodes whose lanes are read, not computed: scalars, constants, affine values, tiles."""


def _varies_in(loop: scf.ForOp, value: SSAValue) -> bool:
    """Whether `value` may differ from trip to trip of `loop`: it is the loop's own
    block argument (the induction variable, a carried value) or is computed in the
    loop from one (`BLOCK_K * stride_ak` computed in the body does not vary)."""
    owner = value.owner
    if not isinstance(owner, Operation):
        return owner is loop.body.block or (
            loop.is_ancestor(owner.parent_op()) if owner.parent_op() else False
        )
    if not loop.is_ancestor(owner):
        return False
    if owner.regions or not is_side_effect_free(owner):
        return True
    return any(_varies_in(loop, operand) for operand in owner.operands)


def _known_multiple(value: SSAValue, depth: int = 8) -> int:
    """A number `value` is known to be a multiple of, from the scalar ops that compute
    it: a constant is a multiple of itself, a product of its factors' product, a sum or
    difference of their gcd, a cast of its operand's; anything else of 1."""
    owner = value.owner
    if depth == 0 or not isinstance(owner, Operation):
        return 1
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return abs(owner.value.value.data) or 1
    if isinstance(owner, arith.MuliOp):
        return prod(_known_multiple(v, depth - 1) for v in owner.operands)
    if isinstance(owner, arith.AddiOp | arith.SubiOp):
        return gcd(*(_known_multiple(v, depth - 1) for v in owner.operands))
    if isinstance(owner, (*EXTSI_OPS, arith.IndexCastOp)):
        return _known_multiple(owner.operands[0], depth - 1)
    return 1


def _scalar_poly(poly: Poly, element: Attribute, before: Operation) -> list[Operation]:
    """The ops that compute `poly` on scalars of type `element` (each of its values of
    that type), inserted just before `before`; the last one's result is its value."""
    made: list[Operation] = []

    def emit(new: Operation) -> SSAValue:
        made.append(new)
        return new.results[0]

    total: SSAValue | None = None
    for coef, monomial in poly.terms or ((0, ()),):
        term = emit(arith.ConstantOp(IntegerAttr(coef, element)))
        for value in monomial:
            term = emit(arith.MuliOp(term, value))
        total = term if total is None else emit(arith.AddiOp(total, term))
    for new in made:
        before.parent_block().insert_op_before(new, before)
    return made


def _hoist_out_of(loop: scf.ForOp, value: SSAValue) -> None:
    """Moves the pure ops that compute `value` in `loop` (from values it does not
    change, `_varies_in`) to just before it."""
    owner = value.owner
    if not isinstance(owner, Operation) or not loop.is_ancestor(owner):
        return
    for operand in owner.operands:
        _hoist_out_of(loop, operand)
    owner.detach()
    loop.parent_block().insert_op_before(owner, loop)


def _read_in_place(node: Node) -> bool:
    """Whether any lane of `node` is read where it lies, with nothing computed: a leaf
    or a view of one."""
    while isinstance(node, ViewNode):
        node = node.operands[0]
    return isinstance(node, LEAVES)


def one_op_combiner(op: tt.ReduceOp) -> type[Operation] | None:
    """The combiner of a tt.reduce as one op, when its region is one of COMBINERS or
    Inductor's NaN-propagating max/min; None when the region must be cloned."""
    block = op.regions[0].block
    if len(block.args) != 2:
        return None
    body = list(block.ops)
    a, b = block.args
    ret = body[-1]
    if len(body) == 2 and type(body[0]) in COMBINERS:
        if set(body[0].operands) == {a, b} and ret.operands[0] is body[0].results[0]:
            return type(body[0])
    # Inductor's maximum/minimum: select(a > b || a != a, a, b)
    if len(body) == 5 and isinstance(body[3], SELECT_OPS):
        greater, nan, either, select = body[:4]
        if (
            isinstance(greater, CMPF_OPS)
            and isinstance(nan, CMPF_OPS)
            and isinstance(either, arith.OrIOp)
            and tuple(greater.operands) == (a, b)
            and arith_tensor.predicate_name(nan) == "une"
            and tuple(nan.operands) == (a, a)
            and tuple(select.operands) == (either.results[0], a, b)
            and ret.operands[0] is select.results[0]
        ):
            predicate = arith_tensor.predicate_name(greater)
            return {"ogt": arith.MaximumfOp, "olt": arith.MinimumfOp}.get(predicate)
    return None


@dataclass
class LoopCarries:
    """What a loop the kernel runs carries, by position: tensors (in carry tiles),
    pointers moved by a step each trip (`steps`), scalars (the lowered loop's own).
    In the body a stepped pointer's offset holds its block argument as a symbol, after
    the loop its result: the emitter binds each to trips x step."""

    tensors: list[int] = field(default_factory=list)
    pointers: list[int] = field(default_factory=list)
    scalars: list[int] = field(default_factory=list)
    steps: dict[int, Poly] = field(default_factory=dict)


# ------------------------------------------------------------------ the analysis


Sink = Operation | Node
"""What consumes a value: a tt.store, tt.reduce or tt.scan, a kernel loop (its carried
values' first) or its scf.yield (their next), or a value computed into a tile."""


class KernelAnalysis:
    """The value model of one tt.func (see the module docstring): `values` says what
    each tt value is, `materialized` which nodes get their own tile, `stores` and
    `boxes` how sinks and masks are lowered."""

    def __init__(self, kernel: tt.FuncOp):
        self.kernel = kernel
        self.values: dict[SSAValue, Value] = {}
        self.nodes: list[Node] = []
        self.sinks_of: dict[Node, set[Sink]] = {}
        self.affine_leaves: dict[SSAValue, AffineLeaf] = {}
        self.masks = MaskAnalysis()
        self.materialized: set[Node] = set()
        self.users_of: dict[Node, list[Node]] = {}
        """The nodes that take a node as an operand."""
        self.accumulated_in_place: dict[DotNode, CarriedLeaf] = {}
        """Dots that add their product into their accumulator's carry tile."""
        self.aligned_sinks: dict[Node, set] = {}
        """The sinks a node reaches lane for lane (through element-wise ops), and the
        first user on each other path (a view, a dot, a tile of its own)."""
        self.stores: dict[tt.StoreOp, StorePlan] = {}
        self.sink_inputs: dict[Operation, tuple[Node, ...]] = {}
        """The value a tt.store stores, the tensors a tt.reduce or tt.scan combines."""
        self.loop_carries: dict[scf.ForOp, LoopCarries] = {}
        self.grid_axes = self._grid_axes()
        for op in kernel.body.block.ops:
            self._analyze(op)
        self._plan_materialization()
        for op in kernel.walk():
            if isinstance(op, tt.StoreOp):
                self.stores[op] = self._plan_store(op)
            elif isinstance(op, tt.LoadOp) and isinstance(self.values.get(op.result), LoadLeaf):
                self._plan_load(self.values[op.result])

    def _grid_axes(self) -> list[int]:
        used = [
            op.axis.value.data
            for op in self.kernel.walk()
            if isinstance(op, tt.GetProgramIdOp | tt.GetNumProgramsOp)
        ]
        return list(range(max(used, default=0) + 1))

    # ---- what each tt value is

    def _analyze(self, op: Operation) -> None:
        if isinstance(op, scf.ForOp):
            self._analyze_loop(op)
            return
        if isinstance(op, scf.IfOp):
            self._analyze_if(op)
            return
        if isinstance(op, tt.ReturnOp):
            if op.operands:
                raise fail(op, "kernels return nothing")
            return
        if isinstance(op, tt.StoreOp):
            self.pointer(op.ptr, op)
            self._sink(op, [op.value])
            if op.mask is not None:
                self.sinks_of[self.node(op.mask, op)].add(op)
            return
        if isinstance(op, tt.AssertOp):
            if isinstance(op.condition.type, TensorType):
                self._sink(op, [op.condition])
            return
        if isinstance(op, tt.ReduceOp):
            self._sink(op, op.operands)
            for index, result in enumerate(op.results):
                shape = tt.shape_of(result.type) if isinstance(result.type, TensorType) else ()
                self.values[result] = self.add(ReducedLeaf(op, shape, index))
            return
        if isinstance(op, tt.SplitOp):
            for half, result in enumerate(op.results):
                self.values[result] = self._split_half(op, half)
            return
        if isinstance(op, tt.ScanOp):
            self._sink(op, op.operands)
            for index, result in enumerate(op.results):
                self.values[result] = self.add(ScannedLeaf(op, index))
            return
        if not any(isinstance(v.type, TensorType) for v in (*op.operands, *op.results)):
            self._analyze_scalar(op)
            return
        self.values[op.results[0]] = self._analyze_tensor(op)

    def _analyze_loop(self, loop: scf.ForOp) -> None:
        """A loop the kernel runs, analysed in place (see `LoopCarries`): a tensor it
        carries is read from a carry tile (CarriedLeaf) that its initial value fills
        and its scf.yield rewrites; a pointer it bumps by the same step each trip is
        its initial pointer plus a per-trip symbol; scalars stay the loop's own."""
        body = loop.body.block
        carries = self.loop_carries[loop] = LoopCarries()
        for i, (init, arg) in enumerate(zip(loop.iter_args, body.args[1:])):
            if isinstance(tt.element_of(init.type), tt.PointerType):
                start = self.pointer(init, loop)
                if not isinstance(start.offset, Affine):
                    raise fail(loop, "a carried pointer must start at an argument plus offsets")
                bump = Affine.invariant(start.offset.shape, Poly.of(1, arg), start.offset.type)
                self.values[arg] = Pointer(start.base, start.offset.plus(bump))
                carries.pointers.append(i)
            elif isinstance(init.type, TensorType):
                carries.tensors.append(i)
            else:
                carries.scalars.append(i)
        self._sink(loop, [loop.iter_args[i] for i in carries.tensors])
        for i in carries.tensors:
            self.values[body.args[i + 1]] = self.add(CarriedLeaf(loop, i, in_body=True))
        for inner in body.ops:
            if isinstance(inner, scf.YieldOp):
                self._sink(inner, [inner.operands[i] for i in carries.tensors])
            else:
                self._analyze(inner)
        for i in carries.pointers:
            carries.steps[i] = self._pointer_step(loop, i)
            start = self.pointer(loop.iter_args[i], loop)
            assert isinstance(start.offset, Affine)
            after = Affine.invariant(
                start.offset.shape, Poly.of(1, loop.results[i]), start.offset.type
            )
            self.values[loop.results[i]] = Pointer(start.base, start.offset.plus(after))
        for i in carries.tensors:
            self.values[loop.results[i]] = self.add(CarriedLeaf(loop, i, in_body=False))

    def independent_trips(self, loop: scf.ForOp) -> bool:
        """Whether a loop the kernel runs may run its trips in any order, at once: it
        carries nothing, each store in it writes a range that moves by at least its own
        extent a trip (`y + row * COLS + cols`, `mean + row`), and it reads no buffer
        it writes."""
        if loop.iter_args:
            return False
        trip = loop.body.block.args[0]
        written = set()
        stores = [op for op in loop.walk() if isinstance(op, tt.StoreOp)]
        for op in stores:
            plan = self.stores.get(op)
            if plan is None or plan.kind not in ("tile", "scalar"):
                return False
            offset = plan.pointer.offset
            step = _coefficient(expanded(offset.start), trip)
            spans = [offset.lanes[d].constant for d in range(len(offset.shape)) if offset.varies(d)]
            if not step or None in spans:
                return False
            extent = 1 + sum(abs(k) * (offset.shape[d] - 1) for d, k in zip(
                [d for d in range(len(offset.shape)) if offset.varies(d)], spans))  # fmt: skip
            if abs(step) < extent:
                return False
            written.add(plan.pointer.base)
        reads = [
            value.pointer.base
            for value in self.values.values()
            if isinstance(value, LoadLeaf | ScalarLoad) and loop.is_ancestor(value.op)
        ]
        return bool(stores) and not written & set(reads)

    def _pointer_step(self, loop: scf.ForOp, i: int) -> Poly:
        """What carried pointer `i` moves by each trip: the yield must be it plus the
        same lane-invariant step every trip (`x_ptrs += BLOCK`)."""
        body = loop.body.block
        now = self.values[body.args[i + 1]]
        yielded = self.values.get(body.last_op.operands[i])
        refusal = (
            "a loop may carry a pointer only when each trip moves it by the same "
            "lane-invariant step (x_ptrs += BLOCK)"
        )
        if not isinstance(yielded, Pointer) or yielded.base is not now.base:
            raise fail(loop, refusal)
        if not isinstance(yielded.offset, Affine):
            raise fail(loop, refusal)
        step = yielded.offset.plus(now.offset.scaled(-1))
        values = [v for _, monomial in step.start.terms for v in monomial]
        if not step.uniform or any(_varies_in(loop, v) for v in values):
            raise fail(loop, refusal)
        for value in values:  # the step is taken before the loop: computed there
            _hoist_out_of(loop, value)
        return step.start

    def _analyze_if(self, op: scf.IfOp) -> None:
        """An scf.if on a scalar condition that yields tensors computed in its branches
        (Inductor's `welford_reduce` on the first trip): both branches are computed and
        each result selected lane by lane, as a small if is predicated. Branches that
        load, store, loop or reduce are refused: they would run whatever the condition."""
        if (
            isinstance(op.cond.type, TensorType)
            or not op.results
            or not all(isinstance(r.type, TensorType) for r in op.results)
        ):
            raise fail(op, "only an scf.if on a scalar condition that yields tensors is supported")
        branches = [list(region.block.ops) for region in op.regions]
        for inner in (inner for branch in branches for inner in branch[:-1]):
            if isinstance(inner, tt.LoadOp | tt.StoreOp | tt.ReduceOp | tt.ScanOp) or inner.regions:
                raise fail(
                    inner,
                    "an scf.if may only compute values: its branches are both computed, "
                    "whatever the condition",
                )
            self._analyze(inner)
        condition = self.node(op.cond, op)
        for index, result in enumerate(op.results):
            chosen = [self.node(branch[-1].operands[index], op) for branch in branches]
            select = ComputeNode(op, [condition, *chosen], arith.SelectOp, result=index)
            self.values[result] = self.add(select)

    def _sink(self, op: Operation, values: Sequence[SSAValue]) -> None:
        self.sink_inputs[op] = tuple(self.node(v, op) for v in values)
        for node in self.sink_inputs[op]:
            self.sinks_of[node].add(op)

    def _analyze_scalar(self, op: Operation) -> None:
        if isinstance(op, tt.AddPtrOp):
            base = self.pointer(op.ptr, op)
            offset = self.affine(op.offset)
            if not isinstance(base.offset, Affine) or offset is None:
                raise fail(op, "scalar pointer offsets must be integers")
            self.values[op.result] = Pointer(base.base, base.offset.plus(offset))
            return
        if isinstance(op, tt.LoadOp):
            self.values[op.result] = ScalarLoad(op, self.pointer(op.ptr, op))
            return
        if isinstance(op, tt.BitcastOp) and isinstance(op.src.type, tt.PointerType):
            self.values[op.result] = self.pointer_bitcast(op)
            return
        if isinstance(op, tt.SplatOp | tt.CallOp):
            raise fail(op, "this scalar form is not supported")
        if isinstance(op, tt.ExternElementwiseOp) and tt_expansion(op) is None:
            raise fail(op, f"libdevice function '{op.symbol.data}' has no lowering")
        if op.dialect_name() not in ("arith", "math") and not (
            isinstance(op, tt.GetProgramIdOp | tt.GetNumProgramsOp) or tt_expansion(op)
        ):
            raise fail(op, "unsupported operation")
        if op.regions:
            raise fail(op, "unsupported operation with regions")
        self.values.update((r, ScalarOp(op)) for r in op.results)

    def _analyze_tensor(self, op: Operation) -> Value:
        result = op.results[0]
        shape = tt.shape_of(result.type)
        element = tt.element_of(result.type)
        match op:
            case tt.MakeRangeOp():
                return Affine(shape, Poly.of(op.start.value.data), (Poly.of(1),), element)
            case arith.ConstantOp():
                value = op.value
                scalar = _splat_value(value)
                if scalar is None:
                    raise fail(op, "only splat tensor constants are supported")
                if isinstance(element, IntegerType) and element != i1:
                    return Affine.invariant(shape, Poly.of(int(scalar)), element)
                return self.add(ConstantLeaf(shape, element, _scalar_attr(scalar, element)))
            case tt.SplatOp():
                if isinstance(op.src.type, tt.PointerType):
                    src = self.pointer(op.src, op)
                    offset = src.offset
                    if isinstance(offset, Affine):
                        offset = Affine.invariant(shape, offset.start, offset.type)
                    return Pointer(src.base, offset)
                if isinstance(element, IntegerType) and element != i1:
                    return Affine.invariant(shape, Poly.of(1, op.src), element)
                return self.add(ScalarLeaf(shape, element, op.src))
            case tt.AddPtrOp():
                base = self.pointer(op.ptr, op)
                offset = self.values.get(op.offset)
                if isinstance(base.offset, Affine) and isinstance(offset, Affine):
                    return Pointer(base.base, base.offset.plus(offset))
                offsets = [self.as_node(base.offset), self.node(op.offset, op)]
                widest = max((o.element for o in offsets), key=lambda e: e.width.data)
                offsets = [self.sign_extended(o, widest, op) for o in offsets]
                added = ComputeNode(op, offsets, arith.AddiOp, element=widest)
                return Pointer(base.base, self.add(added))
            case tt.LoadOp():
                pointer = self.pointer(op.ptr, op)
                mask = self.node(op.mask, op) if op.mask is not None else None
                other = self.node(op.other, op) if op.other is not None else None
                return self.add(LoadLeaf(op, pointer, mask, other))
            case tt.ReshapeOp() if _regroups(op):
                return self._analyze_regrouping(op, shape)
            case tt.BroadcastOp() | tt.ExpandDimsOp() | tt.ReshapeOp() | tt.TransOp():
                return self._analyze_view(op, shape)
            case tt.JoinOp():
                return self.add(JoinNode(self.node(op.lhs, op), self.node(op.rhs, op), shape))
            case tt.DotOp():
                a, b, acc = (self.node(v, op) for v in (op.a, op.b, op.c))
                return self.add(DotNode(op, a, b, acc))
            case tt.BitcastOp() if isinstance(element, tt.PointerType):
                return self.pointer_bitcast(op)
            case (
                tt.FpToFpOp()
                | tt.ExternElementwiseOp()
                | tt.PreciseSqrtOp()
                | tt.PreciseDivfOp()
                | tt.BitcastOp()
            ):
                expansion = tt_expansion(op)
                if expansion is None:
                    raise fail(op, f"libdevice function '{op.symbol.data}' has no lowering")
                operands = [self.node(v, op) for v in op.operands]
                return self.add(ComputeNode(op, operands, type(op), expansion=expansion))
            case arith.AddiOp() | arith.SubiOp() | arith.MuliOp():
                folded = self._affine_arith(op)
                if folded is not None:
                    return folded
            case arith.RemSIOp() | arith.RemUIOp():
                folded = self._contiguous_remainder(op)
                if folded is not None:
                    return folded
            case _ if isinstance(op, EXTSI_OPS) and isinstance(self.values.get(op.input), Affine):
                return self.values[op.input].retyped(element)  # widening keeps the value
        if op.dialect_name() not in ("arith", "math") or op.regions:
            raise fail(op, "unsupported operation")
        if len(op.results) != 1:
            raise fail(op, "unsupported operation with several results")
        operands = [self.node(v, op) for v in op.operands]
        return self.add(ComputeNode(op, operands, type(op)))

    def _affine_arith(self, op: Operation) -> Affine | None:
        lhs, rhs = (self.values.get(v) for v in op.operands)
        if not isinstance(lhs, Affine) or not isinstance(rhs, Affine):
            return None
        if isinstance(op, arith.AddiOp):
            return lhs.plus(rhs)
        if isinstance(op, arith.SubiOp):
            return lhs.plus(rhs.scaled(-1))
        if rhs.uniform:
            return lhs.times(rhs.start)
        if lhs.uniform:
            return rhs.times(lhs.start)
        return None

    def _contiguous_remainder(self, op: arith.RemSIOp | arith.RemUIOp) -> Affine | None:
        """`x % m` that stays affine, as Triton's matmuls wrap their rows and columns
        (`(pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M`): x is start + i along one
        dim of extent B, and no run of B lanes wraps: m is a constant multiple of B and
        start's coefficients are multiples of B; or m is known only at run time and the
        kernel says so (`tl.max_contiguous(..., B)`, a `tt.contiguity` of B). Then
        (start + i) % m is (start % m) + i, the remainder taken once per program, on
        scalars. A constant m that the lanes wrap around stays element-wise (gathered),
        whatever a hint says."""
        x, m = (self.values.get(v) for v in op.operands)
        if not isinstance(x, Affine) or not isinstance(m, Affine) or not m.uniform:
            return None
        varying = [d for d in range(len(x.shape)) if x.varies(d)]
        if len(varying) != 1 or x.lanes[varying[0]].constant != 1:
            return None
        (d,) = varying
        extent, modulus = x.shape[d], m.start.constant
        aligned = all(
            coef * prod(_known_multiple(v) for v in monomial) % extent == 0
            for coef, monomial in x.start.terms
        )
        if modulus is not None:  # known: the hint is not needed, nor trusted
            if not (aligned and modulus % extent == 0):
                return None  # Inductor hints M = 100 contiguous in blocks of 32: it is not
        else:
            hint = op.attributes.get("tt.contiguity")
            if not isinstance(hint, DenseIntOrFPElementsAttr):
                return None
            if list(hint.get_values())[min(d, len(hint) - 1)] < extent:
                return None
        start = x.start
        if modulus is not None and not start.may_be_negative:  # whole periods drop out
            start = Poly(tuple(
                (coef, monomial) for coef, monomial in start.terms
                if coef * prod(_known_multiple(v) for v in monomial) % modulus
            ))  # fmt: skip
            if not start.terms:
                return Affine(x.shape, Poly(), x.lanes, x.type)
        if any(v.type != x.type for p in (start, m.start) for _, mono in p.terms for v in mono):
            return None
        made = [_scalar_poly(poly, x.type, op) for poly in (start, m.start)]
        remainder = type(op)(*(ops[-1].results[0] for ops in made))
        op.parent_block().insert_op_before(remainder, op)
        for new in (*made[0], *made[1], remainder):
            self._analyze_scalar(new)
        return Affine(x.shape, Poly.of(1, remainder.result), x.lanes, x.type)

    def _analyze_view(self, op: Operation, shape: tuple[int, ...]) -> Value:
        lane_map = _lane_map(op, tt.shape_of(op.src.type), shape)
        src = self.values.get(op.src)
        if isinstance(src, Affine | Pointer):
            affine = src if isinstance(src, Affine) else src.offset
            if isinstance(affine, Affine):
                # lane coefficient along d = source coefficient of the dim d maps to
                lanes = tuple(
                    sum(
                        (c.scaled(m) for c, m in zip(affine.lanes, lane_map(unit_lanes(shape, d)))),
                        Poly(),
                    )
                    if shape[d] != 1
                    else Poly()
                    for d in range(len(shape))
                )
                moved = affine.reshaped(shape, lanes)
                return moved if isinstance(src, Affine) else Pointer(src.base, moved)
            return Pointer(src.base, self.add(ViewNode(affine, shape, lane_map)))
        return self.add(ViewNode(self.node(op.src, op), shape, lane_map))

    def _analyze_regrouping(self, op: tt.ReshapeOp, shape: tuple[int, ...]) -> Value:
        """A reshape that regroups lanes: an affine value that is a function of the flat
        position alone (an arange, a contiguous block's offsets) stays affine; anything
        else is read through its flat position (`ReshapeNode`)."""
        src_shape = tt.shape_of(op.src.type)
        src = self.values.get(op.src)
        affine = src if isinstance(src, Affine) else getattr(src, "offset", None)
        if isinstance(affine, Affine):
            per_position = _flat_coefficient(affine, src_shape)
            if per_position is not None:
                lanes = tuple(per_position.scaled(s) for s in row_major(shape, range(len(shape))))
                moved = affine.reshaped(shape, lanes)
                return moved if isinstance(src, Affine) else Pointer(src.base, moved)
        if isinstance(src, Pointer):  # offsets that are data: gathered through the view
            return Pointer(src.base, self.add(ReshapeNode(self.as_node(src.offset), shape)))
        return self.add(ReshapeNode(self.node(op.src, op), shape))

    def _split_half(self, op: tt.SplitOp, half: int) -> Value:
        """Lane `half` of the last dim: an affine value's start moves by its step."""
        shape = tt.shape_of(op.outLHS.type)
        src = self.values.get(op.src)
        affine = src if isinstance(src, Affine) else getattr(src, "offset", None)
        if isinstance(affine, Affine):
            step = affine.lanes[-1].scaled(half)
            moved = Affine(shape, affine.start + step, affine.lanes[:-1], affine.type)
            return moved if isinstance(src, Affine) else Pointer(src.base, moved)
        if isinstance(src, Pointer):
            return Pointer(
                src.base, self.add(ViewNode(src.offset, shape, lambda lanes: [*lanes, half]))
            )
        return self.add(ViewNode(self.node(op.src, op), shape, lambda lanes: [*lanes, half]))

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.sinks_of[node] = set()
        return node

    def pointer(self, value: SSAValue, user: Operation) -> Pointer:
        if isinstance(user, tt.LoadOp | tt.StoreOp) and tt.element_of(value.type).pointee == i1:
            raise fail(
                user,
                "memory holds bools as bytes: access them through an i8 pointer (tt.bitcast), "
                "as Triton's own loads and stores of bools do",
            )
        known = self.values.get(value)
        if isinstance(known, Pointer):
            return known
        if isinstance(value, BlockArgument) and isinstance(value.type, tt.PointerType):
            pointer = Pointer(value, Affine((), Poly(), (), IntegerType(32)))
            self.values[value] = pointer
            return pointer
        raise fail(user, "pointers must be a kernel argument plus integer offsets")

    def sign_extended(self, node: Node, element: IntegerType, op: Operation) -> Node:
        """`node` as `element` (an i32 offset added to an i64 one: Triton extends it)."""
        if node.element == element:
            return node

        def extend(emit, operands):
            return emit(arith.ExtSIOp(operands[0], element))

        return self.add(ComputeNode(op, [node], arith.ExtSIOp, element=element, expansion=extend))

    def pointer_bitcast(self, op: tt.BitcastOp) -> Pointer:
        """A pointer seen as one to another element held the same way in memory (Triton
        reads bools through i8 pointers): the same pointer."""
        source, target = (tt.element_of(v.type).pointee for v in (op.src, op.result))
        if tt.stored_element(source) != tt.stored_element(target):
            raise fail(
                op,
                f"a pointer to {source} read as one to {target} reinterprets memory, which "
                "xnpu does not do: load the values and tt.bitcast them instead",
            )
        return self.pointer(op.src, op)

    def affine(self, value: SSAValue) -> Affine | None:
        known = self.values.get(value)
        if isinstance(known, Affine):
            return known
        if not isinstance(value.type, TensorType) and isinstance(value.type, IntegerType):
            return Affine((), Poly.of(1, value), (), value.type)
        return None

    def as_node(self, value: Affine | Node) -> Node:
        if isinstance(value, Node):
            return value
        return self.add(AffineLeaf(value))

    def node(self, value: SSAValue, user: Operation) -> Node:
        known = self.values.get(value)
        if isinstance(known, Node):
            return known
        if isinstance(known, Affine):
            if value not in self.affine_leaves:
                self.affine_leaves[value] = self.add(AffineLeaf(known))
            return self.affine_leaves[value]
        if known is None and not isinstance(value.type, TensorType):
            return self.add(ScalarLeaf((), value.type, value))
        if isinstance(known, ScalarOp | ScalarLoad):  # a scalar's result used as a 0-d value
            return self.add(ScalarLeaf((), value.type, value))
        raise fail(user, f"operand {value.name_hint or ''} cannot be used as data")

    # ---- which values get their own tile

    def _plan_materialization(self) -> None:
        """A non-leaf lane-varying value that reaches several sinks, or that a dot reads,
        is computed once into a tile, and so is every dot (a tile.matmul's result);
        users first, so a value's sinks are known when it is decided."""
        users_of = self.users_of
        for node in self.nodes:
            for operand in node.operands:
                if node not in users_of.setdefault(operand, []):
                    users_of[operand].append(node)
        # a dot reads its operands at lanes of its own (row i of a and column j of b
        # for lane (i, j)): an operand computed lane by lane is computed once, into a tile
        dot_inputs = {o for n in self.nodes if isinstance(n, DotNode) for o in n.operands[:2]}
        for node in reversed(self.nodes):
            self.aligned_sinks[node] = set(self.sinks_of[node])
            for user in users_of.get(node, []):
                self.sinks_of[node] |= {user} if user in self.materialized else self.sinks_of[user]
                aligned = isinstance(user, ComputeNode) and user not in self.materialized
                self.aligned_sinks[node] |= self.aligned_sinks[user] if aligned else {user}
            dot_input = node in dot_inputs and not _read_in_place(node)
            if isinstance(node, DotNode) or (dot_input and not node.invariant):
                self.materialized.add(node)
                continue
            leaf = isinstance(node, LEAVES)
            cheap = node.element == i1  # masks are recomputed, never stored
            if not leaf and not cheap and not node.invariant and len(self.sinks_of[node]) > 1:
                self.materialized.add(node)
        for node in self.nodes:
            if isinstance(node, DotNode) and (carried := self._accumulated_in_place(node)):
                self.accumulated_in_place[node] = carried

    def _accumulated_in_place(self, dot: DotNode) -> CarriedLeaf | None:
        """The carried tensor a dot may add its product into, in its carry tile: the
        dot's accumulator when the loop carries it, the dot alone reads it, and the
        dot's value is only the loop's next value of it (`acc = tl.dot(a, b, acc)`)."""
        acc = dot.operands[2]
        if not isinstance(acc, CarriedLeaf) or not acc.in_body:
            return None
        if self.users_of.get(acc) != [dot] or self.sinks_of[acc] != {dot} or self.users_of.get(dot):
            return None
        yield_op = acc.loop.body.block.last_op
        if self.sinks_of[dot] != {yield_op}:
            return None
        carried = self.loop_carries[acc.loop].tensors
        inputs = dict(zip(carried, self.sink_inputs[yield_op]))
        return acc if inputs.get(acc.index) is dot else None

    def materialized_box(self, node: Node) -> Box:
        """The lanes a materialized node's tile is computed for: its stores' common
        mask when every sink is a store with one mask that it reaches lane for lane
        (through element-wise ops only), else every lane."""
        sinks = self.aligned_sinks[node]
        masks = {op.mask if isinstance(op, tt.StoreOp) else None for op in sinks}
        full = self.masks.full_box(node.shape)
        if (
            all(isinstance(op, tt.StoreOp) for op in sinks)
            and len(masks) == 1
            and None not in masks
        ):
            return self.masks.box_of(self.values[next(iter(sinks)).mask], node.shape) or full
        return full

    # ---- sinks

    def moves_rows(self) -> bool:
        """Whether some tile moves as rows (a copy of two runs of dims, `copy_groups`)."""
        moved = [
            (
                leaf.shape,
                leaf.pointer.offset,
                leaf.tile_dims,
                self.masks.box_of(leaf.mask, leaf.shape),
            )
            for leaf in self.values.values()
            if isinstance(leaf, LoadLeaf) and leaf.tile_dims is not None
        ] + [
            (plan.shape, plan.pointer.offset, plan.dims, plan.box)
            for plan in self.stores.values()
            if plan.kind == "tile"
        ]
        return any(
            len(copy_groups(shape, offset, dims, box.bounded)) > 1
            for shape, offset, dims, box in moved
        )

    def _plan_load(self, leaf: LoadLeaf) -> None:
        """Whether the load is read from a tile (`leaf.tile_dims`) or gathered (and why)."""
        if not isinstance(leaf.pointer.offset, Affine):
            leaf.split = split_of(leaf.pointer.offset) if leaf.mask is None else None
            if leaf.split is not None:
                return  # rows of contiguous elements: one 2-D copy
            in_box = self.masks.box_of(leaf.mask, leaf.shape) is not None
            window = window_of(leaf.pointer.offset) if in_box else None
            if window is not None and window.size <= MAX_WINDOW:
                leaf.window = window  # moves as one copy of the range its lanes read
            leaf.gathered_because = "its addresses are data, not affine in the lanes"
            return
        box = self.masks.box_of(leaf.mask, leaf.shape)
        if box is None:
            leaf.gathered_because = NOT_A_BOX
            return
        dims = tile_dims(leaf.shape, leaf.pointer.offset, for_store=False, bounded=box.bounded)
        if isinstance(dims, str):
            leaf.gathered_because = dims
        elif any(box.bounded[d] for d, s in enumerate(leaf.shape) if s != 1 and d not in dims):
            leaf.gathered_because = "its mask cuts lanes that read one address"
        else:
            leaf.tile_dims = dims

    def _plan_store(self, op: tt.StoreOp) -> StorePlan:
        pointer = self.values[op.ptr]
        assert isinstance(pointer, Pointer)
        (value,) = self.sink_inputs[op]
        shape = tt.shape_of(op.ptr.type)
        if not shape:
            return StorePlan(op, pointer, value, None, "scalar")
        mask = self.values.get(op.mask) if op.mask is not None else None
        box = self.masks.box_of(mask, shape)
        if box is None:
            raise fail(op, f"cannot store under this mask: {NOT_A_BOX}")
        split = (
            split_of(pointer.offset)
            if op.mask is None and not isinstance(pointer.offset, Affine)
            else None
        )
        if split is not None:
            return StorePlan(op, pointer, value, box, "split", [0], split=split)
        if not isinstance(pointer.offset, Affine):
            why = "its addresses are data, not affine in the lanes"
        else:
            dims = tile_dims(shape, pointer.offset, for_store=True, bounded=box.bounded)
            if not isinstance(dims, str):
                return StorePlan(op, pointer, value, box, "tile", dims)
            why = dims
        return StorePlan(op, pointer, value, box, "scatter", why=why)


def _coefficient(poly: Poly, symbol: SSAValue) -> int | None:
    """k when `poly` is k * symbol plus terms without it, else None."""
    k = 0
    for coefficient, monomial in poly.terms:
        if symbol in monomial:
            if monomial != (symbol,):
                return None
            k += coefficient
    return k


def _regroups(op: tt.ReshapeOp) -> bool:
    """Whether a reshape does more than add or drop size-1 dims."""
    src, dst = tt.shape_of(op.src.type), tt.shape_of(op.result.type)
    return [s for s in src if s != 1] != [s for s in dst if s != 1]


def _flat_coefficient(affine: Affine, shape: tuple[int, ...]) -> Poly | None:
    """k when the affine value is start + k * (row-major flat position), else None."""
    big = [d for d, extent in enumerate(shape) if extent != 1]
    if not big:
        return Poly()
    unit = affine.lanes[big[-1]]
    strides = row_major(shape, range(len(shape)))
    if any(affine.lanes[d].key != unit.scaled(strides[d]).key for d in big):
        return None
    return unit


def _lane_map(op: Operation, src_shape: tuple[int, ...], shape: tuple[int, ...]) -> Callable:
    """For a view op: the source lanes of result lanes."""
    if isinstance(op, tt.TransOp):
        order = list(op.order.get_values())
        return lambda lanes: [lanes[order.index(s)] for s in range(len(src_shape))]
    if isinstance(op, tt.BroadcastOp):
        return lambda lanes: [0 if s == 1 else lane for s, lane in zip(src_shape, lanes)]
    if isinstance(op, tt.ExpandDimsOp):
        axis = op.axis.value.data
        return lambda lanes: [lane for d, lane in enumerate(lanes) if d != axis]
    src_big = [d for d, s in enumerate(src_shape) if s != 1]
    dst_big = [d for d, s in enumerate(shape) if s != 1]

    def lane_map(lanes):
        out = [0] * len(src_shape)
        for s, d in zip(src_big, dst_big):
            out[s] = lanes[d]
        return out

    return lane_map


def _splat_value(value: Attribute) -> int | float | None:
    """The one value of a splat dense constant (NaN splats too: NaN != NaN), else None."""
    if not isinstance(value, DenseIntOrFPElementsAttr):
        return None
    raw, count = value.data.data, len(value)
    if count and raw == raw[: len(raw) // count] * count:  # one value's bytes, repeated
        return next(value.iter_values())
    values = value.get_values()  # -0.0 beside 0.0, or NaNs of other payloads
    first = values[0]
    if all(v == first or (v != v and first != first) for v in values):
        return first
    return None


def _scalar_attr(value, element: Attribute) -> Attribute:
    if isinstance(element, IntegerType):
        return IntegerAttr(int(value), element)
    return FloatAttr(float(value), element)
