"""
A polynomial of constexpr degree, the family behind `xnpu-bench db-sweep`: each
degree adds one multiply-add pair and a scaling multiply per element, so DEGREE
sets the arithmetic intensity while the bytes moved stay the same.

    out = 1 + x(1 + x/2(1 + x/3(... (1 + x/DEGREE))))    (exp's Taylor series, by Horner)
"""

import triton
import triton.language as tl


@triton.jit
def polynomial(x_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr, DEGREE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    acc = tl.full([BLOCK_SIZE], 1.0, tl.float32)
    for k in tl.static_range(DEGREE, 0, -1):
        acc = acc * (x * (1.0 / k)) + 1.0
    tl.store(out_ptr + offsets, acc, mask=mask)


SIGNATURE = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_elements": "i32"}
CONSTEXPRS = {"BLOCK_SIZE": 1024, "DEGREE": 8}

KERNEL = polynomial
