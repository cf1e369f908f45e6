"""
xnpu's libdevice: what `from triton.language.extra import libdevice` gives a kernel
compiled for xnpu (the backend's module map points there), as the reference compiler
gives its own. Every function of the one table (transforms/libdevice.py: CUDA's
libdevice names Inductor and `tl.math` use, and the reference's `sigmoid`), each in
fp16, bf16, fp32 and fp64 forms:

    x * libdevice.sigmoid(x)        ==>   tt.extern_elementwise %x {symbol = "__xnpu_sigmoid"}

npu-lower-triton lowers each call to the math and arith ops the table names, which the
machine model prices (math functions through their approximations, op_costs.py). A
name outside the table falls through to CUDA's libdevice, whose symbols xnpu refuses
by name when it lowers them.
"""

from __future__ import annotations

from triton.language import core
from triton.language.extra.cuda import libdevice as _cuda

from xnpu.transforms.libdevice import LIBDEVICE, OPERANDS, RESULTS, XNPU_PREFIX

FLOAT_TYPES = ("fp16", "bf16", "fp32", "fp64")
_INTEGER = {"i32": "int32", "i64": "int64"}


def _signatures(name: str) -> dict[tuple, tuple]:
    """Operand dtypes -> (symbol, result dtype), one row per float type."""
    operands, result = OPERANDS.get(name, ("float",)), RESULTS.get(name, "float")
    rows = {}
    for float_type in FLOAT_TYPES:
        key = tuple(core.dtype(float_type if o == "float" else _INTEGER[o]) for o in operands)
        returned = core.dtype(float_type if result == "float" else _INTEGER[result])
        rows[key] = (XNPU_PREFIX + name, returned)
    return rows


def _function(name: str):
    signatures = _signatures(name)
    arity = len(next(iter(signatures)))

    def call(*args, _semantic=None):
        if len(args) != arity:
            raise TypeError(f"libdevice.{name} takes {arity} argument(s), not {len(args)}")
        given = tuple(_semantic.to_tensor(a).dtype for a in args)
        if given not in signatures:
            forms = "; ".join(", ".join(str(t) for t in key) for key in signatures)
            raise TypeError(
                f"libdevice.{name} takes ({forms}), not ({', '.join(map(str, given))}): "
                "cast the operands to one of these (tensor.to(tl.float32), ...)"
            )
        return core.extern_elementwise("", "", list(args), signatures, is_pure=True,
                                       _semantic=_semantic)  # fmt: skip

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"libdevice's {name}, element-wise (xnpu: {XNPU_PREFIX}{name})."
    return core.extern(call)


globals().update({name: _function(name) for name in LIBDEVICE})


def __getattr__(name: str):
    """A function outside xnpu's table: CUDA's (refused by name when lowered)."""
    return getattr(_cuda, name)
