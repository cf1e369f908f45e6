"""With xnpu installed, xDSL's own tools behave on ordinary IR as they do without it:
xnpu's tensor forms of `arith` are built only where xDSL's classes cannot hold the op,
so scalar IR keeps xDSL's folds, canonicalization patterns and interpreter
functions."""

import subprocess
from importlib.metadata import entry_points

import numpy as np
from ir_helpers import parse_ir
from xdsl.dialects import arith
from xdsl.parser.attribute_parser import AttrParser

from xnpu.dialects import arith_tensor

SCALAR_SELECT = """\
func.func @main() -> i32 {
  %true = arith.constant true
  %a = arith.constant 7 : i32
  %b = arith.constant 9 : i32
  %less = arith.cmpi slt, %a, %b : i32
  %low = arith.select %less, %a, %b : i32
  %same = arith.select %true, %low, %b : i32
  %wide = arith.index_cast %same : i32 to index
  %back = arith.index_cast %wide : index to i32
  func.return %back : i32
}
"""


def _stock_tool(tool: str, *args: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool, *args], input=source, capture_output=True, text=True, timeout=120)


def test_xnpu_is_an_installed_xdsl_universe():
    assert "xnpu" in {entry.name for entry in entry_points(group="xdsl.universe")}


def test_stock_xdsl_opt_canonicalize_folds_select_of_true():
    result = _stock_tool("xdsl-opt", "-p", "canonicalize", source=SCALAR_SELECT)
    assert result.returncode == 0, result.stderr
    assert "arith.select %true" not in result.stdout
    assert result.stdout.count("arith.select") == 1  # only the select on %less is left
    assert "func.return %back : i32" in result.stdout or "func.return %low" in result.stdout


def test_stock_xdsl_run_interprets_scalar_select_and_cmpi():
    result = _stock_tool("xdsl-run", "--verbose", source=SCALAR_SELECT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "result: 7"


def test_xnpu_tensor_forms_still_parse_through_stock_xdsl_opt():
    tensor_ir = """\
func.func @f(%m: tensor<8xi1>, %a: tensor<8xf32>, %i: tensor<8xi32>) -> tensor<8xf32> {
  %lt = arith.cmpi slt, %i, %i : tensor<8xi32>
  %s = arith.select %m, %a, %a : tensor<8xi1>, tensor<8xf32>
  %f = arith.sitofp %i : tensor<8xi32> to tensor<8xf32>
  func.return %s : tensor<8xf32>
}
"""
    result = _stock_tool("xdsl-opt", source=tensor_ir)
    assert result.returncode == 0, result.stderr
    assert "arith.cmpi slt, %i, %i : tensor<8xi32>" in result.stdout
    assert "arith.select %m, %a, %a : tensor<8xi1>, tensor<8xf32>" in result.stdout


def _ops(source: str):
    module = parse_ir(source)
    return [op for op in module.walk() if op.name.startswith("arith.")]


def test_scalar_forms_are_xdsl_classes_and_shaped_forms_xnpus():
    scalar = _ops(SCALAR_SELECT)
    assert {type(op).__module__ for op in scalar} == {"xdsl.dialects.arith"}
    shaped = _ops(
        "func.func @f(%m: vector<4xi1>, %a: vector<4xf32>) {\n"
        "  %s = arith.select %m, %a, %a : vector<4xi1>, vector<4xf32>\n"
        '  %g = "arith.select"(%m, %a, %a) : (vector<4xi1>, vector<4xf32>, vector<4xf32>) -> vector<4xf32>\n'
        "  func.return\n}\n"
    )
    assert [type(op) for op in shaped] == [arith_tensor.SelectOp, arith_tensor.SelectOp]
    generic_scalar = _ops(
        'func.func @f(%c: i1, %a: f32) {\n  %s = "arith.select"(%c, %a, %a) : (i1, f32, f32) -> f32\n'
        "  func.return\n}\n"
    )
    assert [type(op) for op in generic_scalar] == [arith.SelectOp]


def test_hex_float_splats_are_read_as_bit_patterns():
    """xnpu relies on a private xDSL parser hook for this (dialects/xdsl_compat.py):
    if xDSL stops calling it, this fails instead of -inf silently becoming 4.29e9."""
    (constant,) = _ops(
        "func.func @f() {\n  %c = arith.constant dense<0xFF800000> : tensor<4xf32>\n  func.return\n}\n"
    )
    values = constant.value.get_values()
    assert all(np.isneginf(v) for v in values), values


def test_the_private_parser_hook_xnpu_patches_still_exists():
    assert callable(getattr(getattr(AttrParser, "_TensorLiteralElement", None), "to_type", None))
