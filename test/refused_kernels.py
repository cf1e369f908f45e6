"""Kernels npu-lower-triton refuses, one per reason (test_legality.py)."""

import triton
import triton.language as tl


@triton.jit
def every_other_lane(x_ptr, out_ptr, BLOCK: tl.constexpr):
    """A store mask that is not a box (lanes < n per dimension)."""
    offs = tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs), mask=offs % 2 == 0)


@triton.jit
def masked_scalar_load(x_ptr, out_ptr, flag):
    """A scalar load under a mask."""
    tl.store(out_ptr, tl.load(x_ptr, mask=flag > 0, other=0.0))


@triton.jit
def chosen_pointer(x_ptr, y_ptr, out_ptr, BLOCK: tl.constexpr):
    """Pointers chosen lane by lane: not a kernel argument plus offsets."""
    offs = tl.arange(0, BLOCK)
    p = tl.where(offs < 4, x_ptr + offs, y_ptr + offs)
    tl.store(out_ptr + offs, tl.load(p))


@triton.jit
def reshaped(x_ptr, out_ptr, BLOCK: tl.constexpr):
    """A reshape that moves lanes between dimensions."""
    offs = tl.arange(0, BLOCK)
    x = tl.reshape(tl.load(x_ptr + offs), (BLOCK // 8, 8))
    tl.store(out_ptr + tl.arange(0, BLOCK // 8), tl.sum(x, axis=1))
