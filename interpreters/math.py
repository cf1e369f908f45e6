"""`math` on numpy scalars and arrays (numpy has no erf: `_erf` is numpy's own, so
running a kernel on numpy arrays never imports torch)."""

from __future__ import annotations

import functools
import math as pymath
from collections.abc import Callable

import numpy as np
from xdsl.dialects import math
from xdsl.interpreter import InterpreterFunctions, impl, register_impls

from xnpu.interpreters.simulator.values import rounding_of

_ERF_TABLE_END = 4.0
"""Past it float32's erf is 1 (erfc(4) = 1.5e-8, under half of float32's step below 1)."""

_ERF_INTERVALS = 2048


@functools.cache
def _erf_cubics() -> np.ndarray:
    """erf on [0, 4] as one cubic in u per interval (u in [0, 1) across it): the cubic
    through erf and its derivative at both ends (Hermite), error under 3e-13. Then a
    last entry, erf = 1, for everything past the end. One row per interval: the
    coefficients of u^3, u^2, u^1, u^0 (Horner's order)."""
    step = _ERF_TABLE_END / _ERF_INTERVALS
    points = np.arange(_ERF_INTERVALS + 1) * step
    value = np.array([pymath.erf(p) for p in points])
    slope = 2 / pymath.sqrt(pymath.pi) * np.exp(-(points**2)) * step  # d erf / du
    v0, v1, s0, s1 = value[:-1], value[1:], slope[:-1], slope[1:]
    cubics = np.stack([2 * (v0 - v1) + s0 + s1, 3 * (v1 - v0) - 2 * s0 - s1, s0, v0], axis=1)
    return np.vstack([cubics, [0.0, 0.0, 0.0, 1.0]])


def _erf_array(x: np.ndarray) -> np.ndarray:
    """erf elementwise, from a table of cubics evaluated in float64: float32 (and
    narrower) results are the correctly rounded erf (test_interpreter checks them
    against Python's math.erf). float64 arrays go through math.erf itself.

    The interval and the position in it are exact in float32 (|x| times a power of
    two, then its fractional part), so only the cubic itself needs float64."""
    if x.dtype == np.float64:
        return np.frompyfunc(pymath.erf, 1, 1)(x).astype(np.float64)
    position = np.abs(x).astype(np.float32, copy=False)
    np.fmin(position, _ERF_TABLE_END, out=position)  # NaN goes past the end too
    position *= _ERF_INTERVALS / _ERF_TABLE_END
    interval = position.astype(np.intp)
    u = position.astype(np.float64)
    u -= interval
    cubic = _erf_cubics().take(interval, axis=0)  # one gather for all four coefficients
    result = cubic[..., 0] * u
    for power in (1, 2, 3):
        result += cubic[..., power]
        if power < 3:
            result *= u
    result = result.astype(x.dtype)
    np.copysign(result, x, out=result)
    result[np.isnan(x)] = np.nan
    return result


def _erf(x):
    if isinstance(x, np.ndarray):
        return _erf_array(x)
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
register_impls(XnpuMathFunctions)  # once its implementations are all set
