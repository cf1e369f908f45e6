"""
What each operation costs on the machine model, and the listener that counts it.

Every op the interpreter executes is priced once (by name, by whether it works on
vectors, and for loads and stores by the memory space it touches) from the machine's
`[scalar]` and `[vector]` tables. The `CycleCounter` adds that price, times the number
of loop iterations the op stands for, to the running context's trace: a loop run once
on index arrays still costs trip count x per-iteration cycles.
"""

from __future__ import annotations

from xdsl.dialects.builtin import MemRefType, VectorType
from xdsl.interpreter import Interpreter
from xdsl.ir import Operation

from xnpu.dialects.spm import is_scratchpad
from xnpu.interpreters.trace import ExecutionState, InterpreterError
from xnpu.machines import Machine

FREE = "free"

COST_CLASS: dict[str, str] = {
    **dict.fromkeys(
        ["arith.addi", "arith.subi", "arith.andi", "arith.ori", "arith.xori",
         "arith.shli", "arith.shrsi", "arith.shrui", "arith.maxsi", "arith.minsi",
         "arith.maxui", "arith.minui"], "int_alu"),
    **dict.fromkeys(["arith.muli"], "int_mul"),
    **dict.fromkeys(
        ["arith.divsi", "arith.divui", "arith.remsi", "arith.remui",
         "arith.floordivsi", "arith.ceildivsi", "arith.ceildivui"], "int_div"),
    **dict.fromkeys(["arith.addf", "arith.subf"], "fp_add"),
    **dict.fromkeys(["arith.mulf", "math.fma"], "fp_mul"),
    **dict.fromkeys(["arith.divf", "arith.remf"], "fp_div"),
    **dict.fromkeys(
        ["arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf",
         "arith.negf", "math.absf", "math.floor", "math.ceil", "math.copysign"],
        "fp_minmax"),
    **dict.fromkeys(["arith.cmpi", "arith.cmpf"], "compare"),
    **dict.fromkeys(["arith.select", "scf.if"], "select"),  # small ifs are predicated
    "vector.broadcast": "int_alu", "vector.reduction": "horizontal_reduce",
    "vector.fma": "fp_mul",
    **dict.fromkeys(
        ["arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui", "arith.extf",
         "arith.truncf", "arith.extsi", "arith.extui", "arith.trunci", "arith.bitcast"],
        "convert"),
    "math.exp": "exp", "math.exp2": "exp", "math.log": "log", "math.log2": "log",
    "math.erf": "erf", "math.tanh": "tanh", "math.rsqrt": "rsqrt", "math.sqrt": "sqrt",
    "math.sin": "sin", "math.cos": "cos", "math.powf": "pow",
    # free: folded into addressing, immediates, or priced as a whole elsewhere
    **dict.fromkeys(
        ["arith.constant", "arith.index_cast", "scf.yield", "scf.for", "func.return",
         "func.call", "spm.alloc", "spm.copy", "spm.dma_start", "spm.dma_wait",
         "spm.completed", "hwctx.parallel", "hwctx.yield", "hwctx.barrier"], FREE),
}  # fmt: skip
"""Op name -> cost class of the machine tables ("free" costs nothing)."""


MEMORY_ACCESSES = {
    "memref.load": "load", "memref.store": "store",
    "vector.load": "load", "vector.store": "store",
}  # fmt: skip
"""Ops priced as loads or stores of the memory space they touch."""


class CostError(InterpreterError):
    """An op the machine model cannot price."""


def price(op: Operation, machine: Machine) -> tuple[float, bool, int]:
    """(cycles, runs on the vector unit, DDR bytes it moves) for one execution."""
    is_vector = any(isinstance(v.type, VectorType) for v in (*op.operands, *op.results))
    table = machine.vector if is_vector else machine.scalar
    if op.name in MEMORY_ACCESSES:
        kind = MEMORY_ACCESSES[op.name]
        buffer = op.operands[0] if kind == "load" else op.operands[1]
        assert isinstance(buffer.type, MemRefType)
        where = "spm" if is_scratchpad(buffer.type) else "ddr"
        value = op.results[0] if kind == "load" else op.operands[0]
        nbytes = 0
        if where == "ddr":
            element = buffer.type.element_type
            lanes = value.type.get_num_elements() if isinstance(value.type, VectorType) else 1
            nbytes = lanes * element.bitwidth // 8
        return table[f"{where}_{kind}"], is_vector, nbytes
    cost_class = COST_CLASS.get(op.name)
    if cost_class is None:
        raise CostError(
            f"machine '{machine.name}' has no cost for '{op.name}' (interpreters/costs.py "
            "maps ops to cost classes)"
        )
    if cost_class == FREE:
        return 0.0, False, 0
    return table[cost_class], is_vector, 0


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
        cycles = self.state.machine.scalar["loop_iteration"]
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
