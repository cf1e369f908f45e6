"""`torch.compile(fn, backend="xnpu")`: Inductor's CPU-Triton kernels run on the
simulated NPU and return what eager PyTorch returns; the report lists every kernel
with its cycles, ATen's operators, and kernels that fell back to the host."""

import pytest
import torch
import torch.nn.functional as F
import triton.backends
from triton.runtime import driver

import xnpu
from xnpu.kernels.transformer import block_inputs, transformer_block
from xnpu.triton.launch import Session

GENERATOR = torch.Generator().manual_seed(0)
X = torch.randn(16, 384, generator=GENERATOR)
W = torch.randn(384, generator=GENERATOR)
B = torch.randn(384, generator=GENERATOR)
R = torch.randn(16, 384, generator=GENERATOR)


def _rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w


def _block(x, w, b, residual):
    """layer norm -> GELU -> residual add: a transformer block's pointwise part."""
    return F.gelu(F.layer_norm(x, (x.shape[-1],), w, b)) + residual


CASES = {
    "gelu": (F.gelu, (X,)),
    "silu": (F.silu, (X,)),
    "add_broadcast": (lambda x, w: x + w, (X, W)),
    "mul_broadcast": (lambda x, c: x * c, (X, X[:, :1])),
    "softmax": (lambda x: torch.softmax(x, -1), (X,)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b), (X, W, B)),
    "rms_norm": (_rms_norm, (X, W)),
    "block": (_block, (X, W, B, R)),
    # Inductor's looped softmax keeps exp(x - max) in its in_out buffer and reads it back
    "softmax of long rows": (
        lambda x: torch.softmax(x, -1),
        (torch.randn(8, 8192, generator=GENERATOR),),
    ),
    # Welford in one chunk: a fresh value defined outside the loop (m2 = 0.0) in the butterfly
    "var_mean": (lambda x: torch.var_mean(x, -1), (torch.randn(16, 2048, generator=GENERATOR),)),
}


def _compiled_call(function, args, **options) -> tuple[torch.Tensor, Session]:
    torch._dynamo.reset()
    compiled = torch.compile(function, backend="xnpu", options=options or None)
    result = compiled(*args)
    report = xnpu.last_report()
    assert isinstance(report, Session)
    return result, report


@pytest.mark.parametrize("name", CASES)
def test_compiled_functions_return_what_eager_returns(name):
    function, args = CASES[name]
    result, report = _compiled_call(function, args)
    torch.testing.assert_close(result, function(*args), rtol=1e-4, atol=1e-4)  # tuples too
    assert report.launches and all(launch.report is not None for launch in report.launches)
    assert report.cycles == sum(launch.report.cycles for launch in report.launches) > 0
    assert report.host_ops == []
    assert all(launch.kernel.startswith("triton_") for launch in report.launches)


def test_the_report_lists_each_kernel_and_the_total():
    _, report = _compiled_call(_block, CASES["block"][1], level="vec")
    table = str(report)
    assert all(launch.kernel in table for launch in report.launches)
    assert f"{report.cycles:,.0f}" in table.splitlines()[-1]
    assert {launch.level for launch in report.launches} == {"vec"}


def test_options_choose_the_level_and_the_ladder_orders_the_kernels():
    cycles = {}
    for level in ("scalar", "vec+mt+db"):
        result, report = _compiled_call(F.gelu, (X,), level=level)
        torch.testing.assert_close(result, F.gelu(X))
        cycles[level] = report.cycles
    assert cycles["scalar"] > 5 * cycles["vec+mt+db"]


def test_the_reference_compilers_switches_pass_through_options():
    _, report = _compiled_call(F.silu, (X,), enableMultiThreading=True)
    assert {launch.level for launch in report.launches} == {"vec+mt"}


def test_a_matmul_runs_on_the_npu_as_inductors_triton_template():
    """Inductor's mm template, its relu fused as the epilogue, autotuned by simulated
    time: no ATen operator left on the host."""
    a, b = torch.randn(32, 64, generator=GENERATOR), torch.randn(64, 16, generator=GENERATOR)
    result, report = _compiled_call(lambda a, b: torch.relu(a @ b), (a, b), level="vec")
    torch.testing.assert_close(result, torch.relu(a @ b), rtol=1e-4, atol=1e-4)
    assert report.host_ops == []
    assert [launch.kernel.startswith("triton_tem") for launch in report.launches] == [True]


def test_a_transformer_block_runs_entirely_on_the_npu():
    """fp16 attention (decomposed: its products on the matrix unit, its softmax on the
    vector unit) and MLP, norms and residuals: every operator on the NPU."""
    args = block_inputs(tokens=32, dims=64, seed=12)
    result, report = _compiled_call(transformer_block, args)
    want = transformer_block(*(a.float() for a in args))
    torch.testing.assert_close(result.float(), want, rtol=2e-2, atol=2e-2)  # fp16 throughout
    assert report.host_ops == []
    assert all(launch.report is not None for launch in report.launches)
    assert any(launch.report.matrix_cycles > 0 for launch in report.launches)


def test_a_kernel_xnpu_cannot_lower_falls_back_to_the_host_with_a_warning():
    values, index = torch.randn(32, generator=GENERATOR), torch.arange(32) % 8

    def index_add(values, index):  # Inductor adds with tt.atomic_rmw, which xnpu lacks
        return torch.zeros(8).index_add(0, index, values)

    with pytest.warns(
        UserWarning,
        match=r"(?s)xnpu cannot lower triton_\w+, so it ran on the host.*tt\.atomic_rmw",
    ):
        result, report = _compiled_call(index_add, (values, index))
    torch.testing.assert_close(result, index_add(values, index))
    fallen = [launch for launch in report.launches if launch.report is None]
    assert len(fallen) == 1 and "tt.atomic_rmw" in fallen[0].fallback
    assert "ran on the host" in str(report)
    assert (
        f"1 kernel(s) and 0 ATen operator(s) ran on the host, untimed: {fallen[0].kernel}"
        in str(report)
    )


def test_the_summary_names_work_left_scalar():
    """An embedding lookup gathers rows by data-dependent addresses: the summary says
    so (and `remarks` holds it), not only the per-kernel remarks."""
    table, index = torch.randn(50, 16, generator=GENERATOR), torch.tensor([3, 7, 7, 0])
    result, report = _compiled_call(F.embedding, (index, table))
    torch.testing.assert_close(result, F.embedding(index, table))
    assert report.scalar_work and all(r in report.remarks for r in report.scalar_work)
    assert "place(s) left scalar or moved element by element:" in str(report)
    assert report.scalar_work[0] in str(report)


def test_bad_options_are_named():
    torch._dynamo.reset()
    compiled = torch.compile(F.gelu, backend="xnpu", options={"levle": "vec"})
    with pytest.raises(Exception, match="unknown option 'levle'"):
        compiled(X)


def test_triton_and_the_active_driver_are_as_before_after_a_call():
    before_driver = driver._active
    before = dict(triton.backends.backends)
    _compiled_call(F.gelu, (X,))
    assert driver._active is before_driver
    assert triton.backends.backends == before and "cpu" not in before


def test_a_cpu_backend_installed_before_is_set_aside_and_put_back(monkeypatch):
    stand_in = triton.backends.backends["xnpu"]
    monkeypatch.setitem(triton.backends.backends, "cpu", stand_in)
    result, _ = _compiled_call(F.gelu, (X,))
    torch.testing.assert_close(result, F.gelu(X))
    assert triton.backends.backends["cpu"] is stand_in


def test_a_session_around_a_compiled_call_gives_options_and_collects_its_launches():
    torch._dynamo.reset()
    compiled = torch.compile(F.silu, backend="xnpu")
    with xnpu.session(level="vec") as outer:
        result = compiled(X)
    torch.testing.assert_close(result, F.silu(X))
    assert outer.launches and {launch.level for launch in outer.launches} == {"vec"}
    assert xnpu.last_report().launches == outer.launches


def test_torch_compiles_mode_is_named_as_having_no_effect():
    torch._dynamo.reset()
    with pytest.warns(UserWarning, match=r"mode='max-autotune'\) has no effect"):
        result = torch.compile(F.gelu, backend="xnpu", mode="max-autotune")(X)
    torch.testing.assert_close(result, F.gelu(X))
