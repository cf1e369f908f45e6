"""`math` on numpy scalars and arrays (erf of arrays through torch: numpy has none)."""

from __future__ import annotations

import math as pymath
from collections.abc import Callable

import numpy as np
from xdsl.dialects import math
from xdsl.interpreter import InterpreterFunctions, impl, register_impls

from xnpu.interpreters.values import rounding_of


def _erf(x):
    if isinstance(x, np.ndarray):
        # torch (about 1.4 s to import) loads on the first array erf a kernel runs,
        # not when the interpreter is imported
        import torch

        return torch.from_numpy(np.ascontiguousarray(x)).erf().numpy()
    return type(x)(pymath.erf(x))


def _round_half_away(x):
    """C's round(): halves go away from zero (numpy's round goes to even)."""
    whole = np.trunc(x)
    return np.where(np.abs(x - whole) >= 0.5, whole + np.sign(x), whole).astype(x.dtype)


def _scalar_or_array(function: Callable) -> Callable:
    """`function` on arrays, and on numpy scalars keeping their type."""

    def apply(*args):
        result = function(*(np.asarray(a) for a in args))
        return result if isinstance(args[0], np.ndarray) else type(args[0])(result)

    return apply


UNARY: dict[type, Callable] = {
    math.ExpOp: np.exp,
    math.Exp2Op: np.exp2,
    math.ExpM1Op: np.expm1,
    math.LogOp: np.log,
    math.Log2Op: np.log2,
    math.Log10Op: np.log10,
    math.Log1pOp: np.log1p,
    math.TanhOp: np.tanh,
    math.SinhOp: np.sinh,
    math.CoshOp: np.cosh,
    math.AsinhOp: np.arcsinh,
    math.AcoshOp: np.arccosh,
    math.AtanhOp: np.arctanh,
    math.SqrtOp: np.sqrt,
    math.RsqrtOp: lambda x: np.reciprocal(np.sqrt(x)),
    math.CbrtOp: np.cbrt,
    math.ErfOp: _erf,
    math.AbsFOp: np.abs,
    math.FloorOp: np.floor,
    math.CeilOp: np.ceil,
    math.TruncOp: np.trunc,
    math.RoundEvenOp: np.rint,
    math.RoundOp: _scalar_or_array(_round_half_away),
    math.SinOp: np.sin,
    math.CosOp: np.cos,
    math.TanOp: np.tan,
    math.AsinOp: np.arcsin,
    math.AcosOp: np.arccos,
    math.AtanOp: np.arctan,
}
BINARY: dict[type, Callable] = {
    math.PowFOp: np.power,
    math.CopySignOp: np.copysign,
    math.Atan2Op: np.arctan2,
}


@register_impls
class XnpuMathFunctions(InterpreterFunctions):
    """The math functions the lowering emits, on scalars and arrays."""


def _run(function: Callable):
    def run(self, interpreter, op, args):
        rounding = rounding_of(op.results[0].type)
        result = function(*args)
        return (result if rounding is None else rounding(result),)

    return run


for _op_type, _function in (UNARY | BINARY).items():
    setattr(XnpuMathFunctions, f"run_{_op_type.__name__}", impl(_op_type)(_run(_function)))
register_impls(XnpuMathFunctions)
