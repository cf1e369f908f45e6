"""`memref.load` / `memref.store` on numpy buffers, bounds-checked, for single
indices and for index arrays (a loop run once: a gather or a scatter)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import memref
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Operation, SSAValue

from xnpu.dialects.location import at_location
from xnpu.dialects.spm import is_scratchpad
from xnpu.interpreters.simulator.races import check_race
from xnpu.interpreters.simulator.trace import ExecutionState, InterpreterError
from xnpu.interpreters.simulator.values import describe, out_of_bounds_blame


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
                f"({ref.type}), whose valid indices are 0 to {size - 1}{out_of_bounds_blame(ref)}"
            )


def contiguous_start(state: ExecutionState, ref, buffer, indices, lanes: int, writes: bool):
    """Where an access of `lanes` elements at each of its index arrays' places starts
    when, taken in loop order, it covers one contiguous, in-bounds run of a 1-D buffer
    that no race check watches (a tile's elements or vectors, program after program):
    then it is a slice, not a gather or a scatter."""
    if len(indices) != 1 or buffer.ndim != 1 or not isinstance(indices[0], np.ndarray):
        return None
    index = indices[0]
    if index.size == 0:
        return None
    start = int(index.flat[0])
    if start < 0 or start + index.size * lanes > buffer.shape[0]:
        return None
    ddr = not is_scratchpad(ref.type)
    if id(buffer) in state.in_flight or state.watches(buffer, ddr, writes):
        return None
    runs = np.arange(start, start + index.size * lanes, lanes).reshape(index.shape)
    return start if np.array_equal(index, runs) else None


@register_impls
class XnpuMemRefFunctions(InterpreterFunctions):
    def __init__(self, state: ExecutionState):
        self.state = state

    @impl(memref.LoadOp)
    def run_load(self, interpreter: Interpreter, op: memref.LoadOp, args):
        buffer, *indices = args
        start = contiguous_start(self.state, op.memref, buffer, indices, 1, writes=False)
        if start is not None:
            run = buffer[start : start + indices[0].size]
            return (run.reshape(indices[0].shape).copy(),)  # a value, not a view
        check_bounds(op, buffer, op.memref, indices)
        check_race(self.state, op, buffer, op.memref, indices, writes=False)
        if len(indices) == 1:
            return (buffer[indices[0]],)
        return (buffer[tuple(indices)],)

    @impl(memref.StoreOp)
    def run_store(self, interpreter: Interpreter, op: memref.StoreOp, args):
        value, buffer, *indices = args
        start = contiguous_start(self.state, op.memref, buffer, indices, 1, writes=True)
        if start is not None:
            shape = indices[0].shape
            buffer[start : start + indices[0].size] = np.broadcast_to(value, shape).reshape(-1)
            return ()
        check_bounds(op, buffer, op.memref, indices)
        check_race(self.state, op, buffer, op.memref, indices, writes=True)
        if any(isinstance(i, np.ndarray) for i in indices) or isinstance(value, np.ndarray):
            # lanes storing to one place: the last in loop order wins, as in sequence
            *indices, value = np.broadcast_arrays(*indices, value)
        buffer[tuple(indices)] = value
        return ()
