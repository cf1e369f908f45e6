"""
Triton's backend for xnpu's simulated NPU (the `triton.backends` entry point names
this package: a `compiler` module and a `driver` module).

    import triton, xnpu
    triton.runtime.driver.set_active(xnpu.triton.Driver())
    add_kernel[grid](x, y, out, n, BLOCK=1024, level="vec+mt+db")
    print(xnpu.last_report())
"""

from xnpu.triton.driver import XnpuDriver as Driver

__all__ = ["Driver"]
