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
from xdsl.ir import Attribute, SSAValue
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
