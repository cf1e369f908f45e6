"""
xnpu: how an MLIR-style AI kernel compiler hides memory latency and exploits
parallelism on an edge NPU, measured on a simulated one with xDSL.

    import xnpu
    module = xnpu.from_triton(kernel, signature={"x_ptr": "*fp32", "n": "i32"},
                              constexprs={"BLOCK": 1024})
    report = xnpu.run(module, x, out, n, grid=(n + 1023) // 1024)   # lowers, runs, times
    print(report.cycles, report.microseconds)
"""

from xnpu.frontend.triton import from_triton
from xnpu.frontend.ttir import TritonFrontendError


def __getattr__(name: str):
    # Not a cycle (this facade is the top layer): `import xnpu` stays light, and the
    # interpreter and the passes load on first use of run and lower.
    if name == "run":
        from xnpu.interpreters.runner import run

        return run
    if name == "lower":
        from xnpu.transforms.pipelines import lower

        return lower
    raise AttributeError(name)


__all__ = ["TritonFrontendError", "from_triton", "lower", "run"]
