"""
A module made ready to run on a machine, and kept for its next run.

Preparing builds xDSL's Interpreter with xnpu's functions, and those compile what they
meet on first use: blocks into steps (blocks.py), loops into plans (scf.py), ops into
prices (costs.py) and numpy kernels (arith.py). A module run again on the same machine
reuses all of it, and only the ExecutionState starts afresh. A module changed since
(its fingerprint, transforms/verified.py) is prepared anew.

    prepared = prepare(module, machine)     # verifies the module, unless done before
    with prepared.running() as (interpreter, state):
        interpreter.call_op(entry, args)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter
from xdsl.utils.exceptions import VerifyException

from xnpu.interpreters.arith import XnpuArithFunctions
from xnpu.interpreters.blocks import Blocks, CompiledBlocks, DispatchedBlocks
from xnpu.interpreters.costs import CycleCounter
from xnpu.interpreters.func import XnpuFuncFunctions
from xnpu.interpreters.hwctx import XnpuHwctxFunctions
from xnpu.interpreters.math import XnpuMathFunctions
from xnpu.interpreters.memref import XnpuMemRefFunctions
from xnpu.interpreters.scf import XnpuScfFunctions
from xnpu.interpreters.spm import XnpuSpmFunctions
from xnpu.interpreters.trace import ExecutionState, InterpreterError
from xnpu.interpreters.vector import XnpuVectorFunctions
from xnpu.machines import Machine
from xnpu.transforms.verified import verify_once

KEPT = 8
"""How many prepared modules are kept (the most recently run)."""


def make_interpreter(
    module: ModuleOp, state: ExecutionState, reference: bool = False
) -> tuple[Interpreter, Blocks]:
    """xDSL's Interpreter, counting cycles into `state`, with xnpu's functions for every
    dialect the lowering emits; their blocks run compiled (blocks.py), or, for the
    `reference`, op by op through xDSL's own dispatch."""
    counter = CycleCounter(state)
    interpreter = Interpreter(module, listeners=(counter,))
    blocks = DispatchedBlocks(interpreter) if reference else CompiledBlocks(interpreter, counter)
    for functions in (
        XnpuFuncFunctions(blocks),
        XnpuArithFunctions(),
        XnpuMathFunctions(),
        XnpuMemRefFunctions(state),
        XnpuScfFunctions(state, blocks),
        XnpuSpmFunctions(state),
        XnpuVectorFunctions(state),
        XnpuHwctxFunctions(state, blocks),
    ):
        interpreter.register_implementations(functions, override=True)
        if isinstance(blocks, CompiledBlocks):
            blocks.implement(functions)
    return interpreter, blocks


@dataclass
class Prepared:
    """`module`'s interpreter for `machine`, with what its functions compiled so far;
    `fingerprint` is the module's when it was prepared, `busy` while a run uses it (a
    run that finds it busy, from another thread, prepares its own)."""

    module: ModuleOp
    machine: Machine
    reference: bool
    fingerprint: int
    state: ExecutionState
    interpreter: Interpreter
    blocks: Blocks
    busy: bool = field(default=False)

    @contextmanager
    def running(self) -> Iterator[tuple[Interpreter, ExecutionState]]:
        """The interpreter and its state for one run; afterwards the run's values and
        state are let go (a report keeps what it needs)."""
        self.busy = True
        try:
            yield self.interpreter, self.state
        finally:
            self.blocks.forget_values()
            self.state.reset()
            self.busy = False


_KEPT: OrderedDict[int, Prepared] = OrderedDict()


def prepare(module: ModuleOp, machine: Machine, reference: bool = False) -> Prepared:
    """`module` ready to run on `machine`: the one kept from its last run if it is
    unchanged and not running, else made afresh (and verified, unless unchanged since
    its last verification)."""
    try:
        current = verify_once(module)
    except VerifyException as error:
        raise InterpreterError(f"the module does not verify: {error}") from None
    kept = _KEPT.get(id(module))
    if (
        kept is not None
        and kept.module is module
        and kept.fingerprint == current
        and kept.machine is machine
        and kept.reference == reference
        and not kept.busy
    ):
        _KEPT.move_to_end(id(module))
        return kept
    state = ExecutionState(machine)
    interpreter, blocks = make_interpreter(module, state, reference)
    prepared = Prepared(module, machine, reference, current, state, interpreter, blocks)
    if kept is None or not kept.busy:
        _KEPT[id(module)] = prepared
        _KEPT.move_to_end(id(module))
        while len(_KEPT) > KEPT:
            _KEPT.popitem(last=False)
    return prepared
