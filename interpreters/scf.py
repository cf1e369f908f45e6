"""
`scf.for`, run at the coarsest granularity numpy allows.

A loop whose iterations are independent runs once, with its induction variable bound
to an index array (`np.arange` along its own axis, so nested loops broadcast to a
grid of lanes); it is charged trip count x per-iteration cycles. An accumulator
carried through such a loop with an associative combiner (`acc = addf(acc, x)`, max,
min, ...) is reduced with the matching numpy ufunc. Anything else (loops with copies,
DMA, or other loop-carried values) runs iteration by iteration.

Independence is checked on the IR, once per loop: the body holds only arith, math,
memref loads/stores and such loops; it stores to no buffer it also loads from, unless
each iteration reads and writes only its own element of a scratchpad buffer (a carry
tile updated in place); DDR buffers may alias, so any DDR store and DDR load together
count as a clash; and every nested loop's bounds are defined outside the outermost
such loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from xdsl.dialects import arith, func, memref, scf, vector
from xdsl.dialects.builtin import VectorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Block, Operation, SSAValue

from xnpu.dialects import hwctx
from xnpu.dialects.combiners import COMBINERS, accumulator_combiner
from xnpu.dialects.location import at_location
from xnpu.dialects.spm import is_scratchpad
from xnpu.interpreters.simulator.blocks import Blocks
from xnpu.interpreters.simulator.cycle_counter import counter_of
from xnpu.interpreters.simulator.trace import ExecutionState, InterpreterError
from xnpu.transforms.builders import constant_int

_ELEMENTWISE_DIALECTS = ("arith", "math", "vector")
_LOADS = (memref.LoadOp, vector.LoadOp)
_STORES = (memref.StoreOp, vector.StoreOp)


def _accessed(op: Operation) -> SSAValue:
    """The buffer a load or store touches."""
    return op.memref if isinstance(op, memref.LoadOp | memref.StoreOp) else op.base


@dataclass(frozen=True)
class LoopPlan:
    vectorized: bool
    depth: int = 1
    """Nesting depth of the vectorizable nest this loop heads (itself included)."""
    combiners: tuple[Operation, ...] = ()
    """Per iter_arg: the op `acc' = op(acc, x)` that the yield returns."""
    bounds_slice: tuple[Operation, ...] = ()
    """The ops of this loop's body that compute its nested loops' bounds from its
    induction variable (a tile's programs: each program's elements start at its own
    offset), in body order; empty when every nested bound is defined outside."""
    varying: tuple[scf.ForOp, ...] = ()
    """The nested loops whose bounds the slice computes."""

    @cached_property
    def accumulated(self) -> tuple[SSAValue, ...]:
        """Per iter_arg: the value its combiner folds into it (the `x`)."""
        return tuple(
            next(v for v in combiner.operands if v is not combiner.parent_block().args[i + 1])
            for i, combiner in enumerate(self.combiners)
        )

    @cached_property
    def varying_bounds(self) -> tuple[SSAValue, ...]:
        """Lower bound, upper bound and step of each of the `varying` loops."""
        return tuple(v for loop in self.varying for v in (loop.lb, loop.ub, loop.step))


def plan_loop(loop: scf.ForOp, outer: Operation | None = None) -> LoopPlan:
    head = loop if outer is None else outer
    block = loop.body.block
    combiners = []
    for index in range(len(loop.iter_args)):
        combiner = accumulator_combiner(block, index)
        if combiner is None:
            return LoopPlan(False)
        combiners.append(combiner)
    loaded: set[SSAValue] = set()
    stored: set[SSAValue] = set()
    depth = 1
    slice_ops: set[Operation] = set()
    varying: list[scf.ForOp] = []
    for op in block.ops:
        if isinstance(op, scf.YieldOp):
            continue
        if isinstance(op, scf.ForOp):
            bounds = (op.lb, op.ub, op.step)
            if any(_defined_inside(v, head) for v in bounds):
                computed = _bounds_slice(loop, bounds) if outer is None else None
                if computed is None:
                    return LoopPlan(False)
                slice_ops |= computed
                varying.append(op)
            inner = plan_loop(op, head)
            if not inner.vectorized:
                return LoopPlan(False)
            depth = max(depth, inner.depth + 1)
            for nested in op.walk():
                if isinstance(nested, _LOADS):
                    loaded.add(_accessed(nested))
                elif isinstance(nested, _STORES):
                    stored.add(_accessed(nested))
            continue
        if isinstance(op, _LOADS):
            loaded.add(_accessed(op))
        elif isinstance(op, _STORES):
            stored.add(_accessed(op))
        elif op.dialect_name() not in _ELEMENTWISE_DIALECTS or op.regions:
            return LoopPlan(False)
    if not all(_updated_in_place(head, buffer) for buffer in loaded & stored):
        return LoopPlan(False)
    ddr = lambda values: any(not is_scratchpad(v.type) for v in values)  # noqa: E731
    if ddr(loaded) and ddr(stored):
        return LoopPlan(False)
    in_order = tuple(op for op in block.ops if op in slice_ops)
    return LoopPlan(True, depth, tuple(combiners), in_order, tuple(varying))


def _bounds_slice(loop: scf.ForOp, bounds) -> set[Operation] | None:
    """The ops of `loop`'s body that compute `bounds` from its induction variable and
    values defined outside it (integer arith only), or None when something else does."""
    found: set[Operation] = set()
    pending = list(bounds)
    while pending:
        value = pending.pop()
        if value is loop.body.block.args[0] or not _defined_inside(value, loop):
            continue
        owner = value.owner
        if (
            not isinstance(owner, Operation)
            or owner.parent_block() is not loop.body.block
            or owner.dialect_name() != "arith"
            or owner.regions
            or isinstance(owner.results[0].type, VectorType)
        ):
            return None
        if owner not in found:
            found.add(owner)
            pending.extend(owner.operands)
    return found


def _updated_in_place(loop: scf.ForOp, buffer: SSAValue) -> bool:
    """Whether each iteration of the nest `loop` heads reads and writes only its own
    element of a scratchpad `buffer` (a carry tile's `%t[i] = %t[i] + x`): every access
    at one index, the innermost loop's index, or `outer * C + inner` with the inner
    loop inside [0, C)."""
    if not is_scratchpad(buffer.type):
        return False
    accesses = [
        op for op in loop.walk()
        if isinstance(op, _LOADS + _STORES) and _accessed(op) is buffer
    ]  # fmt: skip
    indices = {tuple(op.indices) for op in accesses}
    if len(indices) != 1:
        return False
    (*outer, index), inner = indices.pop(), accesses[0].parent_op()
    if outer or not isinstance(inner, scf.ForOp):
        return False
    if inner is loop:
        return index is loop.body.block.args[0]
    if inner.parent_op() is not loop or not isinstance(index.owner, arith.AddiOp):
        return False
    row, column = index.owner.operands
    if column is not inner.body.block.args[0]:
        row, column = column, row
    scaled = row.owner
    lb, ub = constant_int(inner.lb), constant_int(inner.ub)
    return (
        column is inner.body.block.args[0]
        and isinstance(scaled, arith.MuliOp)
        and loop.body.block.args[0] in scaled.operands
        and lb is not None and ub is not None and lb >= 0
        and any(constant_int(v) is not None and constant_int(v) >= ub for v in scaled.operands)
    )  # fmt: skip


def _check_steps_up(loop: scf.ForOp, step) -> None:
    """scf.for steps up: a kernel's `range(0, n, s)` with s <= 0 never ends."""
    lowest = step if isinstance(step, int) else int(np.min(step))
    if lowest <= 0:
        raise InterpreterError(
            f"scf.for{at_location(loop)} steps by {lowest}: a loop's step must be positive"
        )


def _trip_counts(lb, ub, step):
    """How many trips scf.for makes from `lb` to `ub` by a positive `step` (elementwise
    on arrays)."""
    return np.maximum(0, -((lb - ub) // step))


def _defined_inside(value: SSAValue, op: Operation) -> bool:
    """Whether `value` is defined by `op`, in its regions, or is one of their block
    arguments."""
    owner = value.owner
    node = owner.parent_op() if isinstance(owner, Block) else owner
    while node is not None:
        if node is op:
            return True
        node = node.parent_op()
    return False


@register_impls
class XnpuScfFunctions(InterpreterFunctions):
    def __init__(self, state: ExecutionState, blocks: Blocks):
        self.state = state
        self.blocks = blocks
        self.plans: dict[scf.ForOp, LoopPlan] = {}
        self.outermost: dict[scf.ForOp, bool] = {}
        self.axis: int | None = None  # the axis of the loop running on arrays, if any
        self.rank = 0

    def orders_programs(self, op: scf.ForOp) -> bool:
        """Whether `op` is its context's outermost loop, whose iterations are the units
        of order for DDR writes (simulator/races.py): programs, or a tile's programs."""
        known = self.outermost.get(op)
        if known is None:
            parent = op.parent_op()
            while parent is not None and not isinstance(parent, func.FuncOp | hwctx.ParallelOp):
                if isinstance(parent, scf.ForOp | scf.WhileOp):
                    break
                parent = parent.parent_op()
            known = self.outermost[op] = not isinstance(parent, scf.ForOp | scf.WhileOp)
        return known

    def plan(self, op: scf.ForOp) -> LoopPlan:
        plan = self.plans.get(op)
        if plan is None:
            plan = self.plans[op] = plan_loop(op)
        return plan

    @impl(scf.ForOp)
    def run_for(self, interpreter: Interpreter, op: scf.ForOp, args):
        lb, ub, step, *inits = args
        if self.axis is not None:  # nested in a loop run on arrays
            return self._run_nested_on_arrays(interpreter, op, lb, ub, step, inits)
        _check_steps_up(op, step)
        trips = len(range(lb, ub, step))
        counter_of(interpreter).charge_loop(op, trips)
        plan = self.plan(op)
        if not plan.vectorized or trips == 0:
            return self._run_in_sequence(interpreter, op, lb, ub, step, inits)
        self.axis, self.rank = -1, plan.depth
        try:
            units = self._program_units(op, lb, ub, step)
            values = tuple(inits)
            for group in self._alike_iterations(interpreter, op, plan, lb, ub, step):
                shape = [1] * self.rank
                shape[0] = len(group)
                iv = (lb + step * group).reshape(shape)
                group_units = None if units is None else (units + group).reshape(shape)
                values = self._run_on_arrays(interpreter, op, iv, len(group), values, group_units)
            return values
        finally:
            self.axis, self.rank = None, 0

    def _alike_iterations(self, interpreter, op: scf.ForOp, plan: LoopPlan, lb, ub, step):
        """The iterations of `op` (as trip numbers) in groups whose nested loops run the
        same numbers of trips: one group unless the plan's bounds slice says otherwise
        (a tile's last program, cut short by the mask, is a group of its own)."""
        trips = len(range(lb, ub, step))
        every = np.arange(trips, dtype=np.int64)
        if not plan.bounds_slice:
            return [every]
        state = self.state
        saved_scale = state.scale
        state.scale = 0  # the slice runs again, charged, in the groups' own runs
        try:
            bounds = self.blocks.run_ops(
                plan.bounds_slice,
                ((op.body.block.args[0], lb + step * every),),
                plan.varying_bounds,
            )
        finally:
            state.scale = saved_scale
        counts = []
        for index, nested in enumerate(plan.varying):
            nested_lb, nested_ub, nested_step = (
                np.broadcast_to(v, every.shape) for v in bounds[3 * index : 3 * index + 3]
            )
            _check_steps_up(nested, nested_step)
            counts.append(_trip_counts(nested_lb, nested_ub, nested_step))
        keys = np.stack(counts, axis=1)
        if (keys == keys[0]).all():  # the usual case: no program is cut short
            return [every]
        _, which = np.unique(keys, axis=0, return_inverse=True)
        which = which.reshape(-1)
        return [every[which == group] for group in range(int(which.max()) + 1)]

    def _run_nested_on_arrays(self, interpreter, op: scf.ForOp, lb, ub, step, inits):
        """A loop nested in one run on arrays, on its own axis. Its bounds may vary along
        the outer axes (per program), as long as its trip count does not."""
        trip_counts = _trip_counts(np.asarray(lb), ub, step)
        trips = int(np.max(trip_counts, initial=0))
        if np.any(np.asarray(step) <= 0) or np.any(trip_counts != trips):
            raise InterpreterError(
                f"scf.for{at_location(op)} runs on arrays with bounds that differ in trip "
                "count or do not step up"
            )
        counter_of(interpreter).charge_loop(op, trips)
        axis = self.axis + 1
        shape = [1] * self.rank
        shape[axis] = trips
        iv = np.asarray(lb) + np.asarray(step) * np.arange(trips, dtype=np.int64).reshape(shape)
        return self._run_on_arrays(interpreter, op, iv, trips, tuple(inits))

    def _run_in_sequence(self, interpreter, op: scf.ForOp, lb, ub, step, values):
        block = op.body.block
        state = self.state
        units = self._program_units(op, lb, ub, step)
        outside = state.unit
        try:
            for n, i in enumerate(range(lb, ub, step)):
                if units is not None:
                    state.unit = units + n
                values = self._run_iteration(block, i, values)
        finally:
            state.unit = outside
        return tuple(values)

    def _program_units(self, op: scf.ForOp, lb, ub, step) -> int | None:
        """The first of fresh units for the iterations of a context's outermost loop."""
        if not self.orders_programs(op):
            return None
        trips = len(range(lb, ub, step))
        return self.state.ledger.new_units(trips, self.state.current.label, op, lb, step)

    def _run_iteration(self, block: Block, i, values):
        state = self.state
        mark = len(state.live_buffers)
        values = self.blocks.run(block, (i, *values))
        state.release_to(mark)
        return values

    def _run_on_arrays(self, interpreter, op: scf.ForOp, iv, trips: int, inits, units=None):
        """The body once, on `iv`: the induction variable's values along the loop's own
        axis (self.axis + 1), charged `trips` times."""
        if trips == 0:
            return tuple(inits)
        plan = self.plan(op)
        outer_axis = self.axis
        axis = outer_axis + 1
        block = op.body.block
        state = self.state
        saved_scale, saved_unit = state.scale, state.unit
        state.scale *= trips
        self.axis = axis
        if units is not None:
            state.unit = units
        try:
            values = self.blocks.run(block, (iv, *inits), plan.accumulated, plan.combiners)
            results = []
            for index, (combiner, value) in enumerate(zip(plan.combiners, values)):
                counter_of(interpreter).charge(combiner, 1)
                results.append(self._reduce(combiner, inits[index], value, iv, axis))
        finally:
            state.scale, state.unit = saved_scale, saved_unit
            self.axis = outer_axis
        return tuple(results)

    def _reduce(self, combiner: Operation, init, value, iv: np.ndarray, axis: int):
        ufunc = COMBINERS[type(combiner)].ufunc
        result_type = combiner.results[0].type
        lanes = tuple(result_type.get_shape()) if isinstance(result_type, VectorType) else ()
        full = np.broadcast_to(value, np.broadcast_shapes(np.shape(value), iv.shape + lanes))
        reduced = ufunc.reduce(full, axis=axis, keepdims=True)
        result = ufunc(init, reduced)
        if axis == 0:  # leaving the nest: back to a scalar or one vector
            return result.reshape(lanes) if lanes else result.reshape(-1)[0]
        return result

    @impl(scf.IfOp)
    def run_if(self, interpreter: Interpreter, op: scf.IfOp, args):
        (condition,) = args
        if isinstance(condition, np.ndarray):
            raise InterpreterError(f"scf.if{at_location(op)} in a loop run on arrays")
        region = op.true_region if condition else op.false_region
        if not region.blocks:
            return ()
        return self.blocks.run_region(region, (), op)
