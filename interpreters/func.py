"""
`func` for the interpreter: xnpu's own, because importing xDSL's (`xdsl.interpreters.func`)
loads every interpreter xDSL has, RISC-V's among them: a quarter of a second on the
first run of any kernel.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    impl,
    impl_callable,
    register_impls,
)

from xnpu.interpreters.simulator.blocks import Blocks
from xnpu.interpreters.simulator.trace import InterpreterError


@register_impls
class XnpuFuncFunctions(InterpreterFunctions):
    def __init__(self, blocks: Blocks):
        self.blocks = blocks

    @impl(func.CallOp)
    def run_call(self, interpreter: Interpreter, op: func.CallOp, args):
        return interpreter.call_op(op.callee, args)

    @impl_callable(func.FuncOp)
    def call_func(self, interpreter: Interpreter, op: func.FuncOp, args):
        if not op.body.blocks:
            raise InterpreterError(f"@{op.sym_name.data} is a declaration, with no body to run")
        return self.blocks.run_region(op.body, args, op)
