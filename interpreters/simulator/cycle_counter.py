"""
The listener that counts what each executed operation costs on the machine model.

Every op the interpreter executes is priced once by costs/ops.py (the
passes' profitability estimates use the same prices). The `CycleCounter` adds that price, times the number
of loop iterations the op stands for, to the running context's trace: a loop run once
on index arrays still costs trip count x per-iteration cycles.
"""

from __future__ import annotations

from xdsl.interpreter import Interpreter
from xdsl.ir import Operation

from xnpu.costs.ops import UnpricedOp, op_price
from xnpu.costs.transfers import loop_trip_cycles
from xnpu.interpreters.simulator.trace import ExecutionState, InterpreterError
from xnpu.machines import Machine


class CostError(InterpreterError):
    """An op the machine model cannot price."""


def price(op: Operation, machine: Machine) -> tuple[float, bool, int]:
    """(cycles, runs on the vector unit, DDR bytes it moves) for one execution."""
    try:
        return op_price(op, machine)
    except UnpricedOp as error:
        raise CostError(str(error)) from None


class CycleCounter(Interpreter.Listener):
    """Adds each executed op's price, times the iterations it stands for, to the
    current context's pending compute."""

    def __init__(self, state: ExecutionState):
        self.state = state
        self.prices: dict[Operation, tuple[float, bool, int]] = {}

    def price_of(self, op: Operation) -> tuple[float, bool, int]:
        known = self.prices.get(op)
        if known is None:
            known = self.prices[op] = price(op, self.state.machine)
        return known

    def will_interpret_op(self, op: Operation, args) -> None:
        cycles, is_vector, ddr_bytes = self.price_of(op)
        if cycles or ddr_bytes:
            self.state.charge(cycles, is_vector, ddr_bytes, self.state.scale)

    def charge_loop(self, loop: Operation, trips: int) -> None:
        """The increment, compare and branch of `trips` iterations."""
        cycles = loop_trip_cycles(self.state.machine)
        self.state.charge(cycles, False, 0, trips * self.state.scale)

    def charge(self, op: Operation, times: int) -> None:
        """Charges `op` for `times` executions the interpreter did not dispatch."""
        cycles, is_vector, ddr_bytes = self.price_of(op)
        self.state.charge(cycles, is_vector, ddr_bytes, times * self.state.scale)


def counter_of(interpreter: Interpreter) -> CycleCounter:
    for listener in interpreter.listeners:
        if isinstance(listener, CycleCounter):
            return listener
    raise CostError("the interpreter has no xnpu CycleCounter listener")
