"""
The value model npu-lower-triton's analysis gives a `tt` kernel (tt_analysis.py): what
a tt value is to the lowering, as typed data that builds no IR.

    %offs = tt.make_range {start = 0, end = 1024}    Affine: lane + 0
    %p = tt.addptr %x_splat, %offs                   Pointer(%x, Affine)
    %v = tt.load %p, %m                              LoadLeaf
    %e = math.erf %v                                 ComputeNode(erf, [LoadLeaf])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

from xdsl.dialects import scf
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from xnpu.dialects import tt
from xnpu.dialects.location import at_location
from xnpu.transforms.libdevice import Expansion


class LoweringError(DiagnosticException):
    """A kernel npu-lower-triton cannot lower; the message names the op and where."""


def fail(op: Operation, message: str) -> LoweringError:
    return LoweringError(f"npu-lower-triton: {message}: '{op.name}'{at_location(op)}")


Monomial = tuple[SSAValue, ...]
"""A product of scalar tt values (kernel arguments, program ids...); () is 1."""


@dataclass(frozen=True)
class Poly:
    """A lane-invariant integer `sum(coef * monomial)`: symbolic in the kernel's
    scalars, e.g. `pid * 1024` or `pid * BLOCK_M * stride_xm` (a runtime row stride)."""

    terms: tuple[tuple[int, Monomial], ...] = ()

    @staticmethod
    def of(constant: int = 0, value: SSAValue | None = None) -> Poly:
        """`constant`, or `constant * value`."""
        return Poly(((constant, () if value is None else (value,)),)).simplified()

    def simplified(self) -> Poly:
        """Equal monomials merged (factors in any order), zero terms dropped."""
        merged: dict[frozenset, list] = {}
        for coef, monomial in self.terms:
            key = frozenset(Counter(monomial).items())
            if key in merged:
                merged[key][0] += coef
            else:
                merged[key] = [coef, monomial]
        return Poly(tuple((c, m) for c, m in merged.values() if c))

    def __add__(self, other: Poly) -> Poly:
        return Poly(self.terms + other.terms).simplified()

    def __mul__(self, other: Poly) -> Poly:
        return Poly(
            tuple((a * b, m + n) for a, m in self.terms for b, n in other.terms)
        ).simplified()

    def scaled(self, k: int) -> Poly:
        return Poly(tuple((c * k, m) for c, m in self.terms)).simplified()

    @property
    def constant(self) -> int | None:
        """Its value when it holds no scalar, else None."""
        if all(not m for _, m in self.terms):
            return sum(c for c, _ in self.terms)
        return None

    @property
    def may_be_negative(self) -> bool:
        """Whether it can be below zero, its scalars (sizes, strides, program ids)
        taken as non-negative: some coefficient is."""
        return any(c < 0 for c, _ in self.terms)

    @property
    def key(self) -> frozenset:
        """Equal for equal polynomials, however their terms are written."""
        return frozenset((frozenset(Counter(m).items()), c) for c, m in self.terms)


@dataclass(frozen=True)
class Affine:
    """An integer tensor `start + sum(lanes[d] * lane index d)`, with `start` and the
    lane coefficients lane-invariant `Poly`s (a runtime row stride is a coefficient)."""

    shape: tuple[int, ...]
    start: Poly
    lanes: tuple[Poly, ...]
    type: Attribute

    @staticmethod
    def invariant(shape: tuple[int, ...], start: Poly, type: Attribute) -> Affine:
        """The same value in every lane."""
        return Affine(shape, start, (Poly(),) * len(shape), type)

    def scaled(self, k: int) -> Affine:
        return self.times(Poly.of(k))

    def times(self, factor: Poly) -> Affine:
        lanes = tuple(c * factor for c in self.lanes)
        return Affine(self.shape, self.start * factor, lanes, self.type)

    def plus(self, other: Affine) -> Affine:
        lanes = tuple(a + b for a, b in zip(self.lanes, other.lanes))
        return Affine(self.shape, self.start + other.start, lanes, self.type)

    def reshaped(self, shape: tuple[int, ...], lanes: tuple[Poly, ...]) -> Affine:
        return Affine(shape, self.start, lanes, self.type)

    def retyped(self, type: Attribute) -> Affine:
        return Affine(self.shape, self.start, self.lanes, type)

    def varies(self, d: int) -> bool:
        """Whether lanes along `d` differ (a non-zero coefficient)."""
        return self.shape[d] != 1 and bool(self.lanes[d].terms)

    @property
    def uniform(self) -> bool:
        """The same value in every lane."""
        return not any(self.varies(d) for d in range(len(self.shape)))


class Node:
    """An element-wise tensor value, as a tree evaluated lane by lane in loops."""

    def __init__(self, shape, element: Attribute, operands: Sequence[Node] = (), invariant=False):
        self.shape: tuple[int, ...] = tuple(shape)
        self.element = element
        self.operands: tuple[Node, ...] = tuple(operands)
        self.invariant = invariant
        """The same for every lane: computed once per program, outside the loops."""


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
        super().__init__(affine.shape, affine.type, invariant=affine.uniform)
        self.affine = affine


@dataclass(frozen=True)
class Pointer:
    """`base + offset`: a kernel argument and an Affine (or, for gathers, a Node)."""

    base: BlockArgument
    offset: Affine | Node


class LoadLeaf(Node):
    """A tt.load: from a scratchpad tile (`tile_dims` set) or gathered from DDR."""

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
        self.tile_dims: list[int] | None = None
        """The dimensions its scratchpad tile holds; None for a gather."""
        self.window = None
        """For a gather, the range it reads as one copy (tt_windows.Window), if known."""
        self.split = None
        """For offsets affine piece by piece, their rows (tt_windows.Split): a 2-D copy."""
        self.gathered_because: str | None = None


class ComputeNode(Node):
    """An element-wise arith/math op (or a libdevice call) on its operand nodes; with an
    `op_type` other than the op's own, that op computes `op`'s result `result` (a
    pointer offset's addition, an scf.if's select)."""

    def __init__(
        self,
        op: Operation,
        operands: Sequence[Node],
        op_type: type[Operation],
        element=None,
        expansion: Expansion | None = None,
        result: int = 0,
    ):
        super().__init__(
            tt.shape_of(op.results[result].type),
            element or tt.element_of(op.results[result].type),
            operands,
            invariant=all(o.invariant for o in operands),
        )
        self.op = op
        self.op_type = op_type
        self.expansion = expansion
        """How a libdevice call is computed (libdevice.py)."""


class ViewNode(Node):
    """broadcast / expand_dims / reshape of a node: lanes map to source lanes."""

    def __init__(self, src: Node, shape: tuple[int, ...], lane_map: Callable):
        super().__init__(shape, src.element, (src,), invariant=src.invariant)
        self.lane_map = lane_map


class ReshapeNode(Node):
    """A reshape that regroups lanes (not only size-1 dims): result lanes name a
    row-major flat position, which names the source's lanes.

        tt.reshape %x : tensor<32xf32> -> tensor<16x2xf32>   lane (i, j) is x's lane 2i + j"""

    def __init__(self, src: Node, shape: tuple[int, ...]):
        super().__init__(shape, src.element, (src,), invariant=src.invariant)


class JoinNode(Node):
    """`tt.join %a, %b`: a new last dim of 2 holding `a` at lane 0 and `b` at lane 1."""

    def __init__(self, a: Node, b: Node, shape: tuple[int, ...]):
        super().__init__(shape, a.element, (a, b), invariant=a.invariant and b.invariant)


class DotNode(Node):
    """`tt.dot`: at lane (..., i, j) its accumulator's lane plus the sum over k of `a`
    at (..., i, k) times `b` at (..., k, j), in the result's element type."""

    def __init__(self, op: tt.DotOp, a: Node, b: Node, acc: Node):
        super().__init__(tt.shape_of(op.result.type), tt.element_of(op.result.type), (a, b, acc))
        self.op = op

    @property
    def depth(self) -> int:
        """The k extent: how many products each lane sums."""
        return self.operands[0].shape[-1]


class ReducedLeaf(Node):
    """Result `index` of a tt.reduce: a scalar, or a tile when more than one remains."""

    def __init__(self, op: tt.ReduceOp, shape, index: int = 0):
        element = tt.element_of(op.results[index].type)
        super().__init__(shape, element, invariant=prod(shape) == 1)
        self.op, self.index = op, index


class ScannedLeaf(Node):
    """Result `index` of a tt.scan: a tile of prefix combinations."""

    def __init__(self, op: tt.ScanOp, index: int):
        result = op.results[index]
        super().__init__(tt.shape_of(result.type), tt.element_of(result.type))
        self.op, self.index = op, index


class CarriedLeaf(Node):
    """Tensor `index` an scf.for of the kernel carries: its value in the loop's body
    (`in_body`) or the loop's result. Both are read from the loop's carry tile."""

    def __init__(self, loop: scf.ForOp, index: int, in_body: bool):
        result = loop.results[index]
        shape = tt.shape_of(result.type)
        super().__init__(shape, tt.element_of(result.type), invariant=prod(shape) == 1)
        self.loop, self.index, self.in_body = loop, index, in_body


@dataclass(frozen=True)
class ScalarOp:
    """A scalar arith/math op or program-id query, cloned into the program loop."""

    op: Operation


@dataclass(frozen=True)
class ScalarLoad:
    """A scalar `tt.load` from `pointer` (under the op's scalar mask, if it has one:
    a masked-off load reads nothing and gives `other`, or zero)."""

    op: tt.LoadOp
    pointer: Pointer


Value = Affine | Pointer | Node | ScalarOp | ScalarLoad
"""What a tt value is to the lowering."""


def unit_lanes(shape: Sequence[int], d: int) -> list[int]:
    return [1 if e == d else 0 for e in range(len(shape))]
