"""Half-precision kernels: sums accumulate wider than fp16 (as HVX's do), and 16-bit
data moves and computes at least as fast as 32-bit at every vector level."""

from __future__ import annotations

import pytest
import torch
import triton
import triton.language as tl

import xnpu
from xnpu.kernels.rms_norm import rms_norm
from xnpu.kernels.softmax import softmax


@triton.jit
def block_sum(x_ptr, out_ptr, BLOCK: tl.constexpr):
    tl.store(out_ptr, tl.sum(tl.load(x_ptr + tl.arange(0, BLOCK)), axis=0))


@pytest.mark.parametrize("level", ["scalar", "vec", "vec+mt+db"])
def test_an_fp16_sum_of_a_million_elements_is_the_sum_rounded_once(xnpu_driver, level):
    """Summed in fp16, 2^20 terms drift by hundreds of units (-467.75 for -512.0
    was seen); summed in f32 and rounded once, the result is fp16's nearest to the
    true sum."""
    x = torch.randn(1 << 20, generator=torch.Generator().manual_seed(3)).to(torch.float16)
    out = torch.zeros(1, dtype=torch.float16)
    block_sum[(1,)](x, out, BLOCK=x.numel(), level=level)
    exact = x.double().sum()
    assert abs(out.double().item() - exact.item()) <= 0.5 * _spacing(exact.to(torch.float16))


def _spacing(value: torch.Tensor) -> float:
    return (
        torch.nextafter(value.float().abs().half(), torch.tensor(torch.inf).half())
        - value.float().abs().half()
    ).item()


def _cycles(kernel, dtype, level) -> float:
    rows, cols = 512, 256
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, cols, generator=g).to(dtype)
    y = torch.empty_like(x)
    if kernel == "rms_norm":
        w = torch.randn(cols, generator=g).to(dtype)
        rms_norm[(rows,)](x, y, w, cols, cols, 1e-6, BLOCK_SIZE=cols, level=level)
        want = x.float() * torch.rsqrt(x.float().pow(2).mean(1, keepdim=True) + 1e-6) * w.float()
    else:
        softmax[(rows,)](y, x, cols, cols, cols, BLOCK_SIZE=cols, level=level)
        want = torch.softmax(x.float(), 1)
    tolerance = 1e-5 if dtype == torch.float32 else 2e-2
    assert torch.allclose(y.float(), want, rtol=tolerance, atol=tolerance)
    return xnpu.last_report().cycles


@pytest.mark.parametrize("level", ["vec", "vec+mt", "vec+mt+db"])
@pytest.mark.parametrize("kernel", ["rms_norm", "softmax"])
def test_fp16_row_kernels_are_at_least_as_fast_as_fp32(xnpu_driver, kernel, level):
    assert _cycles(kernel, torch.float16, level) <= _cycles(kernel, torch.float32, level)
