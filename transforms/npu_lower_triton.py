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

How values are lowered:
* Scalars (program ids, kernel arguments, scalar arithmetic) are cloned into the
  program-id loop.
* Integer tensors that are affine in the lanes (`pid * B + arange(B)`, Inductor's
  `r0_1 + 512 * x0`) stay symbolic (`Affine`): they become copy offsets, counts and
  strides, not data.
* A load whose pointers are `base + Affine` (1-D, or 2-D with unit inner stride) and
  whose mask is a box (`lanes < bound` per dimension, and-ed, or a scalar condition)
  becomes a scratchpad tile filled by `spm.copy` of just the valid elements. Other
  loads (gathers, or masks that are not boxes) read DDR element by element inside the
  loops that use them.
* Element-wise math stays a tree until a sink needs it: a store becomes an element
  loop over the store's valid box and a copy back (or element-wise DDR stores for
  scatters); `tt.reduce` becomes a loop with an accumulator over the whole tile
  (masked lanes hold the load's `other`). A value used by several sinks is computed
  once into its own tile; lane-invariant values are computed once per program.
* libdevice calls (`tt.extern_elementwise`, e.g. `__nv_erff`) become `math` ops.

Anything else is an error naming the op and its source location.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, func, math, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    TensorType,
    i1,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import DiagnosticException

from xnpu.dialects import arith_tensor as tarith
from xnpu.dialects import spm, tt
from xnpu.dialects.combiners import COMBINERS
from xnpu.dialects.location import at_location
from xnpu.machines import Machine
from xnpu.transforms import check_scratchpad_fits, pass_machine

INDEX = IndexType()
CMPI_OPS = tarith.both_forms(tarith.CmpIOp)
CMPF_OPS = tarith.both_forms(tarith.CmpFOp)
SELECT_OPS = tarith.both_forms(tarith.SelectOp)

LIBDEVICE: dict[str, type[Operation]] = {
    "erf": math.ErfOp, "exp": math.ExpOp, "exp2": math.Exp2Op, "log": math.LogOp,
    "log2": math.Log2Op, "tanh": math.TanhOp, "rsqrt": math.RsqrtOp,
    "sqrt": math.SqrtOp, "fabs": math.AbsFOp, "abs": math.AbsFOp, "sin": math.SinOp,
    "cos": math.CosOp, "floor": math.FloorOp, "ceil": math.CeilOp, "pow": math.PowFOp,
}  # fmt: skip
"""libdevice function (without `__nv_` and the `f` of its float form) -> math op."""

class LoweringError(DiagnosticException):
    """A kernel npu-lower-triton cannot lower; the message names the op and where."""


def _fail(op: Operation, message: str) -> LoweringError:
    return LoweringError(f"npu-lower-triton: {message}: '{op.name}'{at_location(op)}")


# ------------------------------------------------------------------ the analysis


@dataclass(frozen=True)
class Affine:
    """An integer tensor `sum(coef * scalar) + sum(lanes[d] * lane index d)`; the
    scalars are tt values (None stands for the constant 1)."""

    shape: tuple[int, ...]
    terms: tuple[tuple[int, SSAValue | None], ...]
    lanes: tuple[int, ...]
    type: Attribute

    def scaled(self, k: int) -> Affine:
        return Affine(
            self.shape,
            tuple((c * k, v) for c, v in self.terms),
            tuple(c * k for c in self.lanes),
            self.type,
        )

    def plus(self, other: Affine) -> Affine:
        lanes = tuple(a + b for a, b in zip(self.lanes, other.lanes))
        return Affine(self.shape, self.terms + other.terms, lanes, self.type)

    def reshaped(self, shape: tuple[int, ...], lanes: tuple[int, ...]) -> Affine:
        return Affine(shape, self.terms, lanes, self.type)

    @property
    def constant(self) -> int | None:
        if all(v is None for _, v in self.terms) and not any(self.lanes):
            return sum(c for c, _ in self.terms)
        return None


class Node:
    """An element-wise tensor value, as a tree evaluated lane by lane in loops."""

    shape: tuple[int, ...]
    element: Attribute
    operands: tuple[Node, ...] = ()
    invariant: bool = False
    """The same for every lane: computed once per program, outside the loops."""

    def __init__(self, shape, element, operands=(), invariant=False):
        self.shape = tuple(shape)
        self.element = element
        self.operands = tuple(operands)
        self.invariant = invariant
        self.sinks: set[int] = set()
        self.tile: TileLayout | None = None  # set when computed into its own tile


class ScalarLeaf(Node):
    """A splat of a scalar tt value."""

    def __init__(self, shape, element, value: SSAValue):
        super().__init__(shape, element, invariant=True)
        self.value = value


class ConstantLeaf(Node):
    """A splat constant."""

    def __init__(self, shape, element, value: Attribute):
        super().__init__(shape, element, invariant=True)
        self.value = value


class AffineLeaf(Node):
    """An affine integer tensor used as data (compared, divided, converted...)."""

    def __init__(self, affine: Affine):
        super().__init__(affine.shape, affine.type, invariant=not any(affine.lanes))
        self.affine = affine


class LoadLeaf(Node):
    """A tt.load: from a scratchpad tile (`layout` set) or gathered from DDR."""

    def __init__(self, op: tt.LoadOp, pointer: Pointer, mask: Node | None, other: Node | None):
        shape = tt.shape_of(op.result.type)
        operands = tuple(n for n in (mask, other) if n is not None)
        if isinstance(pointer.offset, Node):
            operands += (pointer.offset,)
        super().__init__(shape, tt.element_of(op.result.type), operands)
        self.op = op
        self.pointer = pointer
        self.mask = mask
        self.other = other
        self.layout: TileLayout | None = None
        self.filled = False


class ComputeNode(Node):
    """An element-wise arith/math op (or a libdevice call) on its operand nodes."""

    def __init__(self, op: Operation, operands: Sequence[Node], op_type: type[Operation]):
        shape = tt.shape_of(op.results[0].type)
        super().__init__(
            shape,
            tt.element_of(op.results[0].type),
            operands,
            invariant=all(o.invariant for o in operands),
        )
        self.op = op
        self.op_type = op_type


class ViewNode(Node):
    """broadcast / expand_dims / reshape of a node: lanes map to source lanes."""

    def __init__(self, src: Node, shape: tuple[int, ...], lane_map: Callable):
        super().__init__(shape, src.element, (src,), invariant=src.invariant)
        self.lane_map = lane_map


class ReducedLeaf(Node):
    """The result of a tt.reduce: a scalar, or a tile when more than one remains."""

    def __init__(self, op: tt.ReduceOp, shape):
        super().__init__(shape, tt.element_of(op.results[0].type), invariant=prod(shape) == 1)
        self.op = op
        self.scalar: SSAValue | None = None
        self.layout: TileLayout | None = None


@dataclass(frozen=True)
class Pointer:
    """`base + offset`: a kernel argument and an Affine (or, for gathers, a Node)."""

    base: SSAValue
    offset: Affine | Node


@dataclass
class TileLayout:
    """A scratchpad tile holding a tensor: lane (l0, l1, ...) is at sum(l_d * strides[d])."""

    buffer: SSAValue
    strides: tuple[int, ...]
    region: object  # the Box of lanes the tile holds valid data for


@dataclass(eq=False)
class Box:
    """The lanes a mask lets through: per dimension [0, count) (None: all), and only
    when every guard holds."""

    shape: tuple[int, ...]
    counts: tuple[SSAValue | None, ...]
    guards: tuple[SSAValue, ...] = ()
    folded: dict = field(default_factory=dict)


# ------------------------------------------------------------------ the lowering


class KernelLowering:
    """Lowers one tt.func; `lower()` returns the new func.func."""

    def __init__(self, kernel: tt.FuncOp, machine: Machine):
        self.kernel = kernel
        self.machine = machine
        self.values: dict[SSAValue, object] = {}  # tt value -> Affine/Pointer/Node/...
        self.scalars: dict[SSAValue, SSAValue] = {}  # tt scalar -> lowered scalar
        self.nodes: list[Node] = []
        self.sinks: list[Operation] = []
        self.full_boxes: dict[tuple[int, ...], Box] = {}
        self.boxes: dict[int, Box | None] = {}
        self.emitted: dict[int, SSAValue] = {}  # invariant nodes, once per program
        self.affine_offsets: dict[tuple, SSAValue] = {}
        self.constants: dict[tuple, SSAValue] = {}
        self.tile_names: dict[str, int] = {}
        self.outermost_loop: Operation | None = None
        self.affine_leaves: dict[SSAValue, AffineLeaf] = {}
        self.index_casts: dict[SSAValue, SSAValue] = {}
        self.tile_indices: dict[tuple, SSAValue] = {}

    # ---- entry

    def lower(self) -> func.FuncOp:
        body = self.kernel.body.block
        for op in body.ops:
            self.analyze(op)
        self.plan_materialization()
        return self.emit_function()

    # ---- phase 1: what each tt value is

    def analyze(self, op: Operation) -> None:
        if isinstance(op, tt.ReturnOp):
            if op.operands:
                raise _fail(op, "kernels return nothing")
            return
        if isinstance(op, tt.StoreOp | tt.ReduceOp):
            self.sinks.append(op)
        if isinstance(op, tt.StoreOp):
            self.pointer(op.ptr, op)
            value = self.node(op.value, op)
            mask = self.node(op.mask, op) if op.mask is not None else None
            sink = len(self.sinks) - 1
            for n in (value, mask):
                if n is not None:
                    n.sinks.add(sink)
            return
        if isinstance(op, tt.ReduceOp):
            if len(op.operands) != 1:
                raise _fail(op, "reductions of several tensors at once are not supported")
            operand = self.node(op.operands[0], op)
            operand.sinks.add(len(self.sinks) - 1)
            result = op.results[0]
            shape = tt.shape_of(result.type) if isinstance(result.type, TensorType) else ()
            leaf = self.add(ReducedLeaf(op, shape))
            self.values[result] = leaf
            return
        if not any(isinstance(v.type, TensorType) for v in (*op.operands, *op.results)):
            self.analyze_scalar(op)
            return
        self.values[op.results[0]] = self.analyze_tensor(op)

    def analyze_scalar(self, op: Operation) -> None:
        if isinstance(op, tt.AddPtrOp):
            base = self.pointer(op.ptr, op)
            offset = self.affine(op.offset, op)
            if not isinstance(base.offset, Affine) or offset is None:
                raise _fail(op, "scalar pointer offsets must be integers")
            self.values[op.result] = Pointer(base.base, base.offset.plus(offset))
            return
        if isinstance(op, tt.LoadOp | tt.SplatOp | tt.CallOp | tt.ExternElementwiseOp):
            if isinstance(op, tt.LoadOp) and op.mask is None:
                self.values[op.result] = ("scalar_load", op)
                return
            raise _fail(op, "this scalar form is not supported")
        if op.dialect_name() not in ("arith", "math") and not isinstance(
            op, tt.GetProgramIdOp | tt.GetNumProgramsOp
        ):
            raise _fail(op, "unsupported operation")
        if op.regions:
            raise _fail(op, "unsupported operation with regions")
        self.values.update((r, ("scalar", op)) for r in op.results)

    def analyze_tensor(self, op: Operation) -> object:
        result = op.results[0]
        shape = tt.shape_of(result.type)
        element = tt.element_of(result.type)
        match op:
            case tt.MakeRangeOp():
                lanes = (1,)
                return Affine(shape, ((op.start.value.data, None),), lanes, element)
            case arith.ConstantOp():
                value = op.value
                if not isinstance(value, DenseIntOrFPElementsAttr) or not value.is_splat():
                    raise _fail(op, "only splat tensor constants are supported")
                scalar = value.get_values()[0]
                if isinstance(element, IntegerType) and element != i1:
                    return Affine(shape, ((int(scalar), None),), (0,) * len(shape), element)
                return self.add(ConstantLeaf(shape, element, _scalar_attr(scalar, element)))
            case tt.SplatOp():
                src = self.values.get(op.src)
                if isinstance(op.src.type, tt.PointerType):
                    src = self.pointer(op.src, op)
                    return Pointer(src.base, self._splat_affine(src.offset, shape))
                if isinstance(element, IntegerType) and element != i1:
                    return Affine(shape, ((1, op.src),), (0,) * len(shape), element)
                return self.add(ScalarLeaf(shape, element, op.src))
            case tt.AddPtrOp():
                base = self.pointer(op.ptr, op)
                offset = self.values.get(op.offset)
                if isinstance(base.offset, Affine) and isinstance(offset, Affine):
                    return Pointer(base.base, base.offset.plus(offset))
                return Pointer(base.base, self._add_nodes(
                    self.as_node(base.offset), self.node(op.offset, op), op))  # fmt: skip
            case tt.LoadOp():
                pointer = self.pointer(op.ptr, op)
                mask = self.node(op.mask, op) if op.mask is not None else None
                other = self.node(op.other, op) if op.other is not None else None
                return self.add(LoadLeaf(op, pointer, mask, other))
            case tt.BroadcastOp() | tt.ExpandDimsOp() | tt.ReshapeOp():
                return self.analyze_view(op, shape)
            case tt.ExternElementwiseOp():
                name = op.symbol.data.removeprefix("__nv_")
                op_type = LIBDEVICE.get(name) or LIBDEVICE.get(name.removesuffix("f"))
                if op_type is None:
                    raise _fail(op, f"libdevice function '{op.symbol.data}' has no lowering")
                return self.add(ComputeNode(op, [self.node(v, op) for v in op.operands], op_type))
            case arith.AddiOp() | arith.SubiOp() | arith.MuliOp():
                folded = self.affine_arith(op)
                if folded is not None:
                    return folded
        if op.dialect_name() not in ("arith", "math") or op.regions:
            raise _fail(op, "unsupported operation")
        if len(op.results) != 1:
            raise _fail(op, "unsupported operation with several results")
        operands = [self.node(v, op) for v in op.operands]
        return self.add(ComputeNode(op, operands, type(op)))

    def affine_arith(self, op: Operation) -> Affine | None:
        lhs, rhs = (self.values.get(v) for v in op.operands)
        if not isinstance(lhs, Affine) or not isinstance(rhs, Affine):
            return None
        if isinstance(op, arith.AddiOp):
            return lhs.plus(rhs)
        if isinstance(op, arith.SubiOp):
            return lhs.plus(rhs.scaled(-1))
        if rhs.constant is not None:
            return lhs.scaled(rhs.constant)
        if lhs.constant is not None:
            return rhs.scaled(lhs.constant)
        return None

    def analyze_view(self, op: Operation, shape: tuple[int, ...]) -> object:
        src_shape = tt.shape_of(op.src.type)
        if isinstance(op, tt.BroadcastOp):
            lane_map = lambda lanes: [0 if s == 1 else l for s, l in zip(src_shape, lanes)]  # noqa: E731
        elif isinstance(op, tt.ExpandDimsOp):
            axis = op.axis.value.data
            lane_map = lambda lanes: [l for d, l in enumerate(lanes) if d != axis]  # noqa: E731
        else:
            if [s for s in src_shape if s != 1] != [s for s in shape if s != 1]:
                raise _fail(op, "only reshapes that add or drop size-1 dimensions are supported")
            src_big = [d for d, s in enumerate(src_shape) if s != 1]
            dst_big = [d for d, s in enumerate(shape) if s != 1]

            def lane_map(lanes):
                out = [0] * len(src_shape)
                for s, d in zip(src_big, dst_big):
                    out[s] = lanes[d]
                return out

        src = self.values.get(op.src)
        unit_lanes = [[0] * len(shape) for _ in shape]
        for d in range(len(shape)):
            unit_lanes[d][d] = 1
        if isinstance(src, Affine | Pointer):
            affine = src if isinstance(src, Affine) else src.offset
            if isinstance(affine, Affine):
                # lane coefficient along d = source coefficient of the dim d maps to
                lanes = tuple(
                    sum(c * m for c, m in zip(affine.lanes, lane_map(unit_lanes[d])))
                    if shape[d] != 1 else 0
                    for d in range(len(shape))
                )  # fmt: skip
                moved = affine.reshaped(shape, lanes)
                return moved if isinstance(src, Affine) else Pointer(src.base, moved)
            return Pointer(src.base, self.add(ViewNode(affine, shape, lane_map)))
        return self.add(ViewNode(self.node(op.src, op), shape, lane_map))

    def _splat_affine(self, offset: Affine | Node, shape) -> Affine | Node:
        if isinstance(offset, Affine):
            return offset.reshaped(shape, (0,) * len(shape))
        return offset

    def _add_nodes(self, a: Node, b: Node, op: Operation) -> Node:
        node = ComputeNode(op, [a, b], arith.AddiOp)
        node.element = b.element
        return self.add(node)

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def pointer(self, value: SSAValue, user: Operation) -> Pointer:
        known = self.values.get(value)
        if isinstance(known, Pointer):
            return known
        if isinstance(value, BlockArgument) and isinstance(value.type, tt.PointerType):
            pointer = Pointer(value, Affine((), (), (), IntegerType(32)))
            self.values[value] = pointer
            return pointer
        raise _fail(user, "pointers must be a kernel argument plus integer offsets")

    def affine(self, value: SSAValue, user: Operation) -> Affine | None:
        known = self.values.get(value)
        if isinstance(known, Affine):
            return known
        if not isinstance(value.type, TensorType) and isinstance(value.type, IntegerType):
            return Affine((), ((1, value),), (), value.type)
        return None

    def as_node(self, value: object) -> Node:
        if isinstance(value, Node):
            return value
        assert isinstance(value, Affine)
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
        if isinstance(known, tuple):  # a scalar op's result used as a 0-d value
            return self.add(ScalarLeaf((), value.type, value))
        raise _fail(user, f"operand {value.name_hint or ''} cannot be used as data")

    # ---- which values get their own tile

    def plan_materialization(self) -> None:
        """A non-leaf lane-varying value that reaches several sinks is computed once
        into a tile (users first, so a value's sinks are known when it is decided)."""
        for node in reversed(self.nodes):
            users = [n for n in self.nodes if node in n.operands]
            for user in users:
                node.sinks |= {("tile", id(user))} if user.tile is not None else user.sinks
            leaf = isinstance(node, ScalarLeaf | ConstantLeaf | AffineLeaf | LoadLeaf | ReducedLeaf)
            cheap = node.element == i1  # masks are recomputed, never stored
            if not leaf and not cheap and not node.invariant and len(node.sinks) > 1:
                node.tile = TileLayout(None, (), None)  # decided; built when first needed

    # ---- phase 2: emitting the scalar program

    def emit_function(self) -> func.FuncOp:
        kernel = self.kernel
        arg_types: list[Attribute] = []
        for arg in kernel.args:
            if isinstance(arg.type, tt.PointerType):
                arg_types.append(MemRefType(arg.type.pointee, [DYNAMIC_INDEX]))
            else:
                arg_types.append(arg.type)
        axes = self.grid_axes()
        entry = Block(arg_types=[*arg_types, *([INDEX] * len(axes))])
        self.args = dict(zip(kernel.args, entry.args))
        for new, old in zip(entry.args, kernel.args):
            new.name_hint = old.name_hint
        self.grid = list(entry.args[len(kernel.args):])
        for value, axis in zip(self.grid, axes):
            value.name_hint = f"grid_{'xyz'[axis]}"
        self.entry = entry
        self.entry_point = InsertPoint.at_end(entry)

        total = self.grid[0]
        for extent in self.grid[1:]:
            total = self.insert_entry(arith.MuliOp(total, extent)).results[0]
        pid_body = Block(arg_types=[INDEX])
        pid_body.args[0].name_hint = "pid"
        self.point = InsertPoint.at_end(pid_body)
        self.emit_program_ids(pid_body.args[0])
        for op in kernel.body.block.ops:
            self.emit(op)
        self.insert(scf.YieldOp())
        c0, c1 = self.index(0), self.index(1)
        self.entry_point = InsertPoint.at_end(entry)
        Rewriter.insert_op(scf.ForOp(c0, total, c1, [], pid_body), InsertPoint.at_end(entry))
        Rewriter.insert_op(func.ReturnOp(), InsertPoint.at_end(entry))
        return func.FuncOp(
            kernel.sym_name.data, (entry.arg_types, ()), Region(entry), visibility="public"
        )

    def grid_axes(self) -> list[int]:
        used = [
            op.axis.value.data
            for op in self.kernel.body.block.ops
            if isinstance(op, tt.GetProgramIdOp | tt.GetNumProgramsOp)
        ]
        return list(range(max(used, default=0) + 1))

    def emit_program_ids(self, pid: SSAValue) -> None:
        self.program_ids: list[SSAValue] = []
        rest = pid
        for axis, extent in enumerate(self.grid):
            if axis == len(self.grid) - 1:
                this = rest
            else:
                this = self.insert(arith.RemUIOp(rest, extent)).results[0]
                rest = self.insert(arith.DivUIOp(rest, extent)).results[0]
            self.program_ids.append(self.insert(arith.IndexCastOp(this, IntegerType(32))).results[0])

    # ---- insertion helpers

    def insert(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.point)
        return op

    @contextmanager
    def program_level(self):
        """Inserts go before the loop nest being built: per-program values are
        computed once per program, not once per lane."""
        if self.outermost_loop is None:
            yield
            return
        saved_point, saved_loop = self.point, self.outermost_loop
        self.point = InsertPoint.before(saved_loop)
        self.outermost_loop = None
        try:
            yield
        finally:
            self.point, self.outermost_loop = saved_point, saved_loop

    @contextmanager
    def inside(self, loop: scf.ForOp):
        """Inserts go at the end of `loop`'s body (already inserted)."""
        saved_point, saved_loop = self.point, self.outermost_loop
        self.point = InsertPoint.at_end(loop.body.block)
        if saved_loop is None:
            self.outermost_loop = loop
        try:
            yield
        finally:
            self.point, self.outermost_loop = saved_point, saved_loop

    def insert_entry(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.entry_point)
        return op

    def constant(self, value: int | float, type: Attribute) -> SSAValue:
        key = (value, type)
        if key not in self.constants:
            attr = FloatAttr(value, type) if not isinstance(type, IntegerType | IndexType) else IntegerAttr(value, type)
            self.constants[key] = self.insert_entry(arith.ConstantOp(attr, type)).results[0]
        return self.constants[key]

    def index(self, value: int) -> SSAValue:
        return self.constant(value, INDEX)

    def alloc(self, kind: str, element: Attribute, size: int) -> SSAValue:
        number = self.tile_names.get(kind, 0)
        self.tile_names[kind] = number + 1
        op = spm.AllocOp(spm.scratchpad_type(element, [size]), f"{kind}{number}")
        return self.insert_entry(op).buffer

    def to_index(self, value: SSAValue) -> SSAValue:
        if isinstance(value.type, IndexType):
            return value
        return self.insert(arith.IndexCastOp(value, INDEX)).results[0]

    # ---- emitting tt ops in program order

    def emit(self, op: Operation) -> None:
        known = self.values.get(op.results[0]) if op.results else None
        if isinstance(known, tuple) and known[0] == "scalar":
            self.emit_scalar_op(op)
        elif isinstance(known, tuple) and known[0] == "scalar_load":
            pointer = self.values[op.ptr]
            offset = self.affine_offset(pointer.offset)
            load = self.insert(memref.LoadOp.get(self.args[pointer.base], [offset]))
            self.scalars[op.result] = load.res
        elif isinstance(known, LoadLeaf):
            self.emit_load(known)
        elif isinstance(op, tt.StoreOp):
            self.emit_store(op)
        elif isinstance(op, tt.ReduceOp):
            self.emit_reduce(op)

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
        clone = op.clone(value_mapper={v: self.scalar(v) for v in op.operands})
        self.insert(clone)
        self.scalars.update(zip(op.results, clone.results))

    def scalar(self, value: SSAValue) -> SSAValue:
        if value in self.scalars:
            return self.scalars[value]
        if value in self.args:
            return self.args[value]
        raise LoweringError(f"npu-lower-triton: internal error: no scalar for {value}")

    def affine_offset(self, affine: Affine) -> SSAValue:
        """The lane-0 value of an Affine, as an index computed in the program loop."""
        key = tuple(sorted(((c, id(v)) for c, v in affine.terms), key=str))
        if key not in self.affine_offsets:
            with self.program_level():
                self.affine_offsets[key] = self._affine_offset(affine)
        return self.affine_offsets[key]

    def _affine_offset(self, affine: Affine) -> SSAValue:
        total: SSAValue | None = None
        constant = 0
        for coef, value in affine.terms:
            if value is None:
                constant += coef
                continue
            if value not in self.index_casts:
                self.index_casts[value] = self.to_index(self.scalar(value))
            term = self.index_casts[value]
            if coef != 1:
                term = self.insert(arith.MuliOp(term, self.index(coef))).results[0]
            total = term if total is None else self.insert(arith.AddiOp(total, term)).results[0]
        if total is None:
            total = self.index(constant)
        elif constant:
            total = self.insert(arith.AddiOp(total, self.index(constant))).results[0]
        return total

    # ---- boxes (masks)

    def full_box(self, shape: tuple[int, ...]) -> Box:
        if shape not in self.full_boxes:
            self.full_boxes[shape] = Box(shape, (None,) * len(shape))
        return self.full_boxes[shape]

    def box_of(self, mask: Node | None, shape: tuple[int, ...]) -> Box | None:
        if mask is None:
            return self.full_box(shape)
        if id(mask) not in self.boxes:
            self.boxes[id(mask)] = self._box(mask)
        return self.boxes[id(mask)]

    def _box(self, mask: Node) -> Box | None:
        shape = mask.shape
        if mask.invariant:
            return Box(shape, (None,) * len(shape), (self.scalar_of(mask),))
        if isinstance(mask, ViewNode):
            inner = self.box_of(mask.operands[0], mask.operands[0].shape)
            if inner is None:
                return None
            counts: list[SSAValue | None] = [None] * len(shape)
            guards = list(inner.guards)
            unit = [[1 if d == e else 0 for e in range(len(shape))] for d in range(len(shape))]
            src_of = {}
            for d in range(len(shape)):
                mapped = mask.lane_map(unit[d])
                src = [s for s, v in enumerate(mapped) if v]
                if src:
                    src_of[src[0]] = d
            for s, count in enumerate(inner.counts):
                if count is None:
                    continue
                if s in src_of:
                    counts[src_of[s]] = count
                else:  # a size-1 dimension that was dropped or broadcast
                    zero = self.index(0)
                    guards.append(self.insert(arith.CmpiOp(count, zero, "sgt")).results[0])
            return Box(shape, tuple(counts), tuple(guards))
        if isinstance(mask, ComputeNode) and mask.op_type is arith.AndIOp:
            a, b = (self.box_of(o, shape) for o in mask.operands)
            if a is None or b is None:
                return None
            counts = []
            for x, y in zip(a.counts, b.counts):
                if x is None or y is None:
                    counts.append(x if y is None else y)
                else:
                    counts.append(self.insert(arith.MinSIOp(x, y)).results[0])
            return Box(shape, tuple(counts), a.guards + b.guards)
        if isinstance(mask, ComputeNode) and isinstance(mask.op, CMPI_OPS):
            return self._bound_box(mask, shape)
        return None

    def _bound_box(self, mask: ComputeNode, shape) -> Box | None:
        predicate = tarith.predicate_name(mask.op)
        lhs, rhs = mask.operands
        flipped = {"sgt": "slt", "sge": "sle", "ugt": "ult", "uge": "ule"}
        if predicate in flipped:
            lhs, rhs, predicate = rhs, lhs, flipped[predicate]
        if predicate not in ("slt", "sle", "ult", "ule"):
            return None
        if not isinstance(lhs, AffineLeaf) or not rhs.invariant:
            return None
        varying = [d for d, c in enumerate(lhs.affine.lanes) if c and shape[d] != 1]
        if len(varying) != 1 or lhs.affine.lanes[varying[0]] < 0:
            return None
        d = varying[0]
        step = lhs.affine.lanes[d]
        if isinstance(rhs, AffineLeaf):
            bound = self.affine_offset(rhs.affine)
        else:
            bound = self.to_index(self.scalar_of(rhs))
        if predicate in ("sle", "ule"):
            bound = self.insert(arith.AddiOp(bound, self.index(1))).results[0]
        start = self.affine_offset(lhs.affine.reshaped(lhs.shape, (0,) * len(shape)))
        room = self.insert(arith.SubiOp(bound, start)).results[0]
        if step != 1:
            room = self.insert(arith.CeilDivSIOp(room, self.index(step))).results[0]
        room = self.insert(arith.MaxSIOp(room, self.index(0))).results[0]
        count = self.insert(arith.MinSIOp(room, self.index(shape[d]))).results[0]
        counts = [None] * len(shape)
        counts[d] = count
        return Box(shape, tuple(counts))

    def counts(self, box: Box, dims: Sequence[int]) -> list[SSAValue]:
        """Loop or copy counts for `dims` of a box, every guard (and every count of a
        dimension not in `dims`) folded into the first: no lane runs if one fails."""
        key = tuple(dims)
        if key in box.folded:
            return box.folded[key]
        live = list(box.guards)
        for d, count in enumerate(box.counts):
            if d not in dims and count is not None:
                live.append(self.insert(arith.CmpiOp(count, self.index(0), "sgt")).results[0])
        counts = [
            box.counts[d] if box.counts[d] is not None else self.index(box.shape[d])
            for d in dims
        ] or [self.index(1)]
        if live:
            condition = live[0]
            for other in live[1:]:
                condition = self.insert(arith.AndIOp(condition, other)).results[0]
            counts[0] = self.insert(arith.SelectOp(condition, counts[0], self.index(0))).results[0]
        box.folded[key] = counts
        return counts

    # ---- loads

    def tile_dims(self, shape, affine: Affine, for_store: bool) -> list[int] | None:
        """The dims a tile keeps (lane coefficient non-zero), if a box copy can move it."""
        dims = [d for d, s in enumerate(shape) if s != 1 and affine.lanes[d] != 0]
        if for_store and len(dims) != sum(1 for s in shape if s != 1):
            return None  # several lanes store to one address: a scatter
        if len(dims) > 2 or any(affine.lanes[d] < 0 for d in dims):
            return None
        if len(dims) == 2 and affine.lanes[dims[1]] != 1:
            return None
        return dims

    def emit_load(self, leaf: LoadLeaf) -> None:
        pointer = leaf.pointer
        if not isinstance(pointer.offset, Affine):
            return  # a gather: read in the loops that use it
        dims = self.tile_dims(leaf.shape, pointer.offset, for_store=False)
        box = self.box_of(leaf.mask, leaf.shape) if dims is not None else None
        if dims is None or box is None:
            return
        if any(box.counts[d] is not None for d, s in enumerate(leaf.shape) if s != 1 and d not in dims):
            return  # the mask cuts a broadcast dimension: lanes differ, gather
        buffer = self.alloc("in", leaf.element, prod(leaf.shape[d] for d in dims))
        leaf.layout = TileLayout(buffer, row_major(leaf.shape, dims), box)
        self.copy(self.args[pointer.base], self.affine_offset(pointer.offset), buffer, dims,
                  pointer.offset, box, to_scratchpad=True)  # fmt: skip

    def copy(self, ddr, ddr_offset, tile, dims, affine: Affine, box: Box, to_scratchpad: bool) -> None:
        counts = self.counts(box, dims)
        zero = self.index(0)
        rows = None
        if len(dims) == 2:
            rows = (counts[0], self.index(affine.lanes[dims[0]]), self.index(box.shape[dims[1]]))
            count = counts[1]
        elif dims and affine.lanes[dims[0]] != 1:  # strided: rows of one element
            rows = (counts[0], self.index(affine.lanes[dims[0]]), self.index(1))
            count = self.index(1)
        else:
            count = counts[0]
        if rows is not None and not to_scratchpad:
            rows = (rows[0], rows[2], rows[1])
        if to_scratchpad:
            self.insert(spm.CopyOp(ddr, ddr_offset, tile, zero, count, rows))
        else:
            self.insert(spm.CopyOp(tile, zero, ddr, ddr_offset, count, rows))

    def ensure_filled(self, leaf: LoadLeaf) -> None:
        """Masked lanes of a tile read outside the load's own box hold `other`."""
        if leaf.filled or leaf.mask is None:
            return
        leaf.filled = True
        layout = leaf.layout
        box: Box = layout.region
        dims = [d for d in range(len(leaf.shape)) if layout.strides[d]]
        counts = self.counts(box, dims)
        if leaf.other is not None:
            self.prepare(leaf.other, box)
        extents = [leaf.shape[d] for d in dims]
        other = leaf.other
        # the complement of the box [0,c0) x [0,c1): rows >= c0, and rows < c0 with cols >= c1
        pieces: list[list[tuple[SSAValue, SSAValue]]] = []
        if not dims:
            pieces.append([(counts[0], self.index(1))])
        elif len(dims) == 1:
            pieces.append([(counts[0], self.index(extents[0]))])
        else:
            pieces.append([(counts[0], self.index(extents[0])), (self.index(0), self.index(extents[1]))])
            pieces.append([(self.index(0), counts[0]), (counts[1], self.index(extents[1]))])
        for piece in pieces:
            def body(ivs, piece_dims=dims):
                lanes = [self.index(0)] * len(leaf.shape)
                for d, iv in zip(piece_dims, ivs):
                    lanes[d] = iv
                value = self.value_at(other, lanes, {}) if other is not None else self.zero_of(leaf.element)
                self.insert(memref.StoreOp.get(value, layout.buffer, [self.tile_index(layout, lanes)]))
            self.loop_nest(piece, body)

    def zero_of(self, element: Attribute) -> SSAValue:
        return self.constant(0 if isinstance(element, IntegerType) else 0.0, element)

    # ---- loops

    def loop_nest(self, bounds: Sequence[tuple[SSAValue, SSAValue]], body: Callable,
                  names: str = "ijk") -> None:  # fmt: skip
        """Emits nested scf.for over `bounds` ((lower, upper) each, step 1) around
        `body(ivs)`."""
        if not bounds:
            body([])
            return
        lower, upper = bounds[0]
        block = Block(arg_types=[INDEX])
        block.args[0].name_hint = names[0]
        loop = self.insert(scf.ForOp(lower, upper, self.index(1), [], block))
        with self.inside(loop):
            self.loop_nest(
                bounds[1:], lambda ivs: body([block.args[0], *ivs]), names=names[1:] or "ijk"
            )
            self.insert(scf.YieldOp())

    def element_loops(self, box: Box, body: Callable[[list[SSAValue]], None]) -> None:
        """Loops over the lanes of `box`; `body` gets one index per tensor dimension."""
        dims = [d for d, s in enumerate(box.shape) if s != 1]
        counts = self.counts(box, dims)
        bounds = [(self.index(0), c) for c in counts]

        def lanes_body(ivs):
            lanes = [self.index(0)] * len(box.shape)
            for d, iv in zip(dims, ivs):
                lanes[d] = iv
            body(lanes)

        self.loop_nest(bounds, lanes_body)

    # ---- evaluating nodes lane by lane

    def prepare(self, node: Node, box: Box, seen: set[int] | None = None) -> None:
        """Before a loop over `box`: computes the tiles and per-program scalars the
        tree needs, and fills masked lanes the loop will read."""
        seen = set() if seen is None else seen
        if id(node) in seen:
            return
        seen.add(id(node))
        if node.invariant:
            self.scalar_of(node)
            return
        if node.tile is not None:
            if node.tile.buffer is None:
                self.materialize(node)
            return
        if isinstance(node, LoadLeaf) and node.layout is not None:
            if node.layout.region is not box:
                self.ensure_filled(node)
            return
        for operand in node.operands:
            self.prepare(operand, box, seen)

    def materialize(self, node: Node) -> None:
        sink_ops = [self.sinks[s] for s in node.sinks if isinstance(s, int)]
        masks = {id(op.mask) if isinstance(op, tt.StoreOp) and op.mask is not None else None for op in sink_ops}
        box = self.full_box(node.shape)
        if all(isinstance(op, tt.StoreOp) for op in sink_ops) and len(masks) == 1 and None not in masks:
            box = self.box_of(self.values[sink_ops[0].mask], node.shape) or box
        dims = [d for d, s in enumerate(node.shape) if s != 1]
        buffer = self.alloc("tmp", node.element, prod(node.shape))
        layout = TileLayout(buffer, row_major(node.shape, dims), box)
        node.tile = None
        self.prepare(node, box)

        def body(lanes):
            value = self.value_at(node, lanes, {})
            self.insert(memref.StoreOp.get(value, layout.buffer, [self.tile_index(layout, lanes)]))

        self.element_loops(box, body)
        node.tile = layout

    def tile_index(self, layout: TileLayout, lanes: Sequence[SSAValue]) -> SSAValue:
        """sum(lane * stride): computed once per loop body for each layout."""
        key = (layout.strides, tuple(id(lane) for lane in lanes))
        if key not in self.tile_indices:
            self.tile_indices[key] = self._tile_index(layout, lanes)
        return self.tile_indices[key]

    def _tile_index(self, layout: TileLayout, lanes: Sequence[SSAValue]) -> SSAValue:
        total: SSAValue | None = None
        for lane, stride in zip(lanes, layout.strides):
            if stride == 0:
                continue
            term = lane if stride == 1 else self.insert(arith.MuliOp(lane, self.index(stride))).results[0]
            total = term if total is None else self.insert(arith.AddiOp(total, term)).results[0]
        return total if total is not None else self.index(0)

    def scalar_of(self, node: Node) -> SSAValue:
        """An invariant node computed once per program, at the current point."""
        if id(node) in self.emitted:
            return self.emitted[id(node)]
        lanes = [self.index(0)] * len(node.shape)
        with self.program_level():
            value = self.value_at(node, lanes, {}, allow_invariant=False)
        self.emitted[id(node)] = value
        return value

    def value_at(self, node: Node, lanes: list[SSAValue], memo: dict, allow_invariant=True) -> SSAValue:
        if allow_invariant and node.invariant:
            return self.scalar_of(node)
        key = (id(node), tuple(id(l) for l in lanes))
        if key in memo:
            return memo[key]
        value = self._value_at(node, lanes, memo)
        memo[key] = value
        return value

    def _value_at(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        if node.tile is not None and node.tile.buffer is not None:
            return self.load_tile(node.tile, node.element, lanes)
        match node:
            case ScalarLeaf():
                return self.scalar(node.value)
            case ConstantLeaf():
                return self.insert_entry(arith.ConstantOp(node.value, node.element)).results[0]
            case AffineLeaf():
                return self.affine_at(node.affine, lanes)
            case LoadLeaf() if node.layout is not None:
                return self.load_tile(node.layout, node.element, lanes)
            case LoadLeaf():
                return self.gather_at(node, lanes, memo)
            case ReducedLeaf():
                if node.scalar is not None:
                    return node.scalar
                return self.load_tile(node.layout, node.element, lanes)
            case ViewNode():
                mapped = node.lane_map(lanes)
                mapped = [m if not isinstance(m, int) else self.index(m) for m in mapped]
                return self.value_at(node.operands[0], mapped, memo)
            case ComputeNode():
                operands = [self.value_at(o, lanes, memo) for o in node.operands]
                return self.compute(node, operands)
        raise LoweringError(f"npu-lower-triton: internal error: cannot evaluate {node}")

    def load_tile(self, layout: TileLayout, element, lanes) -> SSAValue:
        return self.insert(memref.LoadOp.get(layout.buffer, [self.tile_index(layout, lanes)])).res

    def affine_at(self, affine: Affine, lanes) -> SSAValue:
        base = self.affine_offset(affine.reshaped(affine.shape, (0,) * len(affine.shape)))
        total = base
        for lane, coef in zip(lanes, affine.lanes):
            if coef == 0:
                continue
            term = lane if coef == 1 else self.insert(arith.MuliOp(lane, self.index(coef))).results[0]
            total = self.insert(arith.AddiOp(total, term)).results[0]
        return self.insert(arith.IndexCastOp(total, affine.type)).results[0]

    def gather_at(self, leaf: LoadLeaf, lanes, memo) -> SSAValue:
        pointer = leaf.pointer
        if isinstance(pointer.offset, Affine):
            address = self.affine_at(pointer.offset, lanes)
        else:
            address = self.value_at(pointer.offset, lanes, memo)
        address = self.to_index(address)
        mask = self.value_at(leaf.mask, lanes, memo) if leaf.mask is not None else None
        if mask is not None:
            address = self.insert(arith.SelectOp(mask, address, self.index(0))).results[0]
        value = self.insert(memref.LoadOp.get(self.args[pointer.base], [address])).res
        if mask is not None:
            other = (self.value_at(leaf.other, lanes, memo) if leaf.other is not None
                     else self.zero_of(leaf.element))  # fmt: skip
            value = self.insert(arith.SelectOp(mask, value, other)).results[0]
        return value

    def compute(self, node: ComputeNode, operands: list[SSAValue]) -> SSAValue:
        op = node.op
        if node.op_type is not type(op):  # libdevice calls, pointer offsets
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

    def emit_store(self, op: tt.StoreOp) -> None:
        pointer: Pointer = self.values[op.ptr]
        value = self.node(op.value, op)
        shape = tt.shape_of(op.ptr.type)
        mask = self.values.get(op.mask) if op.mask is not None else None
        if not shape:  # a scalar store
            target = self.affine_offset(pointer.offset)
            scalar = self.value_at(value, [], {})
            self.insert(memref.StoreOp.get(scalar, self.args[pointer.base], [target]))
            return
        box = self.box_of(mask, shape)
        if box is None:
            raise _fail(op, "store masks must bound each dimension (lanes < n, and-ed)")
        self.prepare(value, box)
        affine = pointer.offset if isinstance(pointer.offset, Affine) else None
        dims = self.tile_dims(shape, affine, for_store=True) if affine is not None else None
        if dims is not None:
            buffer = self.alloc("out", value.element, prod(shape[d] for d in dims))
            layout = TileLayout(buffer, row_major(shape, dims), box)

            def body(lanes):
                result = self.value_at(value, lanes, {})
                self.insert(memref.StoreOp.get(result, buffer, [self.tile_index(layout, lanes)]))

            self.element_loops(box, body)
            self.copy(self.args[pointer.base], self.affine_offset(affine), buffer, dims, affine,
                      box, to_scratchpad=False)  # fmt: skip
            return
        if not isinstance(pointer.offset, Affine):
            self.prepare(pointer.offset, box)

        def scatter(lanes):
            memo: dict = {}
            result = self.value_at(value, lanes, memo)
            if isinstance(pointer.offset, Affine):
                address = self.affine_at(pointer.offset, lanes)
            else:
                address = self.value_at(pointer.offset, lanes, memo)
            target = self.to_index(address)
            self.insert(memref.StoreOp.get(result, self.args[pointer.base], [target]))

        self.element_loops(box, scatter)

    def emit_reduce(self, op: tt.ReduceOp) -> None:
        operand = self.node(op.operands[0], op)
        leaf: ReducedLeaf = self.values[op.results[0]]
        axis = op.axis.value.data
        shape = operand.shape
        box = self.full_box(shape)
        self.prepare(operand, box)
        combine = self.combiner(op)
        outer_dims = [d for d, s in enumerate(shape) if s != 1 and d != axis]
        result_shape = leaf.shape
        if outer_dims:
            buffer = self.alloc("red", leaf.element, prod(shape[d] for d in outer_dims))
            result_dims = [d if d < axis else d - 1 for d in outer_dims]
            strides = row_major(result_shape, result_dims)
            leaf.layout = TileLayout(buffer, strides, self.full_box(result_shape))

        def row(outer_ivs):
            lanes = [self.index(0)] * len(shape)
            for d, iv in zip(outer_dims, outer_ivs):
                lanes[d] = iv
            first = self.value_at(operand, lanes, {})
            if shape[axis] == 1:
                total = first
            else:
                block = Block(arg_types=[INDEX, leaf.element])
                block.args[0].name_hint, block.args[1].name_hint = "r", "acc"
                loop = scf.ForOp(self.index(1), self.index(shape[axis]), self.index(1), [first], block)
                self.insert(loop)
                with self.inside(loop):
                    inner = list(lanes)
                    inner[axis] = block.args[0]
                    element = self.value_at(operand, inner, {})
                    self.insert(scf.YieldOp(combine(block.args[1], element)))
                total = loop.results[0]
            if outer_dims:
                out_lanes = [l for d, l in enumerate(lanes) if d != axis]
                self.insert(memref.StoreOp.get(total, leaf.layout.buffer,
                                               [self.tile_index(leaf.layout, out_lanes)]))  # fmt: skip
            else:
                leaf.scalar = total
                self.scalars[op.results[0]] = total

        if outer_dims:
            self.loop_nest([(self.index(0), self.index(shape[d])) for d in outer_dims], row)
        else:
            row([])

    def combiner(self, op: tt.ReduceOp) -> Callable[[SSAValue, SSAValue], SSAValue]:
        """The combiner as one op when it is one of COMBINERS (or Inductor's
        NaN-propagating max/min), else its region cloned."""
        block = op.regions[0].block
        body = list(block.ops)  # the combiner's ops, then tt.reduce.return
        a, b = block.args
        kind = _one_op_combiner(body, a, b)
        if kind is not None:
            return lambda acc, x: self.insert(kind(acc, x)).results[0]

        def general(acc: SSAValue, x: SSAValue) -> SSAValue:
            mapping = {a: acc, b: x}
            for inner in body[:-1]:
                clone = inner.clone(value_mapper=mapping)
                self.insert(clone)
                mapping.update(zip(inner.results, clone.results))
            return mapping[body[-1].operands[0]]

        return general


def row_major(shape: Sequence[int], dims: Sequence[int]) -> tuple[int, ...]:
    """Lane strides of a tile that stores `dims` of `shape` row-major (0 elsewhere)."""
    strides = [0] * len(shape)
    stride = 1
    for d in reversed(dims):
        strides[d] = stride
        stride *= shape[d]
    return tuple(strides)


def _scalar_attr(value, element: Attribute) -> Attribute:
    if isinstance(element, IntegerType):
        return IntegerAttr(int(value), element)
    return FloatAttr(float(value), element)


def _one_op_combiner(body: list[Operation], a: SSAValue, b: SSAValue) -> type[Operation] | None:
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
            and tarith.predicate_name(nan) == "une"
            and tuple(nan.operands) == (a, a)
            and tuple(select.operands) == (either.results[0], a, b)
            and ret.operands[0] is select.results[0]
        ):
            predicate = tarith.predicate_name(greater)
            return {"ogt": arith.MaximumfOp, "olt": arith.MinimumfOp}.get(predicate)
    return None


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


@dataclass
class LowerTritonKernel(RewritePattern):
    """A tt.func becomes its lowered func.func (built before the walk, so that a
    kernel that cannot be lowered fails the pass with the module untouched)."""

    lowered: dict[tt.FuncOp, func.FuncOp]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, kernel: tt.FuncOp, rewriter: PatternRewriter) -> None:
        rewriter.replace(kernel, self.lowered.pop(kernel))


@dataclass(frozen=True)
class NpuLowerTritonPass(ModulePass):
    """Lowers every tt.func to the scalar NPU program (see the module docstring)."""

    name = "npu-lower-triton"

    machine: str = "edge-npu"
    """The machine model whose scratchpad the tiles must fit."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        machine = pass_machine(self.name, self.machine, LoweringError)
        lowered = {}
        for kernel in op.body.block.ops:
            if isinstance(kernel, tt.FuncOp):
                with recursion_room(1000 + 8 * sum(1 for _ in kernel.walk())):
                    function = KernelLowering(kernel, machine).lower()
                check_scratchpad_fits(function, machine, self.name, "use a smaller BLOCK", LoweringError)
                lowered[kernel] = function
        PatternRewriteWalker(LowerTritonKernel(lowered), apply_recursively=False).rewrite_module(op)
