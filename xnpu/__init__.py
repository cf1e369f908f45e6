"""
xnpu: how an MLIR-style AI kernel compiler hides memory latency and exploits
parallelism on an edge NPU, measured on a simulated one with xDSL.

    import xnpu
    module = xnpu.from_triton(kernel, signature={"x_ptr": "*fp32", "n": "i32"},
                              constexprs={"BLOCK": 1024})
    report = xnpu.run(module, x, out, n, grid=(n + 1023) // 1024)   # lowers, runs, times
    print(report.cycles, report.microseconds)

    triton.runtime.driver.set_active(xnpu.triton.Driver())        # or launch as usual
    kernel[grid](x, out, n, BLOCK=1024, level="vec+mt+db"); print(xnpu.last_report())
"""

import importlib

_LAZY = {
    "from_triton": "xnpu.frontend.triton",
    "TritonFrontendError": "xnpu.frontend.ttir",
    "capture_inductor_kernels": "xnpu.frontend.inductor",
    "lower": "xnpu.transforms.pipelines",
    "run": "xnpu.interpreters.simulator.runner",
    "session": "xnpu.triton.launch",
    "last_report": "xnpu.triton.launch",
    "LaunchError": "xnpu.triton.launch",
}
"""Each name and the module that defines it: loaded on first use, so that `import
xnpu` stays light (Triton imports part of xnpu whenever it is imported itself, to
find its backends)."""


def __getattr__(name: str):
    # Not a cycle (this facade is the top layer): the names load on first use.
    if name == "triton":
        return importlib.import_module("xnpu.triton")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xnpu' has no attribute '{name}'")


__all__ = [*_LAZY, "triton"]
