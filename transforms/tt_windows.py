"""
Windows: a load whose addresses are computed from the lanes by integer arithmetic
that is affine only piece by piece (a per-channel `w[(x // 256) % 32]`, a broadcast
`y[x % 512]`) reads a range of DDR whose ends its program can compute: the window. The
load moves that range into the scratchpad with one copy and gathers from there,
instead of gathering element by element from DDR. Pure analysis: `window_of` says how
the range's ends are computed; npu-lower-triton computes them and emits the copy.

    w[(x // 256) % 32], x = pid * 1024 + lanes   ->   Remainder(Quotient(Lanes(x), 256), 32)
        a program's lanes span 4 channels: lo = (pid * 1024 // 256) % 32, hi = lo + 3,
        or 0 and 31 where the channels wrap

The ends are ones a lane reads (the index is `dense`: every integer between them is
some lane's, or the ends are), so the copy reads DDR only where the kernel does, and
an index out of the buffer is still an out-of-bounds error.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith

from xnpu.transforms.builders import constant_int
from xnpu.transforms.tt_values import Affine, AffineLeaf, ComputeNode, Node, Poly

MAX_WINDOW = 16384
"""Elements a window may hold: a larger range is gathered element by element."""


@dataclass(frozen=True)
class Window:
    """How an index tree's smallest and largest value over a program's lanes are
    computed (`kind` and `parts`), a bound on how many values lie between (`size`),
    whether every integer between is some lane's (`dense`), and that none is negative."""

    kind: str
    """"lanes" (an affine value), "remainder", "quotient", "shift", or "scale"."""
    parts: tuple
    size: int
    dense: bool
    nonnegative: bool = True


def window_of(node: Node) -> Window | None:
    """The window of an integer index tree over its lanes, or None when its ends are
    not known from the lanes alone (a loaded index, a negative step, an unknown op)."""
    if isinstance(node, AffineLeaf):
        return _lanes(node.affine)
    if not isinstance(node, ComputeNode):
        return None
    kind = node.op_type
    if kind is arith.ExtSIOp:  # a widened offset keeps its values
        return window_of(node.operands[0])
    if node.expansion is not None:
        return None
    if kind in (arith.AddiOp, arith.SubiOp):
        return _shifted(node, subtract=kind is arith.SubiOp)
    constant = _positive_constant(node.operands[1]) if len(node.operands) == 2 else None
    inner = window_of(node.operands[0])
    if inner is None or constant is None:
        return None
    if (
        kind in (arith.RemSIOp, arith.RemUIOp, arith.DivSIOp, arith.DivUIOp, arith.FloorDivSIOp)
        and not inner.nonnegative
    ):
        return None  # a signed remainder or quotient of a negative value rounds the other way
    if kind in (arith.RemSIOp, arith.RemUIOp):
        if not inner.dense:
            return None
        # where the values wrap past a multiple, the range is every remainder
        return Window("remainder", (inner, constant), constant, True)
    if kind in (arith.DivSIOp, arith.DivUIOp, arith.FloorDivSIOp):
        size = (inner.size - 1) // constant + 2
        return Window("quotient", (inner, constant), size, inner.dense, inner.nonnegative)
    if kind is arith.MuliOp:
        size = (inner.size - 1) * constant + 1
        return Window(
            "scale", (inner, constant), size, inner.dense and constant == 1, inner.nonnegative
        )
    return None


def _lanes(affine: Affine) -> Window | None:
    """An affine value with constant, non-negative steps from a non-negative start."""
    if affine.start.may_be_negative:
        return None
    varying = [d for d in range(len(affine.shape)) if affine.varies(d)]
    steps = [affine.lanes[d].constant for d in varying]
    if any(step is None or step < 0 for step in steps):
        return None
    size = 1 + sum(step * (affine.shape[d] - 1) for d, step in zip(varying, steps))
    dense, stride = True, 1  # row-major over the varying dims, innermost step 1
    for d, step in reversed(list(zip(varying, steps))):
        dense = dense and step == stride
        stride *= affine.shape[d]
    return Window("lanes", (affine,), size, dense)


def _shifted(node: ComputeNode, subtract: bool) -> Window | None:
    """A window plus (or minus) a lane-invariant value."""
    a, b = node.operands
    if subtract and not b.invariant:
        return None
    varying, shift = (a, b) if b.invariant else (b, a)
    if not shift.invariant:
        return None
    inner = window_of(varying)
    if inner is None:
        return None
    nonnegative = inner.nonnegative and not subtract and _nonnegative(shift)
    return Window("shift", (inner, shift, subtract), inner.size, inner.dense, nonnegative)


def _nonnegative(node: Node) -> bool:
    return isinstance(node, AffineLeaf) and not node.affine.start.may_be_negative


def _positive_constant(node: Node) -> int | None:
    if isinstance(node, AffineLeaf) and node.affine.uniform:
        value = node.affine.start.constant
        if value is not None and value > 0:
            return value
    return None


@dataclass(frozen=True)
class Split:
    """A 1-D block's offsets that are affine piece by piece: with `L` the lanes' own
    integer (start a multiple of `period`, the block a whole number of periods),

        offset = start + row_step * (lane // period) + (lane % period)

    rows of `period` contiguous elements, `row_step` apart: one 2-D copy moves them
    (a slice `x[..., 64:]` of rows of 128 is `64 + (L % 64) + 128 * (L // 64)`)."""

    start: Poly
    period: int
    row_step: Poly


@dataclass(frozen=True)
class _Linear:
    """offset = constant + lane * l + quotient * (L // c) + remainder * (L % c)."""

    constant: Poly
    lane: Poly
    quotient: Poly = Poly()
    remainder: Poly = Poly()
    lanes_value: Affine | None = None
    period: int | None = None

    def scaled(self, k: int) -> _Linear:
        return _Linear(self.constant.scaled(k), self.lane.scaled(k), self.quotient.scaled(k),
                       self.remainder.scaled(k), self.lanes_value, self.period)  # fmt: skip

    def plus(self, other: _Linear) -> _Linear | None:
        if None not in (self.period, other.period) and (
            self.period != other.period or self.lanes_value != other.lanes_value
        ):
            return None
        return _Linear(
            self.constant + other.constant, self.lane + other.lane,
            self.quotient + other.quotient, self.remainder + other.remainder,
            self.lanes_value or other.lanes_value, self.period or other.period,
        )  # fmt: skip


def split_of(node: Node) -> Split | None:
    """The Split of a 1-D block's offsets, or None (see Split)."""
    if len(node.shape) != 1:
        return None
    linear = _linear(node)
    if linear is None or linear.period is None:
        return None
    c, origin = linear.period, expanded(linear.lanes_value.start)
    if node.shape[0] % c or origin.may_be_negative or any(k % c for k, _ in origin.terms):
        return None
    # L // c = origin / c + lane // c, L % c = lane % c, lane = c * (lane // c) + lane % c
    inner = linear.lane + linear.remainder
    if inner.constant != 1:
        return None
    whole = Poly(tuple((k // c, m) for k, m in origin.terms))
    start = linear.constant + linear.quotient * whole
    return Split(start, c, linear.lane.scaled(c) + linear.quotient)


def _linear(node: Node) -> _Linear | None:
    if isinstance(node, AffineLeaf):
        affine = node.affine
        if len(affine.shape) != 1:
            return None
        return _Linear(affine.start, affine.lanes[0] if affine.varies(0) else Poly())
    if not isinstance(node, ComputeNode):
        return None
    kind = node.op_type
    if kind is arith.ExtSIOp:
        return _linear(node.operands[0])
    if node.expansion is not None or len(node.operands) != 2:
        return None
    a, b = node.operands
    if kind in (arith.AddiOp, arith.SubiOp):
        left, right = _linear(a), _linear(b)
        if left is None or right is None:
            return None
        return left.plus(right.scaled(-1) if kind is arith.SubiOp else right)
    if kind is arith.MuliOp:
        for value, factor in ((a, b), (b, a)):
            k = _positive_constant(factor)
            inner = _linear(value) if k is not None else None
            if inner is not None:
                return inner.scaled(k)
        return None
    c = _positive_constant(b)
    lanes = a.affine if isinstance(a, AffineLeaf) and len(a.shape) == 1 else None
    if c is None or lanes is None or lanes.lanes[0].constant != 1:
        return None
    if kind in (arith.RemSIOp, arith.RemUIOp):
        return _Linear(Poly(), Poly(), remainder=Poly.of(1), lanes_value=lanes, period=c)
    if kind in (arith.DivSIOp, arith.DivUIOp, arith.FloorDivSIOp):
        return _Linear(Poly(), Poly(), quotient=Poly.of(1), lanes_value=lanes, period=c)
    return None


def expanded(poly: Poly) -> Poly:
    """`poly` with each scalar that is another times a constant (`pid * BLOCK`, a
    block's start) written as that product, so its factors show."""
    terms = []
    for coefficient, monomial in poly.terms:
        factor, kept = coefficient, []
        for symbol in monomial:
            owner = symbol.owner
            if isinstance(owner, arith.MuliOp):
                constants = [constant_int(v) for v in owner.operands]
                if constants[1] is not None or constants[0] is not None:
                    k, other = (
                        (constants[1], owner.lhs)
                        if constants[1] is not None
                        else (constants[0], owner.rhs)
                    )
                    factor *= k
                    kept.append(other)
                    continue
            kept.append(symbol)
        terms.append((factor, tuple(kept)))
    return Poly(tuple(terms)).simplified()
