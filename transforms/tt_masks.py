"""
The mask analysis of npu-lower-triton: which lanes a `tt` mask lets through, as a
tree that mirrors the mask (it builds no IR; the emitter computes its counts once
per program). A mask that is not a box is None: loads under it are gathered, stores
under it refused.

    %m = arith.cmpi slt, %offs, %n_splat      BoundBox: lanes < n - start along dim 0
    %m2 = arith.andi %rows_ok, %cols_ok       AndBox: the smaller count per dimension
    %m3 = tt.broadcast %row_mask              ViewBox: the row mask seen in 2-D
    %m4 = tt.splat %flag                      ConditionBox: all lanes or none
    %m5 = arith.cmpi sge, %offs, %zero        BoundBox (lower): lanes >= -start
"""

from __future__ import annotations

from xdsl.dialects import arith

from xnpu.dialects import arith_tensor
from xnpu.transforms.tt_values import AffineLeaf, ComputeNode, Node, Poly, ViewNode, unit_lanes

CMPI_OPS = arith_tensor.both_forms(arith_tensor.CmpIOp)


class Box:
    """The lanes a mask lets through: per dimension [first, count) where `bounded` (all
    lanes elsewhere), and only when every guard holds. A tree that mirrors the mask;
    the emitter computes its counts once per program."""

    shape: tuple[int, ...]
    bounded: tuple[bool, ...]


class FullBox(Box):
    """Every lane: no mask."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.bounded = (False,) * len(self.shape)


class ConditionBox(Box):
    """All lanes or none, by a lane-invariant condition."""

    def __init__(self, condition: Node):
        self.shape = condition.shape
        self.bounded = (False,) * len(self.shape)
        self.condition = condition


class BoundBox(Box):
    """`start + step * lane < limit` (or `<=`) along `dim`, within `extent` lanes; with
    `lower`, `>` (or `>=`): the lanes from the first that passes. A negative step
    (reversed lanes) turns an upper bound on the offsets into a lower one on the lanes."""

    def __init__(
        self,
        shape,
        dim: int,
        start: Poly,
        limit: Poly | Node,
        inclusive: bool,
        step: int,
        lower: bool = False,
    ):
        self.shape = tuple(shape)
        self.bounded = tuple(d == dim for d in range(len(self.shape)))
        self.dim, self.start, self.limit = dim, start, limit
        self.inclusive, self.step, self.lower = inclusive, step, lower


class AndBox(Box):
    """Both boxes: the smaller count per dimension, every guard."""

    def __init__(self, shape, a: Box, b: Box):
        self.shape = tuple(shape)
        self.bounded = tuple(x or y for x, y in zip(a.bounded, b.bounded))
        self.a, self.b = a, b


class ViewBox(Box):
    """A box seen through a view: source dimension s becomes `dims[s]`; a bounded
    source dimension the view drops or broadcasts becomes a guard (count > 0)."""

    def __init__(self, shape, inner: Box, dims: dict[int, int]):
        self.shape = tuple(shape)
        self.inner, self.dims = inner, dims
        self.bounded = tuple(
            any(inner.bounded[s] and d == t for s, t in dims.items())
            for d in range(len(self.shape))
        )


class MaskAnalysis:
    """The box of every mask a kernel uses, each decided once."""

    def __init__(self):
        self.boxes: dict[Node, Box | None] = {}
        self.full_boxes: dict[tuple[int, ...], FullBox] = {}

    def full_box(self, shape: tuple[int, ...]) -> FullBox:
        if shape not in self.full_boxes:
            self.full_boxes[shape] = FullBox(shape)
        return self.full_boxes[shape]

    def box_of(self, mask: Node | None, shape: tuple[int, ...]) -> Box | None:
        """The box `mask` lets through, or None when it is not one."""
        if mask is None:
            return self.full_box(shape)
        if mask not in self.boxes:
            self.boxes[mask] = self._box(mask)
        return self.boxes[mask]

    def _box(self, mask: Node) -> Box | None:
        shape = mask.shape
        if mask.invariant:
            return ConditionBox(mask)
        if isinstance(mask, ViewNode):
            source = mask.operands[0]
            inner = self.box_of(source, source.shape)
            if inner is None:
                return None
            dims = {}  # source dim -> the (last) view dim whose lanes run along it
            for d in range(len(shape)):
                mapped = [s for s, v in enumerate(mask.lane_map(unit_lanes(shape, d))) if v]
                if mapped:
                    dims[mapped[0]] = d
            return ViewBox(shape, inner, dims)
        if isinstance(mask, ComputeNode) and mask.op_type is arith.AndIOp:
            a, b = (self.box_of(o, shape) for o in mask.operands)
            if a is None or b is None:
                return None
            return AndBox(shape, a, b)
        if isinstance(mask, ComputeNode) and isinstance(mask.op, CMPI_OPS):
            return _bound_box(mask, shape)
        return None


MIRRORED = {"slt": "sgt", "sle": "sge", "ult": "ugt", "ule": "uge"}
MIRRORED.update({v: k for k, v in MIRRORED.items()})


def _bound_box(mask: ComputeNode, shape) -> BoundBox | None:
    """`lanes * step + start` against a lane-invariant limit along one dimension:
    `<`/`<=` bound the lanes from above, `>`/`>=` from below (either side may hold
    the lanes)."""
    predicate = arith_tensor.predicate_name(mask.op)
    lhs, rhs = mask.operands
    if lhs.invariant and not rhs.invariant and predicate in MIRRORED:
        lhs, rhs, predicate = rhs, lhs, MIRRORED[predicate]
    if predicate not in MIRRORED or not isinstance(lhs, AffineLeaf) or not rhs.invariant:
        return None
    affine = lhs.affine
    varying = [d for d in range(len(shape)) if affine.varies(d)]
    if len(varying) != 1:
        return None
    d = varying[0]
    step = affine.lanes[d].constant
    if not step:
        return None
    limit = rhs.affine.start if isinstance(rhs, AffineLeaf) else rhs
    lower = predicate[1:] in ("gt", "ge")
    inclusive = predicate[1:] in ("le", "ge")
    return BoundBox(shape, d, affine.start, limit, inclusive, step, lower)
