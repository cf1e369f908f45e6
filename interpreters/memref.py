"""`memref.load` / `memref.store` on numpy buffers, bounds-checked, for single
indices and for index arrays (a loop run once: a gather or a scatter)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import memref
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Operation, SSAValue

from xnpu.dialects.location import at_location
from xnpu.dialects.spm import is_scratchpad
from xnpu.interpreters.trace import ExecutionState, InterpreterError
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


def check_race(
    state: ExecutionState,
    op: Operation,
    buffer: np.ndarray,
    ref: SSAValue,
    where: tuple,
    writes: bool,
) -> None:
    """Fails if the access races: it overlaps an unfinished DMA (see
    ExecutionState.check_access), or another program or context touched its elements
    (see ExecutionState.note_access). `where` indexes every element accessed."""
    ddr = not is_scratchpad(ref.type)
    if id(buffer) not in state.in_flight and not state.watches(buffer, ddr, writes):
        return
    if len(where) > 1:
        flat = np.ravel_multi_index(np.broadcast_arrays(*map(np.asarray, where)), buffer.shape)
    else:
        flat = np.asarray(where[0])
    if id(buffer) in state.in_flight:
        state.check_access(op, buffer, ref, int(flat.min()), int(flat.max()), writes)
    state.note_access(op, buffer, ref, flat, writes, ddr)


@register_impls
class XnpuMemRefFunctions(InterpreterFunctions):
    def __init__(self, state: ExecutionState):
        self.state = state

    @impl(memref.LoadOp)
    def run_load(self, interpreter: Interpreter, op: memref.LoadOp, args):
        buffer, *indices = args
        check_bounds(op, buffer, op.memref, indices)
        check_race(self.state, op, buffer, op.memref, indices, writes=False)
        if len(indices) == 1:
            return (buffer[indices[0]],)
        return (buffer[tuple(indices)],)

    @impl(memref.StoreOp)
    def run_store(self, interpreter: Interpreter, op: memref.StoreOp, args):
        value, buffer, *indices = args
        check_bounds(op, buffer, op.memref, indices)
        check_race(self.state, op, buffer, op.memref, indices, writes=True)
        if any(isinstance(i, np.ndarray) for i in indices) or isinstance(value, np.ndarray):
            # lanes storing to one place: the last in loop order wins, as in sequence
            *indices, value = np.broadcast_arrays(*indices, value)
        buffer[tuple(indices)] = value
        return ()
