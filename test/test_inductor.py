"""Inductor capture: the kernels it generates for gelu and softmax, ready for from_triton;
and its looped reductions (`triton_red_*`) run at every level."""

import functools

import pytest
import torch

import xnpu
from xnpu.frontend.inductor import capture_inductor_kernels
from xnpu.kernels import corpus_kernel
from xnpu.transforms.pipelines import LEVELS


def test_gelu_capture_matches_the_stored_corpus_kernel():
    (kernel,) = capture_inductor_kernels(torch.nn.functional.gelu, torch.randn(4096), dynamic=True)
    stored = corpus_kernel("inductor/gelu")
    assert kernel.name.startswith("triton_poi_fused_gelu")
    assert kernel.signature == stored.signature
    assert kernel.sizes == {"xnumel": 4096} and kernel.grid == (
        4096 // kernel.constexprs["XBLOCK"],
    )
    ops = {op.name for op in xnpu.from_triton(*kernel.from_triton_args()).walk()}
    assert "tt.extern_elementwise" in ops


def test_softmax_capture_is_a_persistent_reduction():
    (kernel,) = capture_inductor_kernels(lambda x: torch.softmax(x, -1), torch.randn(64, 512))
    assert kernel.name.startswith("triton_per_fused")
    assert kernel.signature == corpus_kernel("inductor/softmax").signature
    assert kernel.sizes == {"xnumel": 64, "r0_numel": 512}
    ops = {op.name for op in xnpu.from_triton(*kernel.from_triton_args()).walk()}
    assert {"tt.reduce", "arith.select", "tt.broadcast"} <= ops


ROWS = torch.randn(8, 8192, generator=torch.Generator().manual_seed(0))


@functools.cache
def looped(name: str):
    """Inductor's looped reduction for rows of 8192, its chunk cut to 1024 columns so
    that its loop runs 8 trips (Inductor picks the whole row here)."""
    function = {"var_mean": lambda x: torch.var_mean(x, -1), "softmax": torch.softmax}[name]
    args = (ROWS,) if name == "var_mean" else (ROWS, -1)
    (kernel,) = capture_inductor_kernels(function, *args)
    assert kernel.name.startswith("triton_red_fused") and "for r0_offset" in kernel.source
    jit_function, signature, constexprs = kernel.from_triton_args()
    return xnpu.from_triton(jit_function, signature, constexprs | {"R0_BLOCK": 1024})


@pytest.mark.parametrize("level", LEVELS)
def test_looped_reductions_match_eager_at_every_level(level):
    """var_mean (Welford's update, its first trip an scf.if) and softmax (three loops
    over the row) as Inductor writes them for long rows."""
    var, mean = torch.zeros(8), torch.zeros(8)
    xnpu.run(xnpu.lower(looped("var_mean"), level), var, ROWS, mean, 8, 8192, grid=8)
    want_var, want_mean = torch.var_mean(ROWS, -1)
    assert torch.allclose(var, want_var, atol=1e-5) and torch.allclose(mean, want_mean, atol=1e-6)
    out = torch.zeros(8, 8192)
    xnpu.run(xnpu.lower(looped("softmax"), level), out, ROWS, 8, 8192, grid=8)
    assert torch.allclose(out, torch.softmax(ROWS, -1), atol=1e-7)
