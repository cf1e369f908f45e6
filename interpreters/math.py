"""`math` on numpy scalars and arrays (erf of arrays through torch: numpy has none)."""

from __future__ import annotations

import math as pymath
from collections.abc import Callable

import numpy as np
from xdsl.dialects import math
from xdsl.interpreter import InterpreterFunctions, impl, register_impls


def _erf(x):
    if isinstance(x, np.ndarray):
        # torch (about 1.4 s to import) loads on the first array erf a kernel runs,
        # not when the interpreter is imported
        import torch

        return torch.from_numpy(np.ascontiguousarray(x)).erf().numpy()
    return type(x)(pymath.erf(x))


UNARY: dict[type, Callable] = {
    math.ExpOp: np.exp,
    math.Exp2Op: np.exp2,
    math.LogOp: np.log,
    math.Log2Op: np.log2,
    math.TanhOp: np.tanh,
    math.SqrtOp: np.sqrt,
    math.RsqrtOp: lambda x: np.reciprocal(np.sqrt(x)),
    math.ErfOp: _erf,
    math.AbsFOp: np.abs,
    math.FloorOp: np.floor,
    math.CeilOp: np.ceil,
    math.SinOp: np.sin,
    math.CosOp: np.cos,
}
BINARY: dict[type, Callable] = {math.PowFOp: np.power, math.CopySignOp: np.copysign}


@register_impls
class XnpuMathFunctions(InterpreterFunctions):
    """The math functions the lowering emits, on scalars and arrays."""


def _run(function: Callable):
    def run(self, interpreter, op, args):
        return (function(*args),)

    return run


for _op_type, _function in (UNARY | BINARY).items():
    setattr(XnpuMathFunctions, f"run_{_op_type.__name__}", impl(_op_type)(_run(_function)))
register_impls(XnpuMathFunctions)
