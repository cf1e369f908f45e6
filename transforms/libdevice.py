"""
libdevice functions (Triton's `tt.extern_elementwise`, `__nv_<name>[f|d]`) as the ops
npu-lower-triton emits for them: a `math` op where the dialect has one, else an
expansion into arith/math ops, so that every function runs on the interpreter and is
costed from the ops it becomes (op_costs.py prices each op).

    tt.extern_elementwise %x {symbol = "__nv_log1pf"}     ==>   math.log1p %x
    tt.extern_elementwise %x {symbol = "__nv_isnanf"}     ==>   arith.cmpf uno %x, %x
                                                                arith.extui ... to i32

`LIBDEVICE` is the one table: every function Inductor emits for aten's pointwise ops
(torch/_inductor/codegen/triton.py), and the ones Triton's `tl.math` names.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    AnyFloat,
    Float32Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue

from xnpu.dialects import arith_tensor, tt

Emit = Callable[[Operation], SSAValue]
"""Inserts an op where the function is being computed and returns its result."""

Expansion = Callable[[Emit, Sequence[SSAValue]], SSAValue]


class _Ops:
    """Builders for an expansion on one float type."""

    def __init__(self, emit: Emit, type: Attribute):
        self.emit, self.type = emit, type

    def const(self, value: float) -> SSAValue:
        return self.emit(arith.ConstantOp(FloatAttr(value, self.type)))

    def add(self, a, b):
        return self.emit(arith.AddfOp(a, b))

    def sub(self, a, b):
        return self.emit(arith.SubfOp(a, b))

    def mul(self, a, b):
        return self.emit(arith.MulfOp(a, b))

    def div(self, a, b):
        return self.emit(arith.DivfOp(a, b))

    def cmp(self, a, b, predicate: str):
        return self.emit(arith.CmpfOp(a, b, predicate))

    def select(self, condition, a, b):
        return self.emit(arith.SelectOp(condition, a, b))

    def polynomial(self, x: SSAValue, coefficients: Sequence[float]) -> SSAValue:
        """Horner's rule, highest coefficient first."""
        total = self.const(coefficients[0])
        for c in coefficients[1:]:
            total = self.add(self.mul(total, x), self.const(c))
        return total


def _bits(type: Attribute) -> IntegerType:
    assert isinstance(type, AnyFloat)
    return IntegerType(type.bitwidth)


def _to_i32(emit: Emit, flag: SSAValue) -> SSAValue:
    return emit(arith.ExtUIOp(flag, i32))


def _isnan(emit: Emit, args) -> SSAValue:
    (x,) = args
    return _to_i32(emit, emit(arith.CmpfOp(x, x, "uno")))


def _isinf(emit: Emit, args) -> SSAValue:
    (x,) = args
    ops = _Ops(emit, x.type)
    return _to_i32(emit, ops.cmp(emit(math.AbsFOp(x)), ops.const(pymath.inf), "oeq"))


def _signbit(emit: Emit, args) -> SSAValue:
    """The sign bit, of -0.0 and NaNs too: the top bit of the float's bits."""
    (x,) = args
    bits = _bits(x.type)
    raw = emit(arith.BitcastOp(x, bits))
    negative = emit(arith.CmpiOp(raw, emit(arith.ConstantOp(IntegerAttr(0, bits))), "slt"))
    return _to_i32(emit, negative)


def _hypot(emit: Emit, args) -> SSAValue:
    """`big * sqrt(1 + (small / big)^2)`: no overflow where x*x would (0 when both are)."""
    ops = _Ops(emit, args[0].type)
    x, y = (emit(math.AbsFOp(a)) for a in args)
    big, small = emit(arith.MaximumfOp(x, y)), emit(arith.MinimumfOp(x, y))
    one, zero = ops.const(1.0), ops.const(0.0)
    ratio = ops.div(small, big)
    scaled = ops.mul(big, emit(math.SqrtOp(ops.add(one, ops.mul(ratio, ratio)))))
    return ops.select(ops.cmp(big, zero, "oeq"), zero, scaled)


def _ldexp(emit: Emit, args) -> SSAValue:
    """`x * 2^n`."""
    x, n = args
    return emit(arith.MulfOp(x, emit(math.Exp2Op(emit(arith.SIToFPOp(n, x.type))))))


def _llrint(emit: Emit, args) -> SSAValue:
    """Round half to even, then to i64."""
    (x,) = args
    return emit(arith.FPToSIOp(emit(math.RoundEvenOp(x)), IntegerType(64)))


# erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + |z|/2), for z >= 0 (erfc(-z) = 2 - erfc(z)):
# fractional error below 1.2e-7 everywhere (Press et al., Numerical Recipes, §6.2).
ERFC_P = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
          0.09678418, 0.37409196, 1.00002368, -1.26551223)  # fmt: skip


def _erfc(emit: Emit, args) -> SSAValue:
    (z,) = args
    ops = _Ops(emit, z.type)
    a = emit(math.AbsFOp(z))
    t = ops.div(ops.const(1.0), ops.add(ops.const(1.0), ops.mul(ops.const(0.5), a)))
    exponent = ops.sub(ops.polynomial(t, ERFC_P), ops.mul(a, a))
    tail = ops.mul(t, emit(math.ExpOp(exponent)))
    return ops.select(ops.cmp(z, ops.const(0.0), "oge"), tail, ops.sub(ops.const(2.0), tail))


# erfinv(x) = x P(w), w = -log((1 - x)(1 + x)), one polynomial for w < 5 (in w - 2.5)
# and one beyond (in sqrt(w) - 3): Giles, "Approximating the erfinv function" (2010),
# single precision.
ERFINV_CENTRAL = (
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
)
ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)  # fmt: skip


def _erfinv(emit: Emit, args) -> SSAValue:
    (x,) = args
    ops = _Ops(emit, x.type)
    one = ops.const(1.0)
    w = emit(arith.NegfOp(emit(math.LogOp(ops.mul(ops.sub(one, x), ops.add(one, x))))))
    central = ops.polynomial(ops.sub(w, ops.const(2.5)), ERFINV_CENTRAL)
    tail = ops.polynomial(ops.sub(emit(math.SqrtOp(w)), ops.const(3.0)), ERFINV_TAIL)
    return ops.mul(ops.select(ops.cmp(w, ops.const(5.0), "olt"), central, tail), x)


# lgamma: Stirling's series for z = |x| + 6 (error below 1e-9 there), brought down by
# lgamma(x) = lgamma(x + 6) - log(x (x + 1) ... (x + 5)), and for x < 0 the reflection
# lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x) (Abramowitz & Stegun 6.1.17, 6.1.41).
STIRLING = (1 / 1260, 0.0, -1 / 360, 0.0, 1 / 12)
"""In 1/z, highest first: 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5)."""


def _lgamma_positive(ops: _Ops, x: SSAValue) -> SSAValue:
    z = ops.add(x, ops.const(6.0))
    inverse = ops.div(ops.const(1.0), z)
    series = ops.mul(ops.polynomial(inverse, STIRLING), inverse)
    log_z = ops.emit(math.LogOp(z))
    stirling = ops.add(
        ops.sub(ops.mul(ops.sub(z, ops.const(0.5)), log_z), z),
        ops.add(ops.const(0.5 * pymath.log(2 * pymath.pi)), series),
    )
    product = x
    for k in range(1, 6):
        product = ops.mul(product, ops.add(x, ops.const(float(k))))
    return ops.sub(stirling, ops.emit(math.LogOp(ops.emit(math.AbsFOp(product)))))


def _lgamma(emit: Emit, args) -> SSAValue:
    (x,) = args
    ops = _Ops(emit, x.type)
    negative = ops.cmp(x, ops.const(0.0), "olt")
    reflected = ops.select(negative, ops.sub(ops.const(1.0), x), x)
    positive = _lgamma_positive(ops, reflected)
    sine = emit(math.AbsFOp(emit(math.SinOp(ops.mul(ops.const(pymath.pi), x)))))
    reflection = ops.sub(
        emit(math.LogOp(ops.div(ops.const(pymath.pi), sine))),
        positive,
    )
    return ops.select(negative, reflection, positive)


def _nextafter(emit: Emit, args) -> SSAValue:
    """The float after x towards y: x's bits plus or minus one (from 0: the smallest
    subnormal with y's sign); y when they are equal, NaN when either is."""
    x, y = args
    ops = _Ops(emit, x.type)
    bits = _bits(x.type)

    def integer(value: int) -> SSAValue:
        return emit(arith.ConstantOp(IntegerAttr(value, bits)))

    raw = emit(arith.BitcastOp(x, bits))
    away_from_zero = emit(arith.XOrIOp(ops.cmp(x, y, "olt"), ops.cmp(x, ops.const(0.0), "olt")))
    step = emit(arith.SelectOp(away_from_zero, integer(1), integer(-1)))
    stepped = emit(arith.BitcastOp(emit(arith.AddiOp(raw, step)), x.type))
    tiny = emit(arith.BitcastOp(integer(1), x.type))
    from_zero = emit(math.CopySignOp(tiny, y))
    result = ops.select(ops.cmp(x, ops.const(0.0), "oeq"), from_zero, stepped)
    result = ops.select(ops.cmp(x, y, "oeq"), y, result)
    nan = ops.const(pymath.nan)
    return ops.select(ops.cmp(x, y, "uno"), nan, result)


def _sigmoid(emit: Emit, args) -> SSAValue:
    """`1 / (1 + exp(-x))`, as tl.sigmoid computes it (the reference's libdevice has it)."""
    (x,) = args
    ops = _Ops(emit, x.type)
    one = ops.const(1.0)
    return ops.div(one, ops.add(one, emit(math.ExpOp(emit(arith.NegfOp(x))))))


def _in_f32(expansion: Expansion) -> Expansion:
    """`expansion` computed in f32 on narrower floats, rounded back: for expansions
    whose intermediates leave fp16's range (lgamma's product, ldexp's 2^n, erfc's
    exponent), where the narrow type would give inf or NaN for a representable result."""

    def expand(emit: Emit, operands: Sequence[SSAValue]) -> SSAValue:
        narrow = next((o.type for o in operands if narrow_float(o.type)), None)
        if narrow is None:
            return expansion(emit, operands)
        widened = [emit(arith.ExtFOp(o, Float32Type())) if narrow_float(o.type) else o
                   for o in operands]  # fmt: skip
        result = expansion(emit, widened)
        return emit(arith.TruncFOp(result, narrow)) if result.type == Float32Type() else result

    return expand


def narrow_float(type: Attribute) -> bool:
    """fp16 or bf16: narrower than f32."""
    return isinstance(type, AnyFloat) and type.bitwidth < 32


def _one_op(op_type: type[Operation]) -> Expansion:
    return lambda emit, args: emit(op_type(*args))


LIBDEVICE: dict[str, Expansion] = {
    **{name: _one_op(op) for name, op in {
        "exp": math.ExpOp, "exp2": math.Exp2Op, "expm1": math.ExpM1Op,
        "log": math.LogOp, "log2": math.Log2Op, "log10": math.Log10Op,
        "log1p": math.Log1pOp, "sqrt": math.SqrtOp, "rsqrt": math.RsqrtOp,
        "cbrt": math.CbrtOp, "pow": math.PowFOp, "erf": math.ErfOp,
        "sin": math.SinOp, "cos": math.CosOp, "tan": math.TanOp,
        "asin": math.AsinOp, "acos": math.AcosOp, "atan": math.AtanOp,
        "atan2": math.Atan2Op, "sinh": math.SinhOp, "cosh": math.CoshOp,
        "tanh": math.TanhOp, "asinh": math.AsinhOp, "acosh": math.AcoshOp,
        "atanh": math.AtanhOp, "fabs": math.AbsFOp, "abs": math.AbsFOp,
        "floor": math.FloorOp, "ceil": math.CeilOp, "trunc": math.TruncOp,
        "round": math.RoundOp, "rint": math.RoundEvenOp,
        "nearbyint": math.RoundEvenOp, "copysign": math.CopySignOp,
        "fmod": arith_tensor.RemFOp, "fmax": arith.MaxnumfOp, "fmin": arith.MinnumfOp,
    }.items()},
    "erfc": _in_f32(_erfc), "erfinv": _in_f32(_erfinv), "lgamma": _in_f32(_lgamma),
    "sigmoid": _sigmoid, "isnan": _isnan, "isinf": _isinf, "signbit": _signbit,
    "hypot": _in_f32(_hypot), "ldexp": _in_f32(_ldexp), "llrint": _llrint, "nextafter": _nextafter,
}  # fmt: skip
"""libdevice function (no `__nv_`, no type suffix) -> what it lowers to."""

OPERANDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["pow", "atan2", "copysign", "fmod", "fmax", "fmin", "hypot", "nextafter"],
                    ("float", "float")),
    "ldexp": ("float", "i32"),
}  # fmt: skip
"""The operands of a function that takes other than one float ("float": the
function's float type)."""

RESULTS: dict[str, str] = {"isnan": "i32", "isinf": "i32", "signbit": "i32", "llrint": "i64"}
"""The result of a function that returns other than its float type."""

XNPU_PREFIX = "__xnpu_"
"""The symbol prefix of xnpu's libdevice (xnpu/triton/libdevice.py): `__xnpu_<name>`,
whatever the float type (the operands carry it)."""


def libdevice_expansion(symbol: str) -> Expansion | None:
    """The lowering of `__xnpu_<name>`, or of CUDA's `__nv_<name>` with its type
    suffix (`f` for f32, `d` for some f64 forms, none for most f64 forms), or None for
    a function not in the table."""
    if symbol.startswith(XNPU_PREFIX):
        return LIBDEVICE.get(symbol.removeprefix(XNPU_PREFIX))
    name = symbol.removeprefix("__nv_")
    if name in LIBDEVICE:
        return LIBDEVICE[name]
    if name[-1:] in ("f", "d") and name[:-1] in LIBDEVICE:
        return LIBDEVICE[name[:-1]]
    return None


def float_conversion(source: AnyFloat, target: AnyFloat) -> Expansion:
    """`tt.fp_to_fp` from `source` to `target` (rounding to nearest even) as arith
    casts: through f32 when neither side is f32 (fp16 <-> bf16 has no one cast)."""
    f32 = Float32Type()

    def expand(emit: Emit, operands: Sequence[SSAValue]) -> SSAValue:
        (value,) = operands
        if source == target:
            return value
        if narrow_float(source):
            value = emit(arith.ExtFOp(value, f32))
        if target == f32:
            return value
        if target.bitwidth > 32:
            return emit(arith.ExtFOp(value, target))
        return emit(arith.TruncFOp(value, target))

    return expand


def tt_expansion(op: Operation) -> Expansion | None:
    """The lowering of a tt element-wise op that has no arith/math twin: a libdevice
    call, a float conversion, a correctly rounded sqrt or divide, a value bitcast.
    None for any other op (an extern symbol outside the table included)."""
    if isinstance(op, tt.ExternElementwiseOp):
        return libdevice_expansion(op.symbol.data)
    if isinstance(op, tt.FpToFpOp):
        return float_conversion(tt.element_of(op.src.type), tt.element_of(op.result.type))
    if isinstance(op, tt.PreciseSqrtOp):  # the interpreter's sqrt is correctly rounded
        return _one_op(math.SqrtOp)
    if isinstance(op, tt.PreciseDivfOp):
        return _one_op(arith.DivfOp)
    if isinstance(op, tt.BitcastOp) and not isinstance(tt.element_of(op.src.type), tt.PointerType):
        target = tt.element_of(op.result.type)
        return lambda emit, args: emit(arith.BitcastOp(args[0], target))
    return None
