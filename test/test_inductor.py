"""Inductor capture: the kernels it generates for gelu and softmax, ready for from_triton."""

import torch

import xnpu
from xnpu.frontend.inductor import capture_inductor_kernels
from xnpu.kernels import corpus_kernel


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
