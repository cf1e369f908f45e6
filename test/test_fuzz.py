"""The fuzzer (xnpu.fuzz): a fixed-seed slice runs clean at every level and variant,
and the fuzzer itself tells a match from a refusal, a silent mismatch, a failed run
that changed an argument, and a hang."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xnpu
from xnpu.fuzz import runner
from xnpu.fuzz.__main__ import main
from xnpu.fuzz.campaign import campaign
from xnpu.fuzz.generate import Buffer, FuzzKernel, Launch, generate
from xnpu.fuzz.oracle import Oracle
from xnpu.interpreters.simulator.trace import InterpreterError

CI_SEED, CI_CASES = 2026, 160
"""The slice CI runs: about two minutes on two cores."""


@pytest.fixture(scope="module")
def oracle():
    with Oracle() as running:
        yield running


def test_the_fixed_seed_slice_has_no_defect():
    summary = campaign(CI_SEED, range(CI_CASES), jobs=2)
    table = summary.table()
    assert not summary.defects, table
    statuses = [r.status for r in summary.results]
    assert statuses.count("invalid") == 0, table  # the generator writes valid Triton
    assert statuses.count("match") >= 0.8 * CI_CASES, table
    families = {r.features.get("family") for r in summary.results}
    assert families == {"map", "loop", "dot"}, table


def test_an_fp16_sum_may_differ_by_its_length_in_roundoff_and_no_more():
    """Triton leaves a sum's order open: fp16 sums of n terms get n units of roundoff
    (2^-11) beyond the dtype's tolerance; a missing term (about 1) still shows."""
    expected = np.array([0.5264], np.float16)
    assert runner.compare(expected, np.array([0.547], np.float16), "fp16") is not None
    assert runner.compare(expected, np.array([0.547], np.float16), "fp16", half_sum=64) is None
    assert runner.compare(expected, np.array([1.5264], np.float16), "fp16", half_sum=64)


def test_a_case_is_the_same_kernel_every_time():
    assert generate(7, 3).source == generate(7, 3).source
    assert generate(7, 3).source != generate(7, 4).source
    assert generate(7, 3).launches[0].grid == generate(7, 3).launches[0].grid


def test_the_generator_ranges_over_the_forms_it_promises():
    features = [generate(11, i).features for i in range(400)]
    seen = {(k, v) for f in features for k, v in f.items()}
    for wanted in [
        ("program_id", "none"),
        ("program_id", "all dims"),
        ("rank", "1-D"),
        ("rank", "2-D"),
        ("rank", "3-D"),
        ("grid", "2-D"),
        ("size", "n < BLOCK"),
        ("size", "ragged tail"),
        ("lanes", "reversed"),
        ("offsets:shift", "yes"),
        ("offsets:window", "yes"),
        ("offsets:inner_stride", "yes"),
        ("offsets:runtime_stride", "yes"),
        ("row stride", "constexpr"),
        ("loop", "pointer bump"),
        ("scalar load", "yes"),
        ("scalar argument", "yes"),
        ("store", "in place"),
        *(("dtype", d) for d in ("fp32", "fp16", "bf16", "i32")),
    ]:
        assert wanted in seen, wanted
    reductions = {f["reduction"].split()[0] for f in features if "reduction" in f}
    assert reductions == {"sum", "max", "min", "argmax", "argmin"}


BF16_ROUNDING = """import triton
import triton.language as tl


@triton.jit
def bf16_rounding(x_ptr, i_ptr, out_ptr, from_int_ptr):
    lanes = tl.arange(0, 4)
    tl.store(out_ptr + lanes, tl.load(x_ptr + lanes).to(tl.bfloat16))
    tl.store(from_int_ptr + lanes, tl.load(i_ptr + lanes).to(tl.bfloat16))
"""


def test_the_oracle_converts_to_bf16_as_compiled_triton(oracle):
    """Triton's interpreter truncates float32 to bf16 and takes an int's value as bf16
    bits; the oracle rounds to nearest even, as torch and compiled Triton do."""
    kernel = FuzzKernel(
        0, 0, "bf16_rounding", BF16_ROUNDING, ["x_ptr", "i_ptr", "out_ptr", "from_int_ptr"],
        {"x_ptr": "*fp32", "i_ptr": "*i32", "out_ptr": "*bf16", "from_int_ptr": "*bf16"}, {},
        [Launch((1,), {})], {},
    )  # fmt: skip
    x = np.array([1 + 1 / 256 + 1 / 4096, 1 + 3 / 256, -1 - 1 / 256 - 1 / 4096, 3.0], np.float32)
    ints = np.array([0, 1, 185, -7], np.int32)
    zeros = np.zeros(4, np.float32)
    (got,) = oracle.run(kernel, [{"x_ptr": x, "i_ptr": ints, "out_ptr": zeros,
                                  "from_int_ptr": zeros}])  # fmt: skip
    want = torch.from_numpy(x).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(got["out_ptr"], want)
    np.testing.assert_array_equal(got["from_int_ptr"], [0, 1, 185, -7])


HALF_TIMES_ALPHA = """import triton
import triton.language as tl


@triton.jit
def half_times_alpha(x_ptr, out_ptr, alpha):
    lanes = tl.arange(0, 4)
    tl.store(out_ptr + lanes, (tl.load(x_ptr + lanes) * alpha).to(tl.float32))
"""


def test_the_oracle_takes_a_float_argument_as_fp32(oracle):
    """Compiled Triton widens `fp16 * alpha` to fp32 (alpha is an fp32 argument); the
    interpreter kept alpha a Python float and computed in fp16."""
    kernel = FuzzKernel(
        0, 0, "half_times_alpha", HALF_TIMES_ALPHA, ["x_ptr", "out_ptr", "alpha"],
        {"x_ptr": "*fp16", "out_ptr": "*fp32", "alpha": "fp32"}, {}, [Launch((1,), {})], {},
    )  # fmt: skip
    x = np.array([1.001, -3.7, 0.33, 7.9], np.float16)
    (got,) = oracle.run(kernel, [{"x_ptr": x, "out_ptr": np.zeros(4, np.float32), "alpha": -1.25}])
    np.testing.assert_array_equal(got["out_ptr"], x.astype(np.float32) * np.float32(-1.25))


ADD = """import triton
import triton.language as tl


@triton.jit
def add_one(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1.0, mask=offs < n)
"""


def _add_one() -> FuzzKernel:
    values = {"x_ptr": Buffer("fp32", 100, False), "out_ptr": Buffer("fp32", 100, True), "n": 100}
    return FuzzKernel(
        1, 2, "add_one", ADD, ["x_ptr", "out_ptr", "n"],
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"}, {"BLOCK": 32},
        [Launch((4,), values)], {"family": "test"},
    )  # fmt: skip


def test_a_correct_kernel_matches_at_every_variant(oracle):
    result = runner.run_case(_add_one(), oracle, "all")
    assert result.status == "match"
    assert len(result.runs) == len(runner.LADDER) + len(runner.OPTION_VARIANTS)


def test_a_planted_miscompile_is_a_silent_mismatch(oracle, monkeypatch):
    honest = xnpu.run

    def off_by_one(module, *args, **kwargs):
        report = honest(module, *args, **kwargs)
        args[1][7] += 1.0
        return report

    monkeypatch.setattr(xnpu, "run", off_by_one)
    result = runner.run_case(_add_one(), oracle, "ladder")
    assert result.status == "defect"
    assert {run.kind for run in result.runs} == {"mismatch"}
    assert "out_ptr (launch 0, grid (4,)): 1 of 100 elements differ: [7]" in result.runs[0].message


def test_a_failed_run_that_changed_an_argument_is_a_defect(oracle, monkeypatch):
    def scribble_then_fail(module, *args, **kwargs):
        args[0][0] = 42.0
        raise InterpreterError("out-of-bounds somewhere")

    monkeypatch.setattr(xnpu, "run", scribble_then_fail)
    result = runner.run_case(_add_one(), oracle, "ladder")
    assert {run.kind for run in result.runs} == {"changed data"}
    assert "a failed run changed x_ptr" in result.runs[0].message


def test_a_run_time_error_on_an_in_bounds_kernel_is_a_defect(oracle, monkeypatch):
    def fail(module, *args, **kwargs):
        raise InterpreterError("out-of-bounds spm.copy")

    monkeypatch.setattr(xnpu, "run", fail)
    result = runner.run_case(_add_one(), oracle, "ladder")
    assert {run.kind for run in result.runs} == {"interpreter error"}


def test_a_named_refusal_is_not_a_defect(oracle, monkeypatch):
    from xnpu.transforms.tt_values import LoweringError

    def refuse(module, level, **options):
        raise LoweringError("npu-lower-triton: cannot do this: 'tt.store' at k.py:3:5")

    monkeypatch.setattr(xnpu, "lower", refuse)
    result = runner.run_case(_add_one(), oracle, "ladder")
    assert result.status == "refused"


def test_a_kernel_triton_rejects_is_invalid_not_a_defect(oracle):
    kernel = _add_one()
    kernel.source = kernel.source.replace("+ 1.0", "+ undefined_name")
    assert runner.run_case(kernel, oracle).status == "invalid"


def test_a_case_that_outlives_the_timeout_is_a_hang():
    summary = campaign(CI_SEED, range(1), jobs=1, timeout=0.01)
    assert [r.status for r in summary.results] == ["hang"]
    assert "1 hang" in summary.table()


def test_replay_prints_the_kernel_its_launches_and_every_run(capsys):
    assert main(["--replay", "2026:1", "--variants", "ladder"]) == 0
    out = capsys.readouterr().out
    assert "@triton.jit\ndef fuzz_2026_1(" in out
    assert "# launch 0: grid" in out
    for level in ("scalar", "vec", "vec+mt", "vec+mt+db"):
        assert f"\n{level} " in out
    assert out.rstrip().endswith("# match")


@pytest.mark.parametrize("argv", [["--replay", "1-2"], ["--cases", "0"], ["--jobs", "x"]])
def test_bad_options_are_named(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert "error: argument" in capsys.readouterr().err
