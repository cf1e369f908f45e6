"""xnpu's passes, one a file named after the pass."""

from collections.abc import Callable

from xdsl.passes import ModulePass

XNPU_PASSES: dict[str, Callable[[], type[ModulePass]]] = {}
"""xnpu's passes by their command-line name, each imported on first use."""


def _npu_lower_triton() -> type[ModulePass]:
    from xnpu.transforms.npu_lower_triton import NpuLowerTritonPass

    return NpuLowerTritonPass


XNPU_PASSES["npu-lower-triton"] = _npu_lower_triton
