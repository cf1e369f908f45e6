"""The interpreter on hand-written NPU IR: loops run on index arrays only when their
iterations are independent, bad accesses and overflows are errors naming the op, the
machine file is validated, and xnpu-run prints the report."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ir_helpers import parse_ir
from xdsl.dialects import scf

import xnpu
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.machines import MACHINES_DIR, MachineError, load_machine

RECURRENCE = """
func.func @recurrence(%x: memref<?xf32>, %out: memref<?xf32>, %count: i32, %grid: index) {
  %n = arith.index_cast %count : i32 to index
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %half = arith.constant 0.5 : f32
  %zero = arith.constant 0.0 : f32
  %last = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
    %v = memref.load %x[%i] : memref<?xf32>
    %scaled = arith.mulf %acc, %half : f32
    %next = arith.addf %scaled, %v : f32
    memref.store %next, %out[%i] : memref<?xf32>
    scf.yield %next : f32
  }
  func.return
}
"""


def test_a_loop_carried_recurrence_runs_in_order():
    x = np.arange(1, 9, dtype=np.float32)
    out = np.zeros(8, np.float32)
    report = xnpu.run(parse_ir(RECURRENCE), x, out, 8, grid=1)
    expected, acc = [], np.float32(0)
    for v in x:
        acc = acc * np.float32(0.5) + v
        expected.append(acc)
    assert np.array_equal(out, np.array(expected, np.float32))
    machine = load_machine()
    per_iteration = sum(
        machine.scalar[k] for k in ("ddr_load", "fp_mul", "fp_add", "ddr_store", "loop_iteration")
    )
    assert report.cycles == pytest.approx(8 * per_iteration, rel=1e-12)


def test_out_of_bounds_load_names_the_op_and_index():
    text = """
    func.func @oob(%x: memref<?xf32>, %out: memref<?xf32>, %grid: index) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c5 = arith.constant 5 : index
      scf.for %i = %c0 to %c5 step %c1 {
        %j = arith.addi %i, %c1 : index
        %v = memref.load %x[%j] : memref<?xf32>
        memref.store %v, %out[%i] : memref<?xf32>
      }
      func.return
    }"""
    x = np.zeros(5, np.float32)
    with pytest.raises(
        InterpreterError, match=r"out-of-bounds memref.load: index 5 of %x .*0 to 4"
    ):
        xnpu.run(parse_ir(text), x, np.zeros(5, np.float32), grid=1)


def test_scratchpad_overflow_at_run_time_lists_the_buffers():
    text = """
    func.func @big(%grid: index) {
      %a = spm.alloc : memref<1048576xf32, #spm.scratch>
      %b = spm.alloc : memref<1048576xf32, #spm.scratch>
      %c = spm.alloc : memref<1xf32, #spm.scratch>
      func.return
    }"""
    with pytest.raises(
        InterpreterError, match=r"scratchpad overflow: 8390656 bytes .* %a .*%b .*%c"
    ):
        xnpu.run(parse_ir(text), grid=1)


def test_buffers_allocated_in_a_loop_are_freed_each_iteration():
    text = """
    func.func @reuse(%grid: index) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %pid = %c0 to %grid step %c1 {
        %a = spm.alloc : memref<1048576xf32, #spm.scratch>
      }
      func.return
    }"""
    xnpu.run(parse_ir(text), grid=5)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("\nbytes_per_cycle = 40.0 ", "\nbandwidth = 40.0 "),
            r"\[dma\]: missing bytes_per_cycle; unknown bandwidth",
        ),
        (
            ("int_div = 20 ", "int_div = -3 "),
            r"\[scalar\]: int_div must be between 0.001 and 1e\+09, got -3",
        ),
        (
            ("int_div = 20 ", "int_div = nan "),
            r"\[scalar\]: int_div must be a finite number, got nan",
        ),
        (
            ("int_div = 20 ", "int_div = inf "),
            r"\[scalar\]: int_div must be a finite number, got inf",
        ),
        (("int_div = 20 ", "int_div = 6e304 "), r"\[scalar\]: int_div must be between"),
        (
            ("\nbytes_per_cycle = 40.0 ", "\nbytes_per_cycle = 1e-300 "),
            r"\[dma\]: bytes_per_cycle must be between 0.001 and 1e\+09, got 1e-300",
        ),
        (
            ("vector_bytes = 128", "vector_bytes = 3"),
            r"\[core\]: vector_bytes must be a power of two of at least 4 \(one f32 lane\), got 3",
        ),
        (
            ("vector_bytes = 128", "vector_bytes = 99999999999999999"),
            r"vector_bytes must be between",
        ),
        (
            ("vector_contexts = 4", "vector_contexts = 8"),
            r"vector_contexts \(8\) exceeds hardware_threads \(6\)",
        ),
    ],
)
def test_machine_files_are_validated(tmp_path, edit, message):
    text = (MACHINES_DIR / "edge-npu.toml").read_text()
    assert edit[0] in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(MachineError, match=message):
        load_machine(path)


def test_unknown_machine_lists_the_known_ones():
    with pytest.raises(MachineError, match=r"no machine model 'nope'.*available: edge-npu"):
        load_machine("nope")


def test_xnpu_run_prints_the_report(tmp_path):
    lowered = tmp_path / "gelu.mlir"
    from xnpu.frontend.ttir import module_text
    from xnpu.kernels import corpus_kernel

    lowered.write_text(module_text(xnpu.lower(corpus_kernel("gelu").to_tt())))
    result = subprocess.run(
        ["xnpu-run", str(lowered), "--args", "randn:3000,zeros:3000,3000", "--grid", "3",
         "--save", str(tmp_path / "out.npz")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "kernel gelu on edge-npu" in result.stdout and "cycles" in result.stdout
    assert "wrote" not in result.stdout and f"wrote {tmp_path / 'out.npz'}" in result.stderr
    saved = np.load(tmp_path / "out.npz")  # arrays by parameter name
    import torch

    expected = torch.nn.functional.gelu(torch.from_numpy(saved["x_ptr"])).numpy()
    assert np.allclose(saved["out_ptr"], expected, atol=1e-5)


def test_xnpu_run_reference_runs_through_xdsls_dispatch_to_the_same_report(tmp_path, capsys):
    """`xnpu-run --reference` runs every op through xDSL's own Interpreter.run_op: the
    same cycles and the same saved arrays as xnpu's compiled blocks."""
    import json

    from xnpu.frontend.ttir import module_text
    from xnpu.kernels import corpus_kernel
    from xnpu.run_cli import main

    lowered = tmp_path / "gelu.mlir"
    lowered.write_text(module_text(xnpu.lower(corpus_kernel("gelu").to_tt(), "vec+mt+db")))
    reports, saved = [], []
    for extra in ([], ["--reference"]):
        out = tmp_path / f"out{len(extra)}.npz"
        argv = [str(lowered), "--args", "randn:5000,zeros:5000,5000", "--grid", "5", "--json"]
        assert main([*argv, "--save", str(out), *extra]) == 0
        reports.append(json.loads(capsys.readouterr().out))
        saved.append(np.load(out)["out_ptr"])
    assert reports[0]["cycles"] == reports[1]["cycles"] and reports[0]["cycles"] > 0
    assert saved[0].tobytes() == saved[1].tobytes()


def test_xnpu_run_errors_are_one_line(tmp_path):
    source = tmp_path / "k.mlir"
    source.write_text(RECURRENCE)
    result = subprocess.run(
        ["xnpu-run", str(source), "--args", "randn:8,zeros:4,8", "--grid", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("xnpu-run: error: out-of-bounds memref.store")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{npy},zeros:4,4", r"x64.npy holds float64, but the parameter is memref<\?xf32>"),
        ("randn:4,zeros:4,99999999999", r"is i32: 99999999999 is outside -2147483648..2147483647"),
    ],
)
def test_xnpu_run_refuses_what_does_not_fit_its_parameter(tmp_path, args, message):
    """xnpu-run follows xnpu.run: no silent conversion of arrays, no wrapped integers."""
    source = tmp_path / "k.mlir"
    source.write_text(RECURRENCE)
    wide = tmp_path / "x64.npy"
    np.save(wide, np.ones(4))
    result = subprocess.run(
        ["xnpu-run", str(source), "--args", args.format(npy=wide), "--grid", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_an_overflow_of_many_buffers_names_the_largest_and_sums_the_rest():
    allocs = "\n".join(
        f"  %b{i} = spm.alloc : memref<{1024 + i}xf32, #spm.scratch>" for i in range(3000)
    )
    text = f"func.func @many(%grid: index) {{\n{allocs}\n  func.return\n}}"
    with pytest.raises(InterpreterError) as error:
        xnpu.run(parse_ir(text), grid=1)
    message = str(error.value).splitlines()[0]
    assert message.count("(memref<") == 5  # the five largest, by name
    assert re.search(r", and \d+ smaller buffers \(\d+ bytes\)$", message)
    assert len(message) < 1000


def test_run_time_errors_are_short():
    """An interpreter error names the op and what it did; the module is not dumped."""
    with pytest.raises(InterpreterError) as error:
        xnpu.run(parse_ir(RECURRENCE), np.ones(8, np.float32), np.zeros(4, np.float32), 8, grid=1)
    assert not getattr(error.value, "__notes__", [])
    assert len(str(error.value)) < 300


def test_bf16_is_held_as_f32_rounded_like_torch():
    """Rounding to bf16 matches torch's: to nearest, ties to even, overflow to inf, NaN
    kept (its sign is not compared), the sign of zero kept."""
    import torch

    from xnpu.interpreters.simulator.values import to_bfloat16

    special = [1 + 2**-8, 1 + 3 * 2**-8, 3.4e38, float("nan"), float("inf"), -0.0]
    x = torch.cat([torch.randn(10000) * 1e3, torch.tensor(special)])
    got = torch.from_numpy(to_bfloat16(x.numpy()))
    want = x.bfloat16().float()
    assert torch.allclose(got, want, rtol=0, atol=0, equal_nan=True)
    numbers = ~want.isnan()
    assert torch.equal(got[numbers].signbit(), want[numbers].signbit())
    assert to_bfloat16(np.float32(1 + 2**-8)) == np.float32(1.0)  # a tie: to even


IN_PLACE = """
func.func @in_place(%out: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  %t = spm.alloc : memref<32xf32, #spm.scratch>
  scf.for %r = %c0 to %c4 step %c1 {
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %c8 step %c1 {
        %row = arith.muli %i, %c8 : index
        %at = arith.addi %row, %j : index
        %v = memref.load %t[<index>] : memref<32xf32, #spm.scratch>
        %w = arith.addf %v, %one : f32
        memref.store %w, %t[<index>] : memref<32xf32, #spm.scratch>
      }
    }
  }
  spm.copy %t[%c0] to %out[%c0] count %c8 : memref<32xf32, #spm.scratch> to memref<?xf32>
  func.return
}
"""


@pytest.mark.parametrize(
    ("index", "batched", "want"),
    [("%at", True, [4.0] * 8), ("%j", False, [16.0] * 8), ("%c0", False, [128.0] + [0.0] * 7)],
)
def test_a_tile_updated_in_place_runs_at_once_only_when_each_trip_owns_its_element(
    index, batched, want
):
    """`%t[i * 8 + j] += 1` touches one element a trip: the nest runs on index arrays.
    `%t[j] += 1` and `%t[0] += 1` revisit elements, so they run trip by trip, and each
    element counts every visit."""
    from xnpu.interpreters.scf import plan_loop

    module = parse_ir(IN_PLACE.replace("<index>", index))
    rows = [op for op in module.walk() if isinstance(op, scf.ForOp)][1]
    assert plan_loop(rows).vectorized is batched
    out = np.zeros(8, np.float32)
    xnpu.run(module, out, grid=1)
    assert out.tolist() == want


@pytest.mark.parametrize("level", ["scalar", "vec", "vec+mt+db"])
@pytest.mark.parametrize(("block", "elements"), [(16, 1000), (1024, 5000), (64, 4096)])
def test_a_tiles_programs_run_at_once_as_they_would_one_by_one(level, block, elements, monkeypatch):
    """A tile's program loop (each program's elements start at its own offset) runs on
    arrays, its programs grouped by their nested trip counts (the masked last program
    is a group of its own): the output and the cycles are those of running the programs
    one by one."""
    from xnpu.interpreters import scf as scf_functions
    from xnpu.kernels import corpus_kernel

    kernel = corpus_kernel("gelu")
    constexprs = kernel.constexprs | {"BLOCK_SIZE": block}
    module = xnpu.lower(xnpu.from_triton(kernel.kernel, kernel.signature, constexprs), level)
    programs = [op for op in module.walk() if "npu.programs_in_tile" in op.attributes]
    assert programs and all(scf_functions.plan_loop(op).bounds_slice for op in programs)
    x = np.random.default_rng(0).standard_normal(elements).astype(np.float32)
    grid = (elements + block - 1) // block

    def run():
        out = np.zeros_like(x)
        return out, xnpu.run(module, x, out, elements, grid=grid).cycles

    batched, batched_cycles = run()
    real_plan = scf_functions.plan_loop

    def one_by_one(loop, outer=None):
        plan = real_plan(loop, outer)
        return scf_functions.LoopPlan(False) if plan.bounds_slice else plan

    monkeypatch.setattr(scf_functions, "plan_loop", one_by_one)
    sequential, sequential_cycles = run()
    assert np.array_equal(batched, sequential)
    assert batched_cycles == pytest.approx(sequential_cycles, rel=1e-12)  # sums in another order


def test_erf_is_the_correctly_rounded_float32_erf():
    """numpy has no erf; xnpu's own (interpreters/math.py) gives float32's correctly
    rounded erf everywhere, signs, zeros, infinities and NaN included."""
    import math

    from xnpu.interpreters.math import _erf

    x = np.concatenate(
        [
            np.linspace(-7, 7, 300_001),
            np.random.default_rng(0).normal(0, 2, 100_000),
            [0.0, -0.0, 1.0, -1.0, 6.0, 5.9999995, np.inf, -np.inf, np.nan, 1e-30, -1e-30],
        ]
    ).astype(np.float32)
    want = np.array([math.erf(float(v)) for v in x]).astype(np.float32)
    got = _erf(x)
    assert got.dtype == np.float32
    assert np.array_equal(got, want, equal_nan=True)
    assert np.signbit(_erf(np.array([-0.0], np.float32)))[0]
    assert _erf(np.float32(0.5)) == np.float32(math.erf(0.5))


def test_running_a_kernel_on_numpy_arrays_imports_neither_torch_nor_xdsls_interpreters():
    """torch takes about 1.4 s to import and xDSL's interpreter package a quarter of a
    second: a numpy run (GELU calls erf) must load neither."""
    script = """
import sys
import numpy as np
import xnpu
from xnpu.kernels.gelu import CONSTEXPRS, SIGNATURE, gelu
module = xnpu.lower(xnpu.from_triton(gelu, SIGNATURE, CONSTEXPRS), "vec")
x = np.linspace(-4, 4, 4096, dtype=np.float32)
out = np.zeros_like(x)
xnpu.run(module, x, out, 4096, grid=4)
assert abs(out[-1] - 4.0) < 1e-3, out[-1]
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("xdsl.interpreters")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_module_is_verified_again_once_it_changes():
    """xnpu.run verifies a module on its first run, and again after its ops change: a
    module broken between two runs is named, not run."""
    from xdsl.dialects import arith as xdsl_arith

    from xnpu.kernels import corpus_kernel

    kernel = corpus_kernel("vector_add")
    module = xnpu.lower(kernel.to_tt(), "scalar")
    x = np.ones(1024, np.float32)
    out = np.zeros(1024, np.float32)
    xnpu.run(module, x, x, out, 1024, grid=1)
    assert out[0] == 2.0
    constant = next(op for op in module.walk() if isinstance(op, xdsl_arith.ConstantOp))
    constant.detach()  # its users now use a value defined nowhere before them
    with pytest.raises(InterpreterError, match="the module does not verify"):
        xnpu.run(module, x, x, out, 1024, grid=1)


def test_a_module_run_again_reuses_what_it_compiled_until_it_changes():
    """A second run of an unchanged module reuses its prepared interpreter (blocks,
    plans, prices); a module changed in place between runs, here one operand
    replaced, is prepared anew and runs as it now reads."""
    from xdsl.dialects import arith as xdsl_arith

    from xnpu.interpreters.simulator.prepared import prepared
    from xnpu.kernels import corpus_kernel

    module = xnpu.lower(corpus_kernel("vector_add").to_tt(), "vec")
    x, y = np.arange(2048, dtype=np.float32), np.full(2048, 3, np.float32)
    first, second = np.zeros_like(x), np.zeros_like(x)
    report = xnpu.run(module, x, y, first, 2048, grid=2)
    with prepared(module, load_machine()) as kept:
        with prepared(module, load_machine()) as concurrent:  # kept is busy: a fresh one
            assert concurrent is not kept
    assert xnpu.run(module, x, y, second, 2048, grid=2).cycles == report.cycles
    with prepared(module, load_machine()) as again:
        assert again is kept
    assert np.array_equal(first, x + 3) and np.array_equal(second, x + 3)

    add = next(op for op in module.walk() if isinstance(op, xdsl_arith.AddfOp))
    add.operands[1] = add.operands[0]  # out = x + x, with the same ops and attributes
    changed = np.zeros_like(x)
    xnpu.run(module, x, y, changed, 2048, grid=2)
    with prepared(module, load_machine()) as afresh:
        assert afresh is not kept
    assert np.array_equal(changed, x + x)


def test_a_failed_run_leaves_the_next_run_of_its_module_as_a_first_one():
    """A run that fails midway (a bad launch here) does not leak its state into the
    next run of the same module: values, traces and cycles are those of a fresh run."""
    from xnpu.kernels import corpus_kernel

    module = xnpu.lower(corpus_kernel("vector_add").to_tt(), "vec+mt+db")
    x = np.ones(4096, np.float32)
    out = np.zeros(4096, np.float32)
    fresh = xnpu.run(xnpu.lower(corpus_kernel("vector_add").to_tt(), "vec+mt+db"),
                     x, x, out, 4096, grid=4)  # fmt: skip
    out[:] = 0
    with pytest.raises(InterpreterError, match="out-of-bounds"):
        xnpu.run(module, x, x, out, 8192, grid=8)  # elements past the end of the arrays
    assert not out.any()  # untouched by the failed run
    again = xnpu.run(module, x, x, out, 4096, grid=4)
    assert again.cycles == fresh.cycles and again.contexts == fresh.contexts
    assert np.array_equal(out, x + x)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 63), st.integers(0, 24), st.integers(0, 3), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_a_ledger_kept_as_runs_finds_what_one_record_per_element_finds(accesses):
    """The ledger keeps a buffer's writers as runs of elements while each claim is a
    slice of one unit, and one record per element otherwise: after any mix of claims,
    slices and gathers alike, both find the same first race, unit and count."""
    from xdsl.dialects.test import TestOp

    from xnpu.interpreters.simulator.races import Ledger

    buffer = np.zeros(64, np.float32)
    op = TestOp()
    runs, dense = Ledger(), Ledger()
    units = runs.new_units(4, "main")
    assert dense.new_units(4, "main") == units
    for start, count, unit, as_gather in accesses:
        stop = min(start + count, 64)
        elements = np.arange(start, stop) if as_gather else slice(start, stop)
        found = runs.find(runs.writers, buffer, elements, units + unit)
        expected = dense.find(dense.writers, buffer, elements, units + unit)
        assert found == expected
        runs.claim(runs.writers, buffer, elements, units + unit, op)
        dense.claim(dense.writers, buffer, np.arange(start, stop), units + unit, op)  # dense
