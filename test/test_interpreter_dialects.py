"""The interpreter functions, one dialect at a time, on the smallest IR that exercises
each: arith, math, memref, scf, spm, vector and hwctx, against numpy. Each function
takes its kernel arguments and then the grid size (`%grid: index`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ir_helpers import parse_ir
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import VerifyException

import xnpu
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.machines import load_machine

SCRATCH = "#spm.scratch"


def parse(text: str) -> ModuleOp:
    module = parse_ir(text)
    module.verify()
    return module


def run(text: str, *args, grid: int = 1):
    return xnpu.run(parse(text), *args, grid=grid)


# ------------------------------------------------------------------ arith


def _scalar_function(body: str, result_type: str, args: str) -> str:
    return f"""
func.func @f({args}, %out: memref<?x{result_type}>, %grid: index) {{
  %c0 = arith.constant 0 : index
{body}
  memref.store %r, %out[%c0] : memref<?x{result_type}>
  func.return
}}
"""


ARITH_CASES = [
    # integers wrap at their width, as the hardware's do
    ("%r = arith.addi %a, %b : i32", "i32", (2**31 - 1, 1), -(2**31)),
    ("%r = arith.muli %a, %b : i32", "i32", (65536, 65536), 0),
    # C division and remainder round toward zero
    ("%r = arith.divsi %a, %b : i32", "i32", (-7, 2), -3),
    ("%r = arith.remsi %a, %b : i32", "i32", (-7, 2), -1),
    ("%r = arith.floordivsi %a, %b : i32", "i32", (-7, 2), -4),
    ("%r = arith.ceildivsi %a, %b : i32", "i32", (7, 2), 4),
    ("%r = arith.maxsi %a, %b : i32", "i32", (-3, 2), 2),
    ("%r = arith.shli %a, %b : i32", "i32", (3, 4), 48),
    (
        "%c = arith.cmpi slt, %a, %b : i32\n  %r = arith.select %c, %a, %b : i32",
        "i32",
        (5, 9),
        5,
    ),
]


@pytest.mark.parametrize(("body", "type", "operands", "expected"), ARITH_CASES)
def test_arith_integer_ops(body, type, operands, expected):
    out = np.zeros(1, np.int32)
    run(_scalar_function(body, type, "%a: i32, %b: i32"), *operands, out)
    assert out[0] == expected


FLOAT_CASES = [
    ("%r = arith.divf %a, %b : f32", (1.0, 3.0), np.float32(1.0) / np.float32(3.0)),
    ("%r = arith.remf %a, %b : f32", (-7.5, 2.0), -1.5),  # C fmod: the sign of a
    ("%r = arith.maximumf %a, %b : f32", (float("nan"), 1.0), float("nan")),  # NaN wins
    ("%r = arith.maxnumf %a, %b : f32", (float("nan"), 1.0), 1.0),  # the number wins
    ("%r = arith.negf %a : f32", (2.5, 0.0), -2.5),
    (
        "%c = arith.cmpf une, %a, %a : f32\n  %r = arith.select %c, %b, %a : f32",
        (float("nan"), 4.0),
        4.0,
    ),
]


@pytest.mark.parametrize(("body", "operands", "expected"), FLOAT_CASES)
def test_arith_float_ops(body, operands, expected):
    out = np.zeros(1, np.float32)
    run(_scalar_function(body, "f32", "%a: f32, %b: f32"), *operands, out)
    np.testing.assert_array_equal(out, np.float32(expected))


def test_arith_casts_truncate_toward_zero_and_wrap():
    body = """
  %i = arith.fptosi %a : f32 to i32
  %back = arith.sitofp %i : i32 to f32
  %wide = arith.extsi %i : i32 to i64
  %narrow = arith.trunci %wide : i64 to i32
  %index = arith.index_cast %narrow : i32 to index
  %again = arith.index_cast %index : index to i32
  %r = arith.sitofp %again : i32 to f32"""
    out = np.zeros(1, np.float32)
    run(_scalar_function(body, "f32", "%a: f32, %b: f32"), -2.75, 0.0, out)
    assert out[0] == -2.0


# ------------------------------------------------------------------ math and memref


ELEMENTWISE = """
func.func @f(%x: memref<?xf32>, %out: memref<?xf32>, %n: i32, %grid: index) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %count = arith.index_cast %n : i32 to index
  scf.for %i = %c0 to %count step %c1 {{
    %v = memref.load %x[%i] : memref<?xf32>
    %r = {op} %v : f32
    memref.store %r, %out[%i] : memref<?xf32>
  }}
  func.return
}}
"""


@pytest.mark.parametrize(
    ("op", "reference"),
    [
        ("math.erf", np.vectorize(math.erf)),
        ("math.exp", np.exp),
        ("math.tanh", np.tanh),
        ("math.rsqrt", lambda x: 1 / np.sqrt(x)),
        ("math.log", np.log),
        ("math.absf", np.abs),
    ],
)
def test_math_ops_on_a_loop_run_on_index_arrays(op, reference):
    x = np.linspace(0.1, 3.0, 37, dtype=np.float32)
    out = np.zeros_like(x)
    report = run(ELEMENTWISE.format(op=op), x, out, len(x))
    np.testing.assert_allclose(out, reference(x.astype(np.float64)), rtol=2e-6)
    machine = load_machine()
    per_element = sum(machine.scalar[k] for k in ("ddr_load", "ddr_store", "loop_iteration"))
    assert report.cycles > len(x) * per_element  # the math op itself is charged too


def test_memref_store_out_of_bounds_names_the_op():
    text = """
func.func @f(%out: memref<?xf32>, %grid: index) {
  %c9 = arith.constant 9 : index
  %v = arith.constant 1.0 : f32
  memref.store %v, %out[%c9] : memref<?xf32>
  func.return
}
"""
    with pytest.raises(InterpreterError, match=r"memref.store.*9"):
        run(text, np.zeros(4, np.float32))


# ------------------------------------------------------------------ scf


def test_scf_accumulator_is_reduced_at_once_with_the_sequential_result():
    text = """
func.func @f(%x: memref<?xi32>, %out: memref<?xi32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  %zero = arith.constant 0 : i32
  %s = scf.for %i = %c0 to %c100 step %c1 iter_args(%acc = %zero) -> (i32) {
    %v = memref.load %x[%i] : memref<?xi32>
    %t = arith.xori %acc, %v : i32
    scf.yield %t : i32
  }
  memref.store %s, %out[%c0] : memref<?xi32>
  func.return
}
"""
    x = np.arange(100, dtype=np.int32) * 7919
    out = np.zeros(1, np.int32)
    run(text, x, out)
    assert out[0] == np.bitwise_xor.reduce(x)


def test_scf_if_runs_the_branch_its_condition_picks():
    text = """
func.func @f(%flag: i1, %out: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %r = scf.if %flag -> (f32) {
    %a = arith.constant 1.0 : f32
    scf.yield %a : f32
  } else {
    %b = arith.constant 2.0 : f32
    scf.yield %b : f32
  }
  memref.store %r, %out[%c0] : memref<?xf32>
  func.return
}
"""
    for flag, expected in ((1, 1.0), (0, 2.0)):
        out = np.zeros(1, np.float32)
        run(text, flag, out)
        assert out[0] == expected


# ------------------------------------------------------------------ spm


def test_spm_copy_moves_rows_of_a_2d_box():
    text = f"""
func.func @f(%x: memref<?xf32>, %out: memref<?xf32>, %grid: index) {{
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c10 = arith.constant 10 : index
  %t = spm.alloc : memref<16xf32, {SCRATCH}>
  spm.copy %x[%c2] to %t[%c0] count %c3 rows %c2 strides %c10, %c4 : memref<?xf32> to memref<16xf32, {SCRATCH}>
  spm.copy %t[%c0] to %out[%c0] count %c4 rows %c2 strides %c4, %c4 : memref<16xf32, {SCRATCH}> to memref<?xf32>
  func.return
}}
"""
    x = np.arange(30, dtype=np.float32)
    out = np.full(8, -1, np.float32)
    run(text, x, out)
    # two rows of three elements from x[2:], 10 apart, into rows of 4 (the 4th untouched)
    np.testing.assert_array_equal(out[[0, 1, 2, 4, 5, 6]], [2, 3, 4, 12, 13, 14])


def test_spm_dma_moves_data_and_a_missing_wait_is_refused():
    started = f"""
func.func @f(%x: memref<?xf32>, %out: memref<?xf32>, %grid: index) {{
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %t = spm.alloc : memref<8xf32, {SCRATCH}>
  %in = spm.dma_start %x[%c0] to %t[%c0] count %c8 : memref<?xf32> to memref<8xf32, {SCRATCH}>
  spm.dma_wait %in
  %back = spm.dma_start %t[%c0] to %out[%c0] count %c8 : memref<8xf32, {SCRATCH}> to memref<?xf32>
  {{wait}}
  func.return
}}
"""
    x = np.arange(8, dtype=np.float32)
    out = np.zeros(8, np.float32)
    report = run(started.replace("{wait}", "spm.dma_wait %back"), x, out)
    np.testing.assert_array_equal(out, x)
    assert report.cycles > 0
    with pytest.raises(VerifyException, match="token of spm.dma_start must be used exactly once"):
        run(started.replace("{wait}", ""), x, np.zeros(8, np.float32))


# ------------------------------------------------------------------ vector


def test_vector_load_broadcast_store_and_reduction():
    text = f"""
func.func @f(%x: memref<?xf32>, %out: memref<?xf32>, %grid: index) {{
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %two = arith.constant 2.0 : f32
  %zero = arith.constant 0.0 : f32
  %t = spm.alloc : memref<8xf32, {SCRATCH}>
  spm.copy %x[%c0] to %t[%c0] count %c8 : memref<?xf32> to memref<8xf32, {SCRATCH}>
  %v = vector.load %t[%c0] : memref<8xf32, {SCRATCH}>, vector<8xf32>
  %k = vector.broadcast %two : f32 to vector<8xf32>
  %w = arith.mulf %v, %k : vector<8xf32>
  vector.store %w, %t[%c0] : memref<8xf32, {SCRATCH}>, vector<8xf32>
  %s = vector.reduction <add>, %w, %zero : vector<8xf32> into f32
  spm.copy %t[%c0] to %out[%c0] count %c8 : memref<8xf32, {SCRATCH}> to memref<?xf32>
  memref.store %s, %out[%c8] : memref<?xf32>
  func.return
}}
"""
    x = np.arange(8, dtype=np.float32)
    out = np.zeros(9, np.float32)
    run(text, x, out)
    np.testing.assert_array_equal(out[:8], 2 * x)
    assert out[8] == 2 * x.sum()


# ------------------------------------------------------------------ hwctx


def test_hwctx_parallel_runs_every_context_with_its_id():
    text = """
func.func @f(%out: memref<?xi32>, %grid: index) {
  hwctx.parallel (%ctx) contexts(3) {
    %v = arith.index_cast %ctx : index to i32
    memref.store %v, %out[%ctx] : memref<?xi32>
    hwctx.yield
  }
  func.return
}
"""
    out = np.full(3, -1, np.int32)
    report = run(text, out)
    np.testing.assert_array_equal(out, [0, 1, 2])
    labels = [context.label for context in report.contexts]
    assert labels == ["main", "context 0", "context 1", "context 2"]
