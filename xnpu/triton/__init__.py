"""
Triton's backend for xnpu's simulated NPU (the `triton.backends` entry point names
this package: a `compiler` module and a `driver` module).

    import triton, xnpu
    triton.runtime.driver.set_active(xnpu.triton.Driver())
    add_kernel[grid](x, y, out, n, BLOCK=1024, level="vec+mt+db")
    print(xnpu.last_report())
"""

# Triton first: importing it finds its backends, this package's modules among them, and
# they must not be half-imported then (as they would be if one of them imported Triton).
import triton  # noqa: F401, I001

from xnpu.triton.driver import XnpuDriver as Driver

__all__ = ["Driver"]
