"""`vector` on numpy: a vector value is an array whose last axis holds the lanes
(inside a loop run on index arrays, the loop axes come first)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import vector
from xdsl.dialects.builtin import VectorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls

from xnpu.dialects.combiners import UFUNC_BY_KIND
from xnpu.interpreters.memref import check_bounds, contiguous_start
from xnpu.interpreters.simulator.races import check_race
from xnpu.interpreters.simulator.trace import ExecutionState
from xnpu.interpreters.simulator.values import numpy_dtype, rounding_of


def combining_kind(op: vector.ReductionOp) -> str:
    return op.kind.data.value


def lanes_of(type: VectorType) -> int:
    return type.get_shape()[-1]


def _lane_indices(indices, lanes: int):
    """Index tuple addressing `lanes` consecutive elements from `indices` along the
    last dimension; array indices keep their loop axes in front of the lane axis."""
    *outer, last = indices
    lane = np.arange(lanes)
    if isinstance(last, np.ndarray):
        last = last[..., None] + lane
    else:
        last = last + lane
    outer = [i[..., None] if isinstance(i, np.ndarray) else i for i in outer]
    return (*outer, last)


def _last_lane(indices, lanes: int):
    *outer, last = indices
    return (*outer, last + (lanes - 1))


@register_impls
class XnpuVectorFunctions(InterpreterFunctions):
    """The vector ops npu-vectorize emits: loads, stores, broadcasts, reductions."""

    def __init__(self, state: ExecutionState):
        self.state = state

    @impl(vector.LoadOp)
    def run_load(self, interpreter: Interpreter, op: vector.LoadOp, args):
        buffer, *indices = args
        lanes = lanes_of(op.result.type)
        start = contiguous_start(self.state, op.base, buffer, indices, lanes, writes=False)
        if start is not None:
            run = buffer[start : start + indices[0].size * lanes]
            return (run.reshape((*indices[0].shape, lanes)).copy(),)  # a value, not a view
        check_bounds(op, buffer, op.base, indices)
        check_bounds(op, buffer, op.base, _last_lane(indices, lanes))
        where = _lane_indices(indices, lanes)
        check_race(self.state, op, buffer, op.base, where, writes=False)
        return (buffer[where],)

    @impl(vector.StoreOp)
    def run_store(self, interpreter: Interpreter, op: vector.StoreOp, args):
        value, buffer, *indices = args
        lanes = lanes_of(op.vector.type)
        start = contiguous_start(self.state, op.base, buffer, indices, lanes, writes=True)
        if start is not None:
            shape = (*indices[0].shape, lanes)
            buffer[start : start + indices[0].size * lanes] = np.broadcast_to(value, shape).reshape(
                -1
            )
            return ()
        check_bounds(op, buffer, op.base, indices)
        check_bounds(op, buffer, op.base, _last_lane(indices, lanes))
        where = _lane_indices(indices, lanes)
        check_race(self.state, op, buffer, op.base, where, writes=True)
        # lanes storing to one place: the last in loop order wins, as in sequence
        *where, value = np.broadcast_arrays(*where, value)
        buffer[tuple(where)] = value
        return ()

    @impl(vector.BroadcastOp)
    def run_broadcast(self, interpreter: Interpreter, op: vector.BroadcastOp, args):
        (source,) = args
        lanes = lanes_of(op.vector.type)
        source = np.asarray(source, dtype=numpy_dtype(op.vector.type))
        return (np.repeat(source[..., None], lanes, axis=-1),)

    @impl(vector.ReductionOp)
    def run_reduction(self, interpreter: Interpreter, op: vector.ReductionOp, args):
        ufunc = UFUNC_BY_KIND[combining_kind(op)]
        reduced = ufunc.reduce(args[0], axis=-1)
        if len(args) == 2:
            reduced = ufunc(args[1], reduced)
        if isinstance(reduced, np.ndarray) and reduced.ndim == 0:
            reduced = reduced[()]
        rounding = rounding_of(op.results[0].type)
        return (reduced if rounding is None else rounding(reduced),)

    @impl(vector.ShuffleOp)
    def run_shuffle(self, interpreter: Interpreter, op: vector.ShuffleOp, args):
        """Lanes of both vectors, one after the other, picked by the mask."""
        both = np.concatenate(np.broadcast_arrays(*args), axis=-1)
        return (both[..., list(op.mask.get_values())],)

    @impl(vector.ExtractOp)
    def run_extract(self, interpreter: Interpreter, op: vector.ExtractOp, args):
        """One lane at a constant position, as a scalar (one per loop lane in a batch)."""
        (position,) = op.static_position.get_values()
        lane = np.asarray(args[0])[..., position]
        return (lane[()] if lane.ndim == 0 else lane,)

    @impl(vector.FMAOp)
    def run_fma(self, interpreter: Interpreter, op: vector.FMAOp, args):
        a, b, c = args
        rounding = rounding_of(op.results[0].type)
        return (a * b + c if rounding is None else rounding(a * b + c),)
