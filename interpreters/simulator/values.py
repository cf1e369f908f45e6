"""How IR values are held during interpretation: Python ints and bools, numpy float
scalars of the IR's width (bf16 as float32 rounded to bf16), numpy arrays for
index-array loops and for memrefs."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    MemRefType,
    VectorType,
)
from xdsl.ir import Attribute, SSAValue

from xnpu.dialects.spm import is_scratchpad


class UnsupportedType(TypeError):
    """A type the interpreter has no numpy dtype for (fp8...)."""


_INT_DTYPES = {1: np.bool_, 8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}


def numpy_dtype(type: Attribute) -> np.dtype:
    """The numpy dtype of an element type (of the element type for memrefs and
    vectors)."""
    if isinstance(type, MemRefType | VectorType):
        type = type.element_type
    match type:
        case Float32Type():
            return np.dtype(np.float32)
        case Float16Type():
            return np.dtype(np.float16)
        case BFloat16Type():  # held as f32, rounded to bf16 by every op that makes one
            return np.dtype(np.float32)
        case Float64Type():
            return np.dtype(np.float64)
        case IndexType():
            return np.dtype(np.int64)
        case IntegerType() if type.width.data in _INT_DTYPES:
            return np.dtype(_INT_DTYPES[type.width.data])
    raise UnsupportedType(
        f"xnpu cannot hold values of type {type} yet: it holds f16, bf16, f32, f64, index "
        "and integers of 1 to 64 bits"
    )


def to_bfloat16(value):
    """float32 values rounded to the nearest bfloat16 (ties to even; NaN stays NaN),
    still held as float32: how xnpu holds bf16."""
    array = np.asarray(value, dtype=np.float32)
    bits = array.view(np.uint32).astype(np.uint64)
    rounded = (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16).astype(np.uint32)
    result = np.where(np.isnan(array), array, rounded.view(np.float32))
    return result if isinstance(value, np.ndarray) else np.float32(result)


def rounding_of(type: Attribute):
    """The rounding a result of `type` needs beyond its numpy dtype (bf16's), or None."""
    if isinstance(type, MemRefType | VectorType):
        type = type.element_type
    return to_bfloat16 if isinstance(type, BFloat16Type) else None


def wrap(value, width: int):
    """Two's-complement wrap of an integer (or int array) to `width` bits."""
    if isinstance(value, np.ndarray):
        if value.dtype.itemsize * 8 <= width:
            return value
        return value.astype(_INT_DTYPES[width])
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if low <= value <= high:
        return value
    return (value - low) % (1 << width) + low


def describe(value: SSAValue) -> str:
    return f"%{value.name_hint}" if value.name_hint else f"a {value.type} value"


def out_of_bounds_blame(buffer: SSAValue) -> str:
    """What an out-of-bounds access of `buffer` says about whose fault it is: a
    scratchpad tile is the compiler's, never the kernel's."""
    if is_scratchpad(buffer.type):
        return (
            "; the tile is xnpu's own (the kernel's masks cannot reach it), so this is a "
            "compiler bug: please report it with the kernel"
        )
    return ""
