"""Kernels npu-lower-triton refuses, one per reason (test_legality.py)."""

import triton
import triton.language as tl


@triton.jit
def every_other_lane(x_ptr, out_ptr, BLOCK: tl.constexpr):
    """A store mask that is not a box (lanes < n per dimension)."""
    offs = tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs), mask=offs % 2 == 0)


@triton.jit
def unevenly_bumped_pointers(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """A loop that moves its pointers further each trip."""
    pointers = x_ptr + tl.arange(0, BLOCK)
    for off in range(0, n, BLOCK):
        pointers += off
    tl.store(out_ptr + tl.arange(0, BLOCK), tl.load(pointers))


@triton.jit
def chosen_pointer(x_ptr, y_ptr, out_ptr, BLOCK: tl.constexpr):
    """Pointers chosen lane by lane: not a kernel argument plus offsets."""
    offs = tl.arange(0, BLOCK)
    p = tl.where(offs < 4, x_ptr + offs, y_ptr + offs)
    tl.store(out_ptr + offs, tl.load(p))


@triton.jit
def load_under_if(x_ptr, out_ptr, flag, BLOCK: tl.constexpr):
    """A load in a branch of an scf.if: both branches would run."""
    offs = tl.arange(0, BLOCK)
    if flag > 0:
        x = tl.load(x_ptr + offs)
    else:
        x = tl.zeros([BLOCK], tl.float32)
    tl.store(out_ptr + offs, x)


@triton.jit
def store_under_if(x_ptr, out_ptr, flag, BLOCK: tl.constexpr):
    """An scf.if that yields nothing: a conditional store."""
    offs = tl.arange(0, BLOCK)
    if flag > 0:
        tl.store(out_ptr + offs, tl.load(x_ptr + offs))


@triton.jit
def histogram(x_ptr, out_ptr, BLOCK: tl.constexpr, BINS: tl.constexpr):
    """tl.histogram: an op xnpu does not read."""
    counts = tl.histogram(tl.load(x_ptr + tl.arange(0, BLOCK)), BINS)
    tl.store(out_ptr + tl.arange(0, BINS), counts)
