"""
A module made ready to run on a machine, and kept for its next run.

Preparing builds xDSL's Interpreter with xnpu's functions, and those compile what they
meet on first use: blocks into steps (blocks.py), loops into plans (scf.py), ops into
prices (costs.py) and numpy kernels (arith.py). A module run again on the same machine
reuses all of it, and only the ExecutionState starts afresh. A module changed since
(its fingerprint, dialects/verified.py) is prepared anew.

    with prepared(module, machine) as ready:     # verifies the module, unless done before
        ready.interpreter.call_op(entry, args)  # and counts into ready.state
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter
from xdsl.utils.exceptions import VerifyException

from xnpu.dialects.verified import verify_once
from xnpu.interpreters.arith import XnpuArithFunctions
from xnpu.interpreters.cf import XnpuCfFunctions
from xnpu.interpreters.func import XnpuFuncFunctions
from xnpu.interpreters.hwctx import XnpuHwctxFunctions
from xnpu.interpreters.math import XnpuMathFunctions
from xnpu.interpreters.memref import XnpuMemRefFunctions
from xnpu.interpreters.scf import XnpuScfFunctions
from xnpu.interpreters.simulator.blocks import Blocks, CompiledBlocks, DispatchedBlocks
from xnpu.interpreters.simulator.cycle_counter import CycleCounter
from xnpu.interpreters.simulator.trace import ExecutionState, InterpreterError
from xnpu.interpreters.spm import XnpuSpmFunctions
from xnpu.interpreters.vector import XnpuVectorFunctions
from xnpu.machines import Machine

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
        XnpuCfFunctions(),
        XnpuArithFunctions(),
        XnpuMathFunctions(),
        XnpuMemRefFunctions(state),
        XnpuScfFunctions(state, blocks),
        XnpuSpmFunctions(state),
        XnpuVectorFunctions(state),
        XnpuHwctxFunctions(state, blocks),
    ):
        interpreter.register_implementations(functions, override=True)
        blocks.implement(functions)
    return interpreter, blocks


@dataclass
class Prepared:
    """`module`'s interpreter for `machine`, with what its functions compiled so far;
    `fingerprint` is the module's when it was prepared, `busy` while a run uses it (a
    run that finds it busy, in another thread, prepares its own)."""

    module: ModuleOp
    machine: Machine
    reference: bool
    fingerprint: int
    state: ExecutionState
    interpreter: Interpreter
    blocks: Blocks
    busy: bool = field(default=False)

    def serves(self, module: ModuleOp, fingerprint: int, machine: Machine, reference: bool):
        return (
            self.module is module
            and self.fingerprint == fingerprint
            and self.machine is machine
            and self.reference == reference
            and not self.busy
        )


_KEPT: OrderedDict[int, Prepared] = OrderedDict()
_CLAIMING = threading.Lock()


@contextmanager
def prepared(module: ModuleOp, machine: Machine, reference: bool = False) -> Iterator[Prepared]:
    """`module` ready to run on `machine`, for one run: the one kept from its last run
    if it is unchanged and not running, else made afresh (and verified, unless
    unchanged since its last verification). Afterwards the run's values and state
    are let go (a report keeps what it needs)."""
    try:
        current = verify_once(module)
    except VerifyException as error:
        raise InterpreterError(f"the module does not verify: {error}") from None
    with _CLAIMING:
        kept = _KEPT.get(id(module))
        claimed = (
            kept if kept is not None and kept.serves(module, current, machine, reference) else None
        )
        if claimed is not None:
            claimed.busy = True
            _KEPT.move_to_end(id(module))
    if claimed is None:
        state = ExecutionState(machine)
        interpreter, blocks = make_interpreter(module, state, reference)
        claimed = Prepared(module, machine, reference, current, state, interpreter, blocks, True)
        with _CLAIMING:
            if kept is None or not kept.busy:
                _KEPT[id(module)] = claimed
                _KEPT.move_to_end(id(module))
                while len(_KEPT) > KEPT:
                    _KEPT.popitem(last=False)
    try:
        yield claimed
    finally:
        claimed.blocks.forget_values()
        claimed.state.reset()
        claimed.busy = False
