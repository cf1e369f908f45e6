"""
Reduction combiners: the `arith` ops that may combine a reduction's elements, in one
table with what every layer needs to know of them. Not a dialect.

* npu-lower-triton lowers a `tt.reduce` whose region is one of these ops to that op;
* npu-vectorize gives an accumulator of one of them a vector of partial results that
  starts at `identity` and ends in one `vector.reduction` of `kind`;
* the interpreter reduces a loop's accumulator at once with `ufunc` (and a
  `vector.reduction` of `kind` likewise).

    scf.for ... iter_args(%acc = %init) {  %next = arith.addf %acc, %x : f32
                                           scf.yield %next : f32 }
        accumulator_combiner(body, 0) -> the arith.addf
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import AnyFloat, FloatAttr, IntegerAttr
from xdsl.dialects.vector import CombiningKindFlag
from xdsl.ir import Attribute, Block, Operation


@dataclass(frozen=True)
class Combiner:
    kind: CombiningKindFlag
    """The `vector.reduction` kind that reduces a vector of partial results."""
    ufunc: np.ufunc
    """Reduces many elements at once (integers are held as the signed values they
    are, as the interpreter's integer ops hold them)."""
    identity: float | int | None
    """What partial results start from; None where it is a type's extreme (signed
    and unsigned max/min), so such accumulators stay scalar."""


_INF = float("inf")

COMBINERS: dict[type[Operation], Combiner] = {
    arith.AddfOp: Combiner(CombiningKindFlag.ADD, np.add, 0.0),
    arith.MulfOp: Combiner(CombiningKindFlag.MUL, np.multiply, 1.0),
    arith.MaximumfOp: Combiner(CombiningKindFlag.MAXIMUMF, np.maximum, -_INF),
    arith.MinimumfOp: Combiner(CombiningKindFlag.MINIMUMF, np.minimum, _INF),
    # maxnum/minnum ignore a NaN operand: NaN is their identity (all-NaN stays NaN)
    arith.MaxnumfOp: Combiner(CombiningKindFlag.MAXNUMF, np.fmax, float("nan")),
    arith.MinnumfOp: Combiner(CombiningKindFlag.MINNUMF, np.fmin, float("nan")),
    arith.AddiOp: Combiner(CombiningKindFlag.ADD, np.add, 0),
    arith.MuliOp: Combiner(CombiningKindFlag.MUL, np.multiply, 1),
    arith.AndIOp: Combiner(CombiningKindFlag.AND, np.bitwise_and, -1),
    arith.OrIOp: Combiner(CombiningKindFlag.OR, np.bitwise_or, 0),
    arith.XOrIOp: Combiner(CombiningKindFlag.XOR, np.bitwise_xor, 0),
    arith.MaxSIOp: Combiner(CombiningKindFlag.MAXSI, np.maximum, None),
    arith.MinSIOp: Combiner(CombiningKindFlag.MINSI, np.minimum, None),
    arith.MaxUIOp: Combiner(CombiningKindFlag.MAXUI, np.maximum, None),
    arith.MinUIOp: Combiner(CombiningKindFlag.MINUI, np.minimum, None),
}


def identity_attribute(combiner: type[Operation], element: Attribute) -> Attribute | None:
    """The combiner's identity as a constant of `element`, or None when it has none."""
    identity = COMBINERS[combiner].identity
    if identity is None:
        return None
    if isinstance(element, AnyFloat):
        return FloatAttr(identity, element)
    return IntegerAttr(identity, element)


UFUNC_BY_KIND: dict[str, np.ufunc] = {c.kind.value: c.ufunc for c in COMBINERS.values()}
"""`vector.reduction` kind -> the ufunc that reduces it."""


def _running_combiner(body: Block, index: int) -> Operation | None:
    """The op of COMBINERS the loop `body` yields for carried value `index` (block
    arguments: the induction variable, then the carried values), using that value once."""
    acc = body.args[index + 1]
    combiner = body.last_op.operands[index].owner
    if not isinstance(combiner, Operation) or type(combiner) not in COMBINERS:
        return None
    if acc not in combiner.operands or acc.uses.get_length() != 1:
        return None
    return combiner


def accumulator_combiner(body: Block, index: int) -> Operation | None:
    """The combiner of loop-carried value `index`, when it is an accumulator: its
    running value is used by nothing but the yield. None otherwise."""
    combiner = _running_combiner(body, index)
    if combiner is None or combiner.results[0].uses.get_length() != 1:
        return None
    return combiner


def scan_combiner(body: Block, index: int) -> Operation | None:
    """The combiner of loop-carried value `index`, when it is a scan: the loop also
    stores every running value (`%s = addf %acc, %x`, stored at `%i` and yielded).
    None otherwise."""
    combiner = _running_combiner(body, index)
    if combiner is None:
        return None
    running = combiner.results[0]
    others = [use.operation for use in running.uses if use.operation is not body.last_op]
    if not others or not all(isinstance(o, memref.StoreOp) and o.value is running for o in others):
        return None
    return combiner
