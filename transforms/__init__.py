"""xnpu's passes, one a file named after the pass."""

from collections.abc import Callable
from importlib import import_module

from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from xnpu.machines import Machine, MachineError, load_machine


def _on_first_use(module: str, name: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(import_module(f"xnpu.transforms.{module}"), name)


XNPU_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "npu-lower-triton": _on_first_use("npu_lower_triton", "NpuLowerTritonPass"),
    "npu-vectorize": _on_first_use("npu_vectorize", "NpuVectorizePass"),
    "npu-multithread": _on_first_use("npu_multithread", "NpuMultithreadPass"),
    "npu-double-buffer": _on_first_use("npu_double_buffer", "NpuDoubleBufferPass"),
}
"""xnpu's passes by their command-line name, each imported on first use."""


def pass_machine(pass_name: str, machine: str, error: type[Exception] = PassFailedException) -> Machine:
    """The machine model a pass's `machine` option names; a bad one fails the pass."""
    try:
        return load_machine(machine)
    except MachineError as problem:
        raise error(f"{pass_name}: {problem}") from None
