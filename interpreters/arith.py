"""
`arith` on numpy: every implementation takes Python/numpy scalars or numpy arrays
(a loop run once on index arrays), so one implementation serves both. Integers of 32
bits or fewer wrap as the hardware does; f32 stays f32 (numpy float32 scalars).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    VectorType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Attribute, Operation

from xnpu.dialects import arith_tensor
from xnpu.interpreters.simulator.values import numpy_dtype, rounding_of, wrap


def _is_array(x) -> bool:
    return isinstance(x, np.ndarray)


def _signed_max(a, b):
    return np.maximum(a, b) if _is_array(a) or _is_array(b) else (a if a >= b else b)


def _signed_min(a, b):
    return np.minimum(a, b) if _is_array(a) or _is_array(b) else (a if a <= b else b)


def _div_trunc(a, b):
    """C division: rounds toward zero."""
    if _is_array(a) or _is_array(b):
        q = np.floor_divide(a, b)
        return q + ((q < 0) & (q * b != a))
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _rem_trunc(a, b):
    return a - _div_trunc(a, b) * b


INTEGER_OPS: dict[type[Operation], Callable] = {
    arith.AddiOp: lambda a, b: a + b,
    arith.SubiOp: lambda a, b: a - b,
    arith.MuliOp: lambda a, b: a * b,
    arith.DivSIOp: _div_trunc,
    arith.RemSIOp: _rem_trunc,
    arith.DivUIOp: lambda a, b: a // b,
    arith.RemUIOp: lambda a, b: a % b,
    arith.FloorDivSIOp: lambda a, b: a // b,
    arith.CeilDivSIOp: lambda a, b: -(-a // b),
    arith.CeilDivUIOp: lambda a, b: -(-a // b),
    arith.MaxSIOp: _signed_max,
    arith.MinSIOp: _signed_min,
    arith.MaxUIOp: _signed_max,
    arith.MinUIOp: _signed_min,
    arith.AndIOp: lambda a, b: a & b,
    arith.OrIOp: lambda a, b: a | b,
    arith.XOrIOp: lambda a, b: a ^ b,
    arith.ShLIOp: lambda a, b: a << b,
    arith.ShRSIOp: lambda a, b: a >> b,
}
"""Integer ops; results are wrapped to the result's width."""

FLOAT_OPS: dict[type[Operation], Callable] = {
    arith.AddfOp: lambda a, b: a + b,
    arith.SubfOp: lambda a, b: a - b,
    arith.MulfOp: lambda a, b: a * b,
    arith.DivfOp: lambda a, b: a / b,
    arith_tensor.RemFOp: np.fmod,
    arith.MaximumfOp: np.maximum,
    arith.MinimumfOp: np.minimum,
    arith.MaxnumfOp: np.fmax,
    arith.MinnumfOp: np.fmin,
}

_NOT = np.logical_not
_NAN = np.isnan

CMPF: dict[str, Callable] = {
    "false": lambda a, b: np.zeros_like(a == b, dtype=bool) if _is_array(a == b) else False,
    "oeq": lambda a, b: a == b,
    "ogt": lambda a, b: a > b,
    "oge": lambda a, b: a >= b,
    "olt": lambda a, b: a < b,
    "ole": lambda a, b: a <= b,
    "one": lambda a, b: (a != b) & _NOT(_NAN(a)) & _NOT(_NAN(b)),
    "ord": lambda a, b: _NOT(_NAN(a)) & _NOT(_NAN(b)),
    "ueq": lambda a, b: (a == b) | _NAN(a) | _NAN(b),
    "ugt": lambda a, b: _NOT(a <= b),
    "uge": lambda a, b: _NOT(a < b),
    "ult": lambda a, b: _NOT(a >= b),
    "ule": lambda a, b: _NOT(a > b),
    "une": lambda a, b: a != b,
    "uno": lambda a, b: _NAN(a) | _NAN(b),
    "true": lambda a, b: np.ones_like(a == b, dtype=bool) if _is_array(a == b) else True,
}

CMPI: dict[str, Callable] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "slt": lambda a, b: a < b,
    "sle": lambda a, b: a <= b,
    "sgt": lambda a, b: a > b,
    "sge": lambda a, b: a >= b,
    # unsigned predicates compare the operands' bits as unsigned (`_unsigned_operands`)
    "ult": lambda a, b: a < b,
    "ule": lambda a, b: a <= b,
    "ugt": lambda a, b: a > b,
    "uge": lambda a, b: a >= b,
}

UNSIGNED_OPS = frozenset([arith.DivUIOp, arith.RemUIOp, arith.CeilDivUIOp, arith.MaxUIOp,
                          arith.MinUIOp])  # fmt: skip
UNSIGNED_CASTS = ("arith.extui", "arith.uitofp")


def _width(type: Attribute) -> int:
    """The bits of an integer type, of a vector's elements, or 64 (index)."""
    if isinstance(type, VectorType):
        type = type.element_type
    return type.width.data if isinstance(type, IntegerType) else 64


def as_unsigned(x, width: int):
    """The unsigned value of an integer held as its signed value (how the interpreter
    holds integers): arrays widen to int64 (uint64 at 64 bits), Python ints stay ints."""
    if width == 1:
        return x
    if _is_array(x):
        if width >= 64:
            return x.astype(np.int64).view(np.uint64)
        return x.astype(np.int64) & ((1 << width) - 1)
    return int(x) & ((1 << width) - 1)


def _signed_result(fn: Callable) -> Callable:
    """`fn` with a result of 64 unsigned bits held as the signed value again."""

    def signed(*args):
        result = fn(*args)
        if _is_array(result) and result.dtype == np.uint64:
            return result.view(np.int64)
        if isinstance(result, int) and result >= 1 << 63:
            return result - (1 << 64)
        return result

    return signed


def _unsigned_operands(fn: Callable, width: int) -> Callable:
    return lambda *args: fn(*(as_unsigned(a, width) for a in args))


def constant_value(attr: Attribute, type: Attribute):
    if isinstance(attr, IntegerAttr):
        value = attr.value.data
        return bool(value) if type == IntegerType(1) else value
    if isinstance(attr, FloatAttr):
        value = numpy_dtype(type).type(attr.value.data)
        rounding = rounding_of(type)
        return value if rounding is None else rounding(value)
    if isinstance(attr, DenseIntOrFPElementsAttr) and isinstance(type, VectorType):
        return np.array(attr.get_values(), dtype=numpy_dtype(type)).reshape(type.get_shape())
    raise NotImplementedError(f"constant {attr}")


def _bitcast(op: Operation) -> Callable:
    """The same bits read as another type of the same width."""
    source, target = numpy_dtype(op.operands[0].type), numpy_dtype(op.results[0].type)

    def bitcast(x):
        bits = np.asarray(x).astype(source).view(target)
        if _is_array(x):
            return bits
        return int(bits) if target.kind in "iu" else bits[()]

    return bitcast


def _cast(op: Operation) -> Callable:
    if isinstance(op, arith.BitcastOp):
        return _bitcast(op)
    target = op.results[0].type
    dtype = numpy_dtype(target)
    if isinstance(target, IntegerType | IndexType):
        width = 64 if isinstance(target, IndexType) else target.width.data
        source_is_float = not isinstance(op.operands[0].type, IntegerType | IndexType)

        def to_int(x):
            if source_is_float:
                x = np.trunc(x)
            if _is_array(x):
                return x.astype(dtype)
            return wrap(int(x), width)

        return to_int
    return lambda x: x.astype(dtype) if _is_array(x) else dtype.type(x)


class XnpuArithFunctions(InterpreterFunctions):
    """arith for xnpu: scalars and index arrays alike (registered over xDSL's own)."""

    def __init__(self):
        self.compiled: dict[Operation, Callable] = {}

    def kernel(self, op: Operation) -> Callable:
        fn = self.compiled.get(op)
        if fn is None:
            fn = self.compiled[op] = self._compile(op)
        return fn

    def direct(self, op: Operation) -> Callable | None:
        """`op`'s values from its operands' values, for compiled blocks (blocks.py)."""
        if type(op) not in _BINARY_OPS:
            return None
        kernel = self.kernel(op)
        return lambda inputs: (kernel(*inputs),)

    def _compile(self, op: Operation) -> Callable:
        fn = self._compile_exact(op)
        rounding = rounding_of(op.results[0].type)
        if rounding is None:
            return fn
        return lambda *args: rounding(fn(*args))

    def _compile_exact(self, op: Operation) -> Callable:
        kind = type(op)
        if kind in INTEGER_OPS:
            fn = INTEGER_OPS[kind]
            width = _width(op.results[0].type)
            if kind in UNSIGNED_OPS:
                fn = _signed_result(_unsigned_operands(fn, width))
            if width == 1 or width >= 64:  # booleans, and index/i64 (held as Python ints)
                return fn
            return lambda a, b: wrap(fn(a, b), width)
        if kind in FLOAT_OPS:
            return FLOAT_OPS[kind]
        if isinstance(op, CMPI_OPS):
            predicate = arith_tensor.predicate_name(op)
            if predicate.startswith("u"):
                return _unsigned_operands(CMPI[predicate], _width(op.operands[0].type))
            return CMPI[predicate]
        if isinstance(op, CMPF_OPS):
            return CMPF[arith_tensor.predicate_name(op)]
        if isinstance(op, CAST_OPS):
            if op.name in UNSIGNED_CASTS:
                return _unsigned_operands(_cast(op), _width(op.operands[0].type))
            return _cast(op)
        raise NotImplementedError(op.name)

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: arith.ConstantOp, args):
        fn = self.compiled.get(op)
        if fn is None:
            value = constant_value(op.value, op.result.type)
            fn = self.compiled[op] = lambda: value
        return (fn(),)

    def run_select(self, interpreter: Interpreter, op, args):
        cond, a, b = args
        if _is_array(cond):
            if not isinstance(op.cond.type, VectorType) and isinstance(op.result.type, VectorType):
                cond = cond[..., None]  # one condition per loop lane, for whole vectors
            return (np.where(cond, a, b),)
        return (a if cond else b,)

    @impl(arith.NegfOp)
    def run_negf(self, interpreter: Interpreter, op, args):
        return (-args[0],)


CMPI_OPS = arith_tensor.both_forms(arith_tensor.CmpIOp)
CMPF_OPS = arith_tensor.both_forms(arith_tensor.CmpFOp)
CAST_OPS = (
    *arith_tensor.both_forms(
        *(op for op in arith_tensor.TENSOR_ARITH_OPS if issubclass(op, arith_tensor.CastOp))
    ),
    arith.ExtFOp,
    arith.TruncFOp,
    arith.BitcastOp,
)
"""Both classes of each op xnpu's `arith` also takes in shaped forms (see arith_tensor)."""


def _binary(self, interpreter, op, args):
    return (self.kernel(op)(*args),)


def _register(op_type: type[Operation], implementation: Callable) -> None:
    name = f"run_{op_type.__module__.replace('.', '_')}_{op_type.__name__}"
    setattr(XnpuArithFunctions, name, impl(op_type)(implementation))


_BINARY_OPS = frozenset([*INTEGER_OPS, *FLOAT_OPS, *CMPI_OPS, *CMPF_OPS, *CAST_OPS])
"""The ops whose implementation is their kernel (`_binary`), casts included."""
for _op_type in _BINARY_OPS:
    _register(_op_type, _binary)
for _op_type in arith_tensor.both_forms(arith_tensor.SelectOp):
    _register(_op_type, XnpuArithFunctions.run_select)
register_impls(XnpuArithFunctions)  # once its implementations are all set
