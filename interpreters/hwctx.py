"""`hwctx` on the functional layer: each context of a parallel region runs in turn,
recording its own trace; the timing engine runs them side by side."""

from __future__ import annotations

from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    impl,
    register_impls,
)

from xnpu.dialects import hwctx
from xnpu.dialects.location import at_location
from xnpu.interpreters.simulator.blocks import Blocks
from xnpu.interpreters.simulator.trace import ExecutionState, InterpreterError, Parallel


@register_impls
class XnpuHwctxFunctions(InterpreterFunctions):
    def __init__(self, state: ExecutionState, blocks: Blocks):
        self.state = state
        self.blocks = blocks

    @impl(hwctx.ParallelOp)
    def run_parallel(self, interpreter: Interpreter, op: hwctx.ParallelOp, args):
        state = self.state
        if state.current.label != "main" or state.scale != 1:
            raise InterpreterError(
                f"hwctx.parallel{at_location(op)} is nested in a parallel region or a loop run on arrays"
            )
        threads = state.machine.core.hardware_threads
        if op.context_count > threads:
            raise InterpreterError(
                f"hwctx.parallel{at_location(op)} runs {op.context_count} contexts, but machine "
                f"'{state.machine.name}' has {threads} hardware threads"
            )
        state.flush()
        parent, parent_unit, parent_context_unit = state.current, state.unit, state.context_unit
        mark = len(state.live_buffers)  # every context's buffers stay live until the join
        state.share(mark)
        children = []
        try:
            for context in range(op.context_count):
                state.current = state.new_trace(f"context {context}")
                state.unit = state.context_unit = state.ledger.new_units(1, state.current.label)
                children.append(state.current.context)
                self.blocks.run_region(op.body, (context,), op)
                state.flush()
                state.check_all_waited(f"context {context} of hwctx.parallel{at_location(op)}")
        finally:
            state.current = parent
            state.unit, state.context_unit = parent_unit, parent_context_unit
            state.unshare()
        state.release_to(mark)
        state.record(Parallel(op, tuple(children)))
        return ()

    @impl(hwctx.BarrierOp)
    def run_barrier(self, interpreter: Interpreter, op: hwctx.BarrierOp, args):
        raise InterpreterError(
            f"hwctx.barrier{at_location(op)}: the interpreter runs contexts one after "
            "another and cannot execute barriers (no xnpu pass emits them)"
        )
