"""`memref.load` / `memref.store` on numpy buffers, bounds-checked, for single
indices and for index arrays (a loop run once: a gather or a scatter)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import memref
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Operation, SSAValue

from xnpu.frontend.ttir import at_location
from xnpu.interpreters.trace import InterpreterError
from xnpu.interpreters.values import describe


def check_bounds(op: Operation, buffer: np.ndarray, ref: SSAValue, indices) -> None:
    for axis, index in enumerate(indices):
        size = buffer.shape[axis]
        if isinstance(index, np.ndarray):
            if index.size == 0:
                continue
            low, high = int(index.min()), int(index.max())
            bad = low if low < 0 else high if high >= size else None
        else:
            bad = index if index < 0 or index >= size else None
        if bad is not None:
            raise InterpreterError(
                f"out-of-bounds {op.name}{at_location(op)}: index {bad} of {describe(ref)} "
                f"({ref.type}), whose valid indices are 0 to {size - 1}"
            )


@register_impls
class XnpuMemRefFunctions(InterpreterFunctions):
    @impl(memref.LoadOp)
    def run_load(self, interpreter: Interpreter, op: memref.LoadOp, args):
        buffer, *indices = args
        check_bounds(op, buffer, op.memref, indices)
        if len(indices) == 1:
            return (buffer[indices[0]],)
        return (buffer[tuple(indices)],)

    @impl(memref.StoreOp)
    def run_store(self, interpreter: Interpreter, op: memref.StoreOp, args):
        value, buffer, *indices = args
        check_bounds(op, buffer, op.memref, indices)
        if any(isinstance(i, np.ndarray) for i in indices) or isinstance(value, np.ndarray):
            # lanes storing to one place: the last in loop order wins, as in sequence
            *indices, value = np.broadcast_arrays(*indices, value)
        buffer[tuple(indices)] = value
        return ()
