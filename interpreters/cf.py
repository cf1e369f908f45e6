"""`cf.assert` for the interpreter: a kernel's own check (`tl.device_assert`,
Inductor's bounds checks) that fails the run with its message and source line."""

from __future__ import annotations

from xdsl.dialects import cf
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls

from xnpu.dialects.location import at_location
from xnpu.interpreters.simulator.trace import InterpreterError


class KernelAssertionError(InterpreterError):
    """A kernel's assertion that does not hold on the run's data."""


@register_impls
class XnpuCfFunctions(InterpreterFunctions):
    @impl(cf.AssertOp)
    def run_assert(self, interpreter: Interpreter, op: cf.AssertOp, args):
        if not bool(args[0]):
            raise KernelAssertionError(
                f"the kernel's assertion failed{at_location(op)}: {op.msg.data}"
            )
        return ()
