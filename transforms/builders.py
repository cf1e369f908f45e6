"""
IR-building helpers every xnpu pass shares: constants made once per insertion point,
and reading a constant back.

    constants = Constants(rewriter, InsertPoint.before(loop))
    c32 = constants.index(32)        # one `arith.constant 32 : index` before the loop,
    c32 is constants.index(32)       # reused by every later request
"""

from __future__ import annotations

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, IntegerType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint

INDEX = IndexType()


class Constants:
    """`arith.constant`s inserted at `point` through `builder` the first time each
    (value, type) is asked for, then reused."""

    def __init__(self, builder: Builder, point: InsertPoint):
        self.builder = builder
        self.point = point
        self.made: dict[tuple[int | float, Attribute], SSAValue] = {}

    def get(self, value: int | float, type: Attribute) -> SSAValue:
        key = (value, type)
        if key not in self.made:
            if isinstance(type, IntegerType | IndexType):
                attr = IntegerAttr(int(value), type)
            else:
                attr = FloatAttr(float(value), type)
            self.made[key] = self.builder.insert(arith.ConstantOp(attr, type), self.point).result
        return self.made[key]

    def index(self, value: int) -> SSAValue:
        return self.get(value, INDEX)


def constant_int(value: SSAValue) -> int | None:
    """The integer an `arith.constant` defines, or None for any other value."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def static_range(value: SSAValue) -> tuple[int | None, int | None]:
    """Bounds (low, high) on an index from constants and the clamps the lowering builds
    (`minsi(maxsi(n - start, 0), BLOCK)`, selects between such): None where unknown."""
    known = constant_int(value)
    if known is not None:
        return known, known
    op = value.owner
    if isinstance(op, arith.MinSIOp | arith.MinUIOp | arith.MaxSIOp | arith.MaxUIOp):
        (low_a, high_a), (low_b, high_b) = static_range(op.lhs), static_range(op.rhs)
        if isinstance(op, arith.MinSIOp | arith.MinUIOp):
            lows = None if None in (low_a, low_b) else min(low_a, low_b)
            highs = [h for h in (high_a, high_b) if h is not None]
            return lows, min(highs) if highs else None
        lows = [low for low in (low_a, low_b) if low is not None]
        return max(lows) if lows else None, None if None in (high_a, high_b) else max(
            high_a, high_b
        )
    if isinstance(op, arith.IndexCastOp):
        return static_range(op.input)
    if isinstance(
        op, arith.AddiOp | arith.SubiOp | arith.MuliOp | arith.DivUIOp | arith.CeilDivUIOp
    ):
        (low_a, high_a), (low_b, high_b) = static_range(op.lhs), static_range(op.rhs)
        return _interval(type(op), low_a, high_a, low_b, high_b)
    if isinstance(op, arith.SelectOp):
        (low_a, high_a), (low_b, high_b) = static_range(op.lhs), static_range(op.rhs)
        low = None if None in (low_a, low_b) else min(low_a, low_b)
        high = None if None in (high_a, high_b) else max(high_a, high_b)
        return low, high
    return None, None


def _interval(kind, low_a, high_a, low_b, high_b) -> tuple[int | None, int | None]:
    """Interval arithmetic on (low, high) bounds, for the non-negative indices of
    loop bounds (a product or quotient of unknown sign is unknown)."""

    def both(x, y, f):
        return None if x is None or y is None else f(x, y)

    if kind is arith.AddiOp:
        return both(low_a, low_b, int.__add__), both(high_a, high_b, int.__add__)
    if kind is arith.SubiOp:
        return both(low_a, high_b, int.__sub__), both(high_a, low_b, int.__sub__)
    if low_a is None or low_b is None or low_a < 0 or low_b < 0:
        return None, None
    if kind is arith.MuliOp:
        return low_a * low_b, both(high_a, high_b, int.__mul__)
    if kind is arith.DivUIOp:
        low = low_a // high_b if high_b else None
        return low, high_a // low_b if high_a is not None and low_b else None
    low = -(-low_a // high_b) if high_b else None  # ceildivui
    return low, -(-high_a // low_b) if high_a is not None and low_b else None


def located(op: Operation, source: Operation) -> Operation:
    """`op` at the source location of the tt op it does the work of (for remarks)."""
    op.location = source.location
    return op
