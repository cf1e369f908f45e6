"""`math` on numpy scalars and arrays (numpy has no erf: `_erf` is numpy's own, so
running a kernel on numpy arrays never imports torch)."""

from __future__ import annotations

import math as pymath
from collections.abc import Callable

import numpy as np
from numpy.polynomial import Chebyshev, Polynomial
from xdsl.dialects import math
from xdsl.interpreter import InterpreterFunctions, impl, register_impls

from xnpu.interpreters.values import rounding_of


def _interpolated(function: Callable[[float], float], degree: int, low: float, high: float):
    """`function` on [low, high] as monomial coefficients (lowest first) of its Chebyshev
    interpolant of `degree`."""
    interpolant = Chebyshev.interpolate(
        np.vectorize(function), degree, domain=[low, high]
    )  # fmt: skip
    return interpolant.convert(kind=Polynomial).coef


_ERF_TAIL_END = 6.0
"""Past it erf(x) rounds to 1 in float64 (erfc(6) = 2e-17)."""

_ERF_NEAR_ZERO = _interpolated(
    lambda z: pymath.erf(pymath.sqrt(z)) / pymath.sqrt(z) if z else 2 / pymath.sqrt(pymath.pi),
    10, 0.0, 1.0,
)  # fmt: skip
"""erf(a) / a as a polynomial in a^2, for 0 <= a < 1."""

_ERFC_TAIL = _interpolated(
    lambda u: pymath.erfc(1 / u) * pymath.exp(1 / u**2) / u, 18, 1 / _ERF_TAIL_END, 1.0
)
"""erfc(a) exp(a^2) a as a polynomial in 1/a, for 1 <= a < 6."""


def _horner(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    result = np.full_like(x, coefficients[-1])
    for coefficient in coefficients[-2::-1]:
        result *= x
        result += coefficient
    return result


def _erf_array(x: np.ndarray) -> np.ndarray:
    """erf elementwise, evaluated in float64 to about 1e-13: float32 (and narrower)
    results are the correctly rounded erf (test_interpreter checks against Python's
    math.erf). float64 arrays go through math.erf itself."""
    if x.dtype == np.float64:
        return np.frompyfunc(pymath.erf, 1, 1)(x).astype(np.float64)
    a = np.abs(x.astype(np.float64))
    result = np.where(np.isnan(a), np.nan, 1.0)
    near_zero = a < 1
    small = a[near_zero]
    result[near_zero] = small * _horner(_ERF_NEAR_ZERO, small * small)
    in_tail = (a >= 1) & (a < _ERF_TAIL_END)
    large = a[in_tail]
    result[in_tail] = 1 - np.exp(-large * large) / large * _horner(_ERFC_TAIL, 1 / large)
    return np.copysign(result, x).astype(x.dtype)


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
