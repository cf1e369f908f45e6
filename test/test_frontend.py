"""The front end: live Triton TTIR for every corpus kernel, and its diagnostics."""

import subprocess

import pytest
import triton
import triton.language as tl

import xnpu
from xnpu.frontend.ttir import module_text
from xnpu.kernels import corpus, corpus_names


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_kernel_parses_verifies_and_round_trips(name):
    kernel = next(k for k in corpus() if k.name == name)
    module = kernel.to_tt()
    module.verify()
    ops = {op.name for op in module.walk()}
    assert {"tt.func", "tt.load", "tt.store", "tt.get_program_id"} <= ops
    text = module_text(module)
    assert module_text(xnpu.from_triton(text)) == text


@triton.jit
def _masked_2d_row_max(
    x_ptr, out_ptr, rows, cols, stride, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr
):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)[:, None]
    c = tl.arange(0, BLOCK_C)[None, :]
    mask = (r < rows) & (c < cols)
    x = tl.load(x_ptr + r * stride + c, mask=mask, other=-float("inf"))
    tl.store(out_ptr + r, tl.max(x, axis=1)[:, None], mask=r < rows)


def test_kernel_outside_the_corpus_goes_through_from_triton_and_xdsl_opt():
    module = xnpu.from_triton(
        _masked_2d_row_max,
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "rows": "i32", "cols": "i32", "stride": "i32"},
        {"BLOCK_R": 4, "BLOCK_C": 64},
    )
    ops = {op.name for op in module.walk()}
    assert {"tt.expand_dims", "tt.broadcast", "tt.reduce", "arith.andi"} <= ops
    printed = subprocess.run(
        ["xdsl-opt"], input=module_text(module), capture_output=True, text=True, check=True
    )
    assert "tt.reduce" in printed.stdout and "-> tensor<4xf32>" in printed.stdout


@pytest.mark.parametrize(
    "signature, constexprs, message",
    [
        ({"x_ptr": "*fp32"}, {"BLOCK_R": 4, "BLOCK_C": 64}, "no type for parameter 'out_ptr'"),
        ({"nope": "i32"}, {}, "has no parameter nope"),
        (
            {"x_ptr": "*float", "out_ptr": "*fp32", "rows": "i32", "cols": "i32", "stride": "i32"},
            {"BLOCK_R": 4, "BLOCK_C": 64},
            "unknown type '*float'",
        ),
        (
            {"x_ptr": "*fp32", "out_ptr": "*fp32", "rows": "i32", "cols": "i32", "stride": "i32"},
            {"BLOCK_R": 4},
            "constexpr parameter 'BLOCK_C' needs a value",
        ),
    ],
)
def test_bad_signature_is_named(signature, constexprs, message):
    with pytest.raises(xnpu.TritonFrontendError, match=message.replace("*", r"\*")):
        xnpu.from_triton(_masked_2d_row_max, signature, constexprs)


def test_not_a_jit_function_is_refused():
    with pytest.raises(xnpu.TritonFrontendError, match="is not a @triton.jit function"):
        xnpu.from_triton(lambda x: x)


def test_malformed_ttir_names_line_and_source():
    with pytest.raises(xnpu.TritonFrontendError, match=r"<ttir>:2:.*\n(.|\n)*kernel.py:3:4"):
        xnpu.from_triton(
            'module {\n  %0 = tt.get_program_id q : i32 loc(#loc1)\n}\n#loc1 = loc("kernel.py":3:4)\n'
        )


def test_cli_error_has_no_traceback(tmp_path):
    result = subprocess.run(
        ["xnpu-triton", str(tmp_path / "missing.ttir")], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert (
        result.stderr.startswith("xnpu-triton: error: no such file")
        and "Traceback" not in result.stderr
    )
