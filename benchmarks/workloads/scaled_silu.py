"""A workload for `xnpu-bench explore --kernel benchmarks/workloads/scaled_silu.py`: a
Triton kernel of the user's own, launched as Triton launches it (bench/workload.py)."""

import torch
import triton
import triton.language as tl


@triton.jit
def scaled_silu(x_ptr, out_ptr, scale, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, scale * x * tl.sigmoid(x), mask=mask)


def inputs(size, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(size, generator=generator), 1.5


def run(x, scale):
    out = torch.empty_like(x)
    scaled_silu[(triton.cdiv(x.numel(), 1024),)](x, out, scale, x.numel(), BLOCK=1024)
    return out


def reference(x, scale):
    return scale * torch.nn.functional.silu(x)
