"""GELU in the tanh form the reference compiler's own tests use (hexagon-mlir's
test_gelu.py and test_double_buffer_gelu.py, the latter on 1,048,576 fp32 elements
in one program): tanh(u) = (1 - e^(-2u)) / (1 + e^(-2u)), with the exponential taken
in fp32 and everything else in the tensor's own type, so an fp16 tensor computes in
fp16 (`gelu_tanh_fp16` in the corpus: the same kernel on fp16 pointers)."""

import triton
import triton.language as tl


@triton.jit
def _tanh_by_exp(u):
    e = tl.exp((-2 * u).to(tl.float32)).to(u.dtype)
    return (1 - e) / (1 + e)


@triton.jit
def gelu_tanh(x_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = 0.5 * x * (1 + _tanh_by_exp(0.797885 * x + 0.035677 * x * x * x))
    tl.store(out_ptr + offsets, y, mask=mask)


SIGNATURE = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_elements": "i32"}
CONSTEXPRS = {"BLOCK_SIZE": 1024}

KERNEL = gelu_tanh
