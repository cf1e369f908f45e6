"""xnpu's passes, one a file named after the pass, and the checks they share."""

from collections.abc import Callable, Mapping
from dataclasses import fields
from importlib import import_module

from xdsl.dialects import func
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import hwctx, spm, tile, tt
from xnpu.dialects.location import at_location
from xnpu.machines import Machine, MachineError, load_machine


def _on_first_use(module: str, name: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(import_module(f"xnpu.transforms.{module}"), name)


XNPU_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "npu-lower-triton": _on_first_use("npu_lower_triton", "NpuLowerTritonPass"),
    "npu-matrix": _on_first_use("npu_matrix", "NpuMatrixPass"),
    "npu-lower-tiles": _on_first_use("npu_lower_tiles", "NpuLowerTilesPass"),
    "npu-tile": _on_first_use("npu_tile", "NpuTilePass"),
    "npu-vectorize": _on_first_use("npu_vectorize", "NpuVectorizePass"),
    "npu-multithread": _on_first_use("npu_multithread", "NpuMultithreadPass"),
    "npu-double-buffer": _on_first_use("npu_double_buffer", "NpuDoubleBufferPass"),
}
"""xnpu's passes by their command-line name, each imported on first use."""


_OPTION_TYPES = {"int": int, "str": str, "None": type(None), "Machine": Machine}


def check_option_types(module_pass: ModulePass) -> None:
    """Fails the pass when an option's value is not of its declared type (a Python
    caller can pass anything: `contexts=2.5`, `buffers="2"`); bools are not ints."""
    for option in fields(module_pass):
        value = getattr(module_pass, option.name)
        declared = str(option.type)
        allowed = tuple(_OPTION_TYPES[part.strip()] for part in declared.split("|"))
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise PassFailedException(
                f"{module_pass.name}: option {option.name} must be {declared}, got {value!r}"
            )


def check_lowered(pass_name: str, module: Operation) -> None:
    """Fails a pass that works on loops when `module` still holds `tt` kernels or
    tile-level ops: it would leave them as they are, and say nothing."""
    for op in module.walk():
        if isinstance(op, tt.FuncOp):
            raise PassFailedException(
                f"{pass_name}: @{op.sym_name.data} is a tt kernel, not lowered IR; run "
                f"npu-lower-triton first (xdsl-opt -p npu-lower-triton,npu-lower-tiles,npu-tile,...)"
            )
        if isinstance(op, tile.LEVEL_OPS):
            raise PassFailedException(
                f"{pass_name}: the module is at the tile level ({op.name}{at_location(op)}); "
                "run npu-lower-tiles first"
            )


def pass_machine(
    pass_name: str, machine: str | Machine, error: type[Exception] = PassFailedException
) -> Machine:
    """The machine model a pass's `machine` option names; a bad one fails the pass."""
    try:
        return load_machine(machine)
    except MachineError as problem:
        raise error(f"{pass_name}: {problem}") from None


def check_contexts(pass_name: str, contexts: int, machine: Machine) -> None:
    """Fails `pass_name` unless 1 <= contexts <= the machine's hardware threads."""
    threads = machine.core.hardware_threads
    if not 1 <= contexts <= threads:
        raise PassFailedException(
            f"{pass_name}: contexts must be between 1 and the {threads} hardware "
            f"threads of machine '{machine.name}', got {contexts}"
        )


def check_scratchpad_fits(
    scope: Operation,
    machine: Machine,
    pass_name: str,
    remedy: str,
    error: type[Exception] = PassFailedException,
) -> None:
    """Fails `pass_name` when the buffers of a function in `scope`, one set per
    context of the hwctx.parallel regions they live in, exceed the machine's
    scratchpad."""
    for function in scope.walk():
        if isinstance(function, func.FuncOp):
            _check_function_fits(function, machine, pass_name, remedy, error)


def scratchpad_problem(
    function: func.FuncOp, machine: Machine, copies_of: Mapping[spm.AllocOp, int] | None = None
) -> str | None:
    """What the buffers of `function`, one set per context of the hwctx.parallel
    regions they live in (and `copies_of` an alloc times over: what a pass would make
    of it), take beyond the machine's scratchpad; None when they fit. A pass asks it
    before a rewrite to decline what would not fit, after one to fail."""
    buffers = []
    for alloc in function.walk():
        if isinstance(alloc, spm.AllocOp):
            copies, region = (copies_of or {}).get(alloc, 1), alloc.parent_op()
            while region is not None:
                if isinstance(region, hwctx.ParallelOp):
                    copies *= region.context_count
                region = region.parent_op()
            buffers.append((alloc, copies))
    return spm.scratchpad_overflow(buffers, machine)


def _check_function_fits(
    function: func.FuncOp, machine: Machine, pass_name: str, remedy: str, error: type[Exception]
) -> None:
    problem = scratchpad_problem(function, machine)
    if problem is not None:
        raise error(
            f"{pass_name}: the scratchpad buffers of @{function.sym_name.data} take {problem}; {remedy}"
        )
