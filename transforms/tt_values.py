"""
The value model npu-lower-triton's analysis gives a `tt` kernel (tt_analysis.py): what
a tt value is to the lowering, as typed data that builds no IR.

    %offs = tt.make_range {start = 0, end = 1024}    Affine: lane + 0
    %p = tt.addptr %x_splat, %offs                   Pointer(%x, Affine)
    %v = tt.load %p, %m                              LoadLeaf
    %e = math.erf %v                                 ComputeNode(erf, [LoadLeaf])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from xnpu.dialects import tt
from xnpu.dialects.location import at_location


class LoweringError(DiagnosticException):
    """A kernel npu-lower-triton cannot lower; the message names the op and where."""


def fail(op: Operation, message: str) -> LoweringError:
    return LoweringError(f"npu-lower-triton: {message}: '{op.name}'{at_location(op)}")


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
    def start(self) -> Affine:
        """The lane-0 value, as an Affine with no lane terms."""
        return self.reshaped(self.shape, (0,) * len(self.shape))

    @property
    def constant(self) -> int | None:
        if all(v is None for _, v in self.terms) and not any(self.lanes):
            return sum(c for c, _ in self.terms)
        return None


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
        super().__init__(affine.shape, affine.type, invariant=not any(affine.lanes))
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


class ComputeNode(Node):
    """An element-wise arith/math op (or a libdevice call) on its operand nodes."""

    def __init__(
        self, op: Operation, operands: Sequence[Node], op_type: type[Operation], element=None
    ):
        super().__init__(
            tt.shape_of(op.results[0].type),
            element or tt.element_of(op.results[0].type),
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


@dataclass(frozen=True)
class ScalarOp:
    """A scalar arith/math op or program-id query, cloned into the program loop."""

    op: Operation


@dataclass(frozen=True)
class ScalarLoad:
    """A scalar `tt.load` from `pointer`."""

    op: tt.LoadOp
    pointer: Pointer


Value = Affine | Pointer | Node | ScalarOp | ScalarLoad
"""What a tt value is to the lowering."""


def unit_lanes(shape: Sequence[int], d: int) -> list[int]:
    return [1 if e == d else 0 for e in range(len(shape))]
