"""xnpu's passes, one a file named after the pass."""

from collections.abc import Callable

from xdsl.passes import ModulePass

XNPU_PASSES: dict[str, Callable[[], type[ModulePass]]] = {}
"""xnpu's passes by their command-line name, each imported on first use."""


def _npu_lower_triton() -> type[ModulePass]:
    from xnpu.transforms.npu_lower_triton import NpuLowerTritonPass

    return NpuLowerTritonPass


XNPU_PASSES["npu-lower-triton"] = _npu_lower_triton


def _npu_vectorize() -> type[ModulePass]:
    from xnpu.transforms.npu_vectorize import NpuVectorizePass

    return NpuVectorizePass


XNPU_PASSES["npu-vectorize"] = _npu_vectorize


def _npu_multithread() -> type[ModulePass]:
    from xnpu.transforms.npu_multithread import NpuMultithreadPass

    return NpuMultithreadPass


XNPU_PASSES["npu-multithread"] = _npu_multithread


def _npu_double_buffer() -> type[ModulePass]:
    from xnpu.transforms.npu_double_buffer import NpuDoubleBufferPass

    return NpuDoubleBufferPass


XNPU_PASSES["npu-double-buffer"] = _npu_double_buffer
