"""
xnpu: how an MLIR-style AI kernel compiler hides memory latency and exploits
parallelism on an edge NPU, measured on a simulated one with xDSL.

    import xnpu
    module = xnpu.from_triton(kernel, signature={"x_ptr": "*fp32", "n": "i32"},
                              constexprs={"BLOCK": 1024})
"""

from xnpu.frontend.triton import from_triton
from xnpu.frontend.ttir import TritonFrontendError

__all__ = ["TritonFrontendError", "from_triton"]
