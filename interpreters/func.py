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
    ReturnedValues,
    impl,
    impl_callable,
    impl_terminator,
    register_impls,
)

from xnpu.interpreters.trace import InterpreterError


@register_impls
class XnpuFuncFunctions(InterpreterFunctions):
    @impl_terminator(func.ReturnOp)
    def run_return(self, interpreter: Interpreter, op: func.ReturnOp, args):
        return ReturnedValues(args), ()

    @impl(func.CallOp)
    def run_call(self, interpreter: Interpreter, op: func.CallOp, args):
        return interpreter.call_op(op.callee, args)

    @impl_callable(func.FuncOp)
    def call_func(self, interpreter: Interpreter, op: func.FuncOp, args):
        if not op.body.blocks:
            raise InterpreterError(f"@{op.sym_name.data} is a declaration, with no body to run")
        return interpreter.run_ssacfg_region(op.body, args, op.sym_name.data)
