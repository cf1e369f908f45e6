"""
How xnpu runs the ops of a block: compiled once into steps, or dispatched by xDSL.

xDSL's `Interpreter.run_op` looks up an op's implementation, calls the listeners and
keeps values in scoped dictionaries each time an op runs. A tile loop runs the same
few dozen ops thousands of times, so `CompiledBlocks` does that work once per block:

    step = (call, op, operand slots, result slots, price)

where `call` maps operand values to result values: the op's registered implementation,
or the `direct(op)` callable its InterpreterFunctions offers (arith: the op's numpy
kernel, with none of the dispatch around it).

Values live in one flat list for the whole run, one slot per SSA value: an SSA value
is assigned once, so a loop's next iteration overwrites its slots, and dominance
guarantees a slot is written before it is read. Running a block is then one call per
op, and one `ExecutionState.charge` per priced op: the prices the CycleCounter
listener charges under xDSL's dispatch, in the same order.

`DispatchedBlocks` runs the same blocks through `Interpreter.run_op` and xDSL's scoped
values, with the listener pricing each op: the reference semantics the compiled steps
are tested against (`run(..., reference=True)`).

The implementations of the ops that hold regions (func, scf, hwctx) run their blocks
through the run's `Blocks`; every other implementation is xDSL's kind and knows
neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from xdsl.interpreter import Interpreter, InterpreterFunctions
from xdsl.ir import Block, Operation, Region, SSAValue

from xnpu.dialects.location import at_location
from xnpu.interpreters.simulator.cycle_counter import CostError, CycleCounter
from xnpu.interpreters.simulator.trace import InterpreterError


def _single_block(region: Region, op: Operation) -> Block:
    block = region.blocks.first
    if block is None or block.next_block is not None:
        raise InterpreterError(
            f"{op.name}{at_location(op)} has a region of {len(region.blocks)} blocks: xnpu "
            "runs regions of one block"
        )
    return block


class Blocks:
    """Runs blocks' ops with the run's values; the interface both forms share."""

    def __init__(self, interpreter: Interpreter):
        self.interpreter = interpreter

    def run(
        self,
        block: Block,
        args: Sequence[Any],
        results: Sequence[SSAValue] | None = None,
        skipped: tuple[Operation, ...] = (),
    ) -> tuple:
        """Binds `block`'s arguments to `args`, runs its ops (but its terminator and
        `skipped`), and returns the values of `results` (by default the terminator's
        operands)."""
        raise NotImplementedError

    def run_ops(
        self,
        ops: tuple[Operation, ...],
        bindings: Sequence[tuple[SSAValue, Any]],
        results: Sequence[SSAValue],
    ) -> tuple:
        """Binds `bindings`, runs `ops` in order, returns the values of `results`."""
        raise NotImplementedError

    def implement(self, functions: InterpreterFunctions) -> None:
        """Takes the op implementations of `functions` (what compiled blocks call;
        dispatched blocks leave finding them to the interpreter)."""

    def forget_values(self) -> None:
        """Lets go of the values of the run that ended."""

    def run_region(self, region: Region, args: Sequence[Any], op: Operation) -> tuple:
        """The values `op`'s single-block `region` yields, run on `args`."""
        return self.run(_single_block(region, op), args)


class DispatchedBlocks(Blocks):
    """Every op through xDSL's `Interpreter.run_op`, values in its scoped dictionary."""

    def run(self, block, args, results=None, skipped=()):
        ops = tuple(op for op in block.ops if op is not block.last_op and op not in skipped)
        if results is None:
            results = block.last_op.operands
        return self.run_ops(ops, tuple(zip(block.args, args)), results)

    def run_ops(self, ops, bindings, results):
        interpreter = self.interpreter
        interpreter.push_scope("xnpu")
        try:
            interpreter.set_values(bindings)
            for op in ops:
                values = interpreter.run_op(op, interpreter.get_values(op.operands))
                interpreter.set_values(zip(op.results, values))
            return interpreter.get_values(results)
        finally:
            interpreter.pop_scope()


_UNPRICED = None
"""A step's price when pricing the op failed: the error is raised if the op runs."""


class CompiledBlocks(Blocks):
    """Blocks compiled once into steps over one flat list of values."""

    def __init__(self, interpreter: Interpreter, counter: CycleCounter):
        super().__init__(interpreter)
        self.counter = counter
        self.slots: dict[SSAValue, int] = {}
        self.values: list[Any] = []
        self.programs: dict[tuple, tuple] = {}
        self.implementations: dict[type[Operation], tuple] = {}

    def forget_values(self) -> None:
        self.values = [None] * len(self.values)

    def implement(self, functions: InterpreterFunctions) -> None:
        """Takes the op implementations of `functions`, as the interpreter registers
        them: the table xDSL's `register_impls` builds, which `Interpreter.
        register_implementations` reads through the same classmethod."""
        for op_type, implementation in type(functions)._impls():
            self.implementations[op_type] = (implementation, functions)

    def _slot(self, value: SSAValue) -> int:
        found = self.slots.get(value)
        if found is None:
            found = self.slots[value] = len(self.slots)
            self.values.append(None)
        return found

    def _slots(self, values: Sequence[SSAValue]) -> tuple[int, ...]:
        return tuple(self._slot(v) for v in values)

    def _step(self, op: Operation) -> tuple:
        found = self.implementations.get(type(op))
        if found is None:
            raise InterpreterError(f"{op.name}{at_location(op)} has no xnpu implementation")
        implementation, functions = found
        direct = getattr(functions, "direct", None)
        call = direct(op) if direct is not None else None
        if call is None:
            interpreter = self.interpreter
            call = lambda inputs: implementation(functions, interpreter, op, inputs).values  # noqa: E731
        operands = self._slots(op.operands)
        fetch = itemgetter(*operands) if len(operands) > 1 else None
        try:
            cycles, is_vector, ddr_bytes = self.counter.price_of(op)
            price = (cycles, is_vector, ddr_bytes) if cycles or ddr_bytes else ()
        except CostError:
            price = _UNPRICED
        return (call, op, operands, fetch, self._slots(op.results), price)

    def _program(self, key, ops, arguments: Sequence[SSAValue], results: Sequence[SSAValue]):
        """(argument slots, steps, result slots), compiled on first use."""
        program = self.programs.get(key)
        if program is None:
            steps = [self._step(op) for op in ops]
            program = (self._slots(arguments), steps, self._slots(results))
            self.programs[key] = program
        return program

    def run(self, block, args, results=None, skipped=()):
        key = (block, skipped)
        program = self.programs.get(key)
        if program is None:
            terminator = block.last_op
            ops = [op for op in block.ops if op is not terminator and op not in skipped]
            program = self._program(key, ops, block.args, terminator.operands)
        return self._execute(program, args, results)

    def run_ops(self, ops, bindings, results):
        names = tuple(value for value, _ in bindings)
        program = self._program((ops, names), ops, names, results)
        return self._execute(program, tuple(arg for _, arg in bindings), results)

    def _execute(self, program, args, results) -> tuple:
        arguments, steps, yielded = program
        values = self.values
        for slot, arg in zip(arguments, args, strict=True):
            values[slot] = arg
        state = self.counter.state
        op = None
        try:
            for call, op, operands, fetch, outputs_at, price in steps:
                if price:
                    cycles, is_vector, ddr_bytes = price
                    state.charge(cycles, is_vector, ddr_bytes, state.scale)
                elif price is _UNPRICED:
                    self.counter.price_of(op)  # raises the op's CostError
                if fetch is not None:
                    inputs = fetch(values)
                elif operands:
                    inputs = (values[operands[0]],)
                else:
                    inputs = ()
                outputs = call(inputs)
                if len(outputs_at) == 1 and len(outputs) == 1:
                    values[outputs_at[0]] = outputs[0]
                else:
                    for slot, output in zip(outputs_at, outputs, strict=True):
                        values[slot] = output
        except InterpreterError:
            raise
        except Exception as error:  # as xDSL's dispatch does: name the op that failed
            if op is None:
                raise
            op.emit_error("Error while interpreting op", error)
        if results is not None:
            return tuple(values[self._slot(v)] for v in results)
        return tuple(values[slot] for slot in yielded)
