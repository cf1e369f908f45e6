"""GELU in its erf form, the paper's compute-heavier element-wise kernel."""

import triton
import triton.language as tl


@triton.jit
def gelu(x_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = 0.5 * x * (1.0 + tl.math.erf(x * 0.7071067811865476))
    tl.store(out_ptr + offsets, y, mask=mask)


SIGNATURE = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_elements": "i32"}
CONSTEXPRS = {"BLOCK_SIZE": 1024}

KERNEL = gelu
