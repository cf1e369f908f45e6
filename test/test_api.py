"""The Python API names every bad argument: the parameter, what it got, and what it
accepts; never a bare TypeError or AttributeError from deep inside."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
import torch
from ir_helpers import parse_ir
from xdsl.utils.exceptions import PassFailedException

import xnpu
from xnpu.frontend.ttir import TritonFrontendError, parse_ttir
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.kernels import corpus_kernel, forms
from xnpu.kernels.cases import make_case
from xnpu.kernels.vector_add import vector_add
from xnpu.machines import MachineError
from xnpu.transforms.pipelines import lower

GELU = corpus_kernel("gelu").to_tt()
CASE = make_case("gelu", 4096)


@pytest.mark.parametrize(
    ("grid", "shown"), [(2.5, "2.5"), (None, "None"), ("4", "'4'"), ((2, True), "(2, True)")]
)
def test_a_grid_that_is_not_ints_is_named(grid, shown):
    with pytest.raises(
        InterpreterError,
        match=re.escape(f"grid must be an int or a tuple of ints (programs per axis), not {shown}"),
    ):
        xnpu.run(GELU, *CASE.args, grid=grid)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: lower(GELU, None), ValueError, "level must be a string such as 'scalar'"),
        (
            lambda: lower(GELU, "vec+mt", contexts=2.5),
            PassFailedException,
            "option contexts must be int | None, got 2.5",
        ),
        (
            lambda: lower(GELU, "vec+mt", contexts="4"),
            PassFailedException,
            "option contexts must be int | None, got '4'",
        ),
        (
            lambda: lower(GELU, "vec+mt+db", buffers=2.0),
            PassFailedException,
            "option buffers must be int, got 2.0",
        ),
        (
            lambda: lower(GELU, "vec+mt", decide=True),
            PassFailedException,
            "option decide must be str, got True",
        ),
        (
            lambda: lower(GELU, "vec", schedule="cyclic"),
            ValueError,
            "schedule='cyclic' is for mt, which level 'vec' does not",
        ),
        (
            lambda: lower(GELU, "vec+mt", writeback="sync"),
            ValueError,
            "option writeback='sync' is for db",
        ),
        (
            lambda: lower(GELU, "vec", bogus=1),
            ValueError,
            "unknown option 'bogus' for lower: the options are",
        ),
        (
            lambda: lower(GELU, "vec", machine=3),
            MachineError,
            "machine must be a name (edge-npu), a .toml path",
        ),
        (
            lambda: lower("gelu", "vec"),
            ValueError,
            "lower takes a module (builtin.module), not str",
        ),
        (
            lambda: xnpu.run(None, grid=1),
            InterpreterError,
            "run takes a module (builtin.module), not NoneType",
        ),
    ],
)
def test_bad_arguments_name_the_parameter(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_a_bf16_tensor_is_named():
    x = torch.randn(4096, dtype=torch.bfloat16)
    with pytest.raises(
        InterpreterError,
        match=re.escape(
            "argument 0 (x_ptr) holds torch.bfloat16, which numpy cannot hold; the kernel reads f32"
        ),
    ):
        xnpu.run(GELU, x, x.clone(), 4096, grid=4)  # fmt: skip


def test_a_parameter_of_a_type_xnpu_cannot_hold_is_named():
    module = parse_ir("func.func @k(%x_ptr: memref<?xf8E5M2>, %grid: index) {\n  func.return\n}")
    with pytest.raises(
        InterpreterError,
        match=re.escape("parameter 0 (x_ptr): xnpu cannot hold values of type f8E5M2 yet"),
    ):
        xnpu.run(module, np.zeros(4, np.float32), grid=1)  # fmt: skip


def test_bf16_takes_bf16_tensors_and_float32_arrays_rounded():
    """A bf16 pointer takes a bf16 tensor (written back as bf16) or a float32 array
    (its values rounded to bf16 on the way in)."""
    signature = {"x_ptr": "*bf16", "y_ptr": "*bf16", "out_ptr": "*bf16", "n": "i32"}
    module = xnpu.from_triton(forms.half_add, signature, {"BLOCK": 64})
    x, y = torch.randn(100).bfloat16(), torch.randn(100).bfloat16()
    out = torch.zeros(100, dtype=torch.bfloat16)
    xnpu.run(module, x, y, out, 100, grid=2)
    assert torch.equal(out, x + y)
    values = np.float32([1 + 2**-9, 3.0])  # 1 + 2**-9 is no bf16: it rounds to 1
    result = np.zeros(2, np.float32)
    xnpu.run(module, values, np.zeros(2, np.float32), result, 2, grid=1)
    assert result.tolist() == [1.0, 3.0]


def test_a_read_only_output_is_named():
    x, out, n = CASE.args
    out = out.numpy().copy()
    out.flags.writeable = False
    with pytest.raises(
        InterpreterError,
        match=re.escape("argument 1 (out_ptr) is read-only, but the kernel writes it"),
    ):
        xnpu.run(GELU, x, out, n, grid=CASE.grid)  # fmt: skip


@pytest.mark.parametrize(
    ("signature", "constexprs", "message"),
    [
        (["*fp32"], {"BLOCK_SIZE": 64}, "the signature gives 1 types for 4 parameters"),
        (5, {"BLOCK_SIZE": 64}, "the signature must be a dict"),
        (
            {"x_ptr": 3},
            {"BLOCK_SIZE": 64},
            "the type of 'x_ptr' is 3: give Triton's type as a string",
        ),
        (None, [64], "constexprs must map names to values"),
        (None, {"BLOCK_SIZE": [1]}, "constexpr 'BLOCK_SIZE' is [1]: give a number"),
    ],
)
def test_bad_signatures_and_constexprs_are_named(signature, constexprs, message):
    with pytest.raises(TritonFrontendError, match=re.escape(message)):
        xnpu.from_triton(vector_add, signature, constexprs)


def test_a_signature_may_list_the_types_in_order():
    by_list = xnpu.from_triton(vector_add, ["*fp32"] * 3 + ["i32"], {"BLOCK_SIZE": 64})
    by_name = xnpu.from_triton(
        vector_add,
        {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n_elements": "i32"},
        {"BLOCK_SIZE": 64},
    )
    assert str(by_list) == str(by_name)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "%a = arith.addf %n, %n : i32",
            "x.ttir:3: `%a = arith.addf %n, %n : i32`: an operand or result type",
        ),
        (
            "%a = arith.cmpi slt, %f, %f : f32",
            "arith.cmpi compares an integer or index type, not f32; use arith.cmpf",
        ),
        (
            "%a = arith.cmpf olt, %n, %n : i32",
            "arith.cmpf compares a float type, not i32; use arith.cmpi",
        ),
    ],
)
def test_ttir_with_ill_typed_arithmetic_is_named(body, message):
    text = textwrap.dedent(f"""\
        module {{
          tt.func public @k(%n: i32, %f: f32) {{
            {body}
            tt.return
          }}
        }}
        """)
    with pytest.raises(TritonFrontendError, match=re.escape(message)):
        parse_ttir(text, "x.ttir")
