"""npu-lower-triton and the scalar level, end to end: every corpus kernel, lowered and
run, matches PyTorch; the lowering's diagnostics name what they reject."""

from __future__ import annotations

import functools
import re
import subprocess
import sys

import kernels_2d
import numpy as np
import pytest
import torch
from xdsl.utils.exceptions import PassFailedException

import xnpu
from xnpu.dialects import xnpu_context
from xnpu.dialects.remarks import remarks_in
from xnpu.frontend.ttir import module_text
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.kernels import corpus_kernel, corpus_names
from xnpu.kernels.cases import TEST_SIZES, make_case
from xnpu.machines import MACHINES_DIR, load_machine
from xnpu.transforms import XNPU_PASSES
from xnpu.transforms.npu_lower_triton import LoweringError, NpuLowerTritonPass
from xnpu.transforms.pipelines import LEVELS


@functools.cache
def tt_module(name: str):
    return corpus_kernel(name).to_tt()


@functools.cache
def scalar_module(name: str):
    return xnpu.lower(tt_module(name), "scalar")


@pytest.mark.parametrize(("name", "size"), [(n, s) for n in corpus_names() for s in TEST_SIZES[n]])
def test_corpus_kernel_matches_pytorch(name, size):
    case = make_case(name, size)
    report = xnpu.run(scalar_module(name), *case.args, grid=case.grid)
    assert case.mismatches() == []
    assert report.cycles > 0
    assert report.compute_cycles > 0 and report.copy_cycles > 0


def test_same_run_twice_gives_the_same_cycles():
    cycles = []
    for _ in range(2):
        case = make_case("softmax", (5, 781))
        cycles.append(xnpu.run(scalar_module("softmax"), *case.args, grid=case.grid).cycles)
    assert cycles[0] == cycles[1]


def test_report_counts_what_moves():
    case = make_case("vector_add", 3000)
    report = xnpu.run(scalar_module("vector_add"), *case.args, grid=case.grid)
    assert report.ddr_bytes == 3 * 3000 * 4  # two inputs in, one output back, valid lanes only
    assert report.microseconds == pytest.approx(report.cycles / report.clock_mhz)
    assert report.cycles == pytest.approx(report.compute_cycles + report.copy_cycles)
    assert "total" in str(report) and '"cycles"' in report.to_json()


def test_cycles_grow_with_the_work():
    small, large = (make_case("gelu", n) for n in (1024, 4096))
    module = scalar_module("gelu")
    assert xnpu.run(module, *large.args, grid=large.grid).cycles == pytest.approx(
        4 * xnpu.run(module, *small.args, grid=small.grid).cycles, rel=0.001
    )


def test_run_lowers_a_tt_module_itself():
    case = make_case("gelu", 100)
    xnpu.run(tt_module("gelu"), *case.args, grid=case.grid)
    assert case.mismatches() == []


@pytest.mark.parametrize("level", LEVELS)
def test_a_module_at_the_tile_level_runs_as_its_kernel_does(level):
    """npu-lower-triton's output (tile.map over boxes) is lowered from npu-lower-tiles
    on by `lower` and `run`: the same program, outputs and cycles as from tt."""
    at_tile_level = tt_module("softmax").clone()
    NpuLowerTritonPass().apply(xnpu_context(), at_tile_level)
    text = module_text(at_tile_level)
    assert "tile.map" in text and "tt." not in text
    from_tt = xnpu.lower(tt_module("softmax"), level)
    from_tiles = xnpu.lower(at_tile_level, level)
    assert module_text(from_tiles) == module_text(from_tt)
    runs = []
    for module in (at_tile_level if level == "scalar" else from_tiles, from_tt):
        case = make_case("softmax", (5, 781))
        runs.append(xnpu.run(module, *case.args, grid=case.grid).cycles)
        assert case.mismatches() == []
    assert runs[0] == runs[1]


def test_lower_leaves_its_input_untouched():
    module = tt_module("gelu")
    before = module_text(module)
    lowered = xnpu.lower(module, "scalar")
    assert module_text(module) == before
    assert "tt.func" in before and "tt." not in module_text(lowered)


def test_xdsl_opt_runs_the_same_pass(tmp_path):
    source = tmp_path / "gelu.mlir"
    source.write_text(module_text(tt_module("gelu")))
    result = subprocess.run(
        ["xdsl-opt", str(source), "-p", "npu-lower-triton,npu-lower-tiles,npu-tile"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == module_text(scalar_module("gelu")).strip()


def test_2d_tiles_move_as_boxes_and_match():
    signature = {
        "x_ptr": "*fp32",
        "s_ptr": "*fp32",
        "out_ptr": "*fp32",
        "n_rows": "i32",
        "n_cols": "i32",
    }
    module = xnpu.from_triton(
        kernels_2d.scale_rows, signature, {"STRIDE": 200, "BLOCK_M": 4, "BLOCK_N": 64}
    )
    lowered = xnpu.lower(module)
    assert " rows " in module_text(lowered)
    rows, cols = 10, 150  # tails in both dimensions
    x, s = torch.randn(rows, 200), torch.randn(rows)
    out = torch.zeros(rows, 200)
    xnpu.run(lowered, x, s, out, rows, cols, grid=(3, 3))
    expected = torch.zeros(rows, 200)
    expected[:, :cols] = x[:, :cols] * s[:, None]
    assert torch.allclose(out, expected)


def test_gathers_read_ddr_in_the_loop_and_match():
    signature = {"x_ptr": "*fp32", "idx_ptr": "*i32", "out_ptr": "*fp32", "n": "i32"}
    lowered = xnpu.lower(xnpu.from_triton(kernels_2d.gather, signature, {"BLOCK": 256}))
    assert "memref.load %x_ptr" in module_text(lowered)
    x = torch.randn(1000)
    idx = torch.randint(0, 1000, (700,), dtype=torch.int32)
    out = torch.zeros(700)
    report = xnpu.run(lowered, x, idx, out, 700, grid=3)
    assert torch.equal(out, x[idx.long()])
    assert report.contexts[0].ddr_bytes_direct == 700 * 4


def test_unsupported_op_is_named_with_its_location():
    module = xnpu.from_triton(
        kernels_2d.halving_while, {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"}, {"BLOCK": 64}
    )
    with pytest.raises(
        LoweringError, match=r"unsupported operation.*'scf.while' at .*kernels_2d.py:\d+"
    ):
        xnpu.lower(module)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [0, 64, 200])
def test_a_kernel_loop_of_any_trip_count_leaves_its_carried_value(level, n):
    """No trip leaves the initial value; a partial last chunk is read whole (the
    kernel does not mask it)."""
    module = xnpu.from_triton(
        kernels_2d.looped_sum, {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"}, {"BLOCK": 64}
    )
    x = torch.randn(256)
    out = torch.full((64,), 7.0)
    xnpu.run(xnpu.lower(module, level), x, out, n, grid=1)
    want = x[: -(-n // 64) * 64].reshape(-1, 64).sum(0)
    assert torch.allclose(out, want, atol=1e-5)


def tiny_machine(tmp_path, capacity: int = 8192):
    machine = (MACHINES_DIR / "edge-npu.toml").read_text()
    small = tmp_path / "tiny.toml"
    small.write_text(machine.replace("capacity_bytes = 8388608", f"capacity_bytes = {capacity}"))
    return small


def test_tiles_shrink_to_a_small_scratchpad(tmp_path):
    case = make_case("vector_add", 3000)
    machine = tiny_machine(tmp_path, 65536)  # 3 tiles x 4 contexts x 2 buffers of 2 KiB
    lowered = xnpu.lower(tt_module("vector_add"), "vec+mt+db", machine=machine)
    assert "memref<512xf32, #spm.scratch>" in module_text(lowered)
    xnpu.run(lowered, *case.args, grid=case.grid, machine=machine)
    assert case.mismatches() == []


def test_blocks_that_cannot_be_tiled_nor_fit_are_explained(tmp_path):
    module = tt_module("softmax")
    with pytest.raises(
        PassFailedException,
        match=r"npu-tile: the scratchpad buffers of @softmax take 12288 bytes .*more than the "
        r"8192.*it was not tiled: its 3 tiles, 8 copies each, do not fit the budget",
    ):
        xnpu.lower(module, machine=tiny_machine(tmp_path))


def test_out_of_bounds_copy_names_op_and_index():
    case = make_case("inductor/add_broadcast", 0)
    last = case.args[0].numel() + 511  # one program of 512 past the end
    with pytest.raises(
        InterpreterError, match=rf"out-of-bounds spm.copy.*elements \d+ to {last}.*in_ptr0"
    ):
        xnpu.run(scalar_module("inductor/add_broadcast"), *case.args, grid=(case.grid[0] + 1,))


def test_a_failing_run_leaves_the_callers_arrays_as_they_were():
    """The last program reads past the end, after the others have written their
    outputs: the error comes, and the output holds what it held before."""
    case = make_case("inductor/add_broadcast", 0)
    out = case.args[2]
    assert out.isnan().all()
    with pytest.raises(InterpreterError, match="out-of-bounds"):
        xnpu.run(scalar_module("inductor/add_broadcast"), *case.args, grid=(case.grid[0] + 1,))
    assert out.isnan().all()


def test_a_read_only_output_is_an_error_and_nothing_is_written():
    x, out = np.ones(8, np.float32), np.zeros(8, np.float32)
    out.flags.writeable = False
    with pytest.raises(InterpreterError, match=r"argument 2 \(out_ptr\) is read-only"):
        xnpu.run(scalar_module("vector_add"), x, x, out, 8, grid=1)
    assert not out.any()


def test_bad_arguments_are_explained():
    module = scalar_module("vector_add")
    x = torch.zeros(8)
    with pytest.raises(InterpreterError, match=r"takes 4 arguments \(.*\), got 3"):
        xnpu.run(module, x, x, x, grid=1)
    with pytest.raises(InterpreterError, match=r"holds float64, but the kernel reads f32"):
        xnpu.run(module, x.double(), x, x, 8, grid=1)
    with pytest.raises(InterpreterError, match=r"pass an int"):
        xnpu.run(module, x, x, x, 8.5, grid=1)


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 99_999_999_999])
def test_integer_arguments_outside_their_type_are_errors(value):
    x = torch.zeros(8)
    with pytest.raises(
        InterpreterError,
        match=rf"argument 3 \(n_elements\) is i32: {value} is outside -2147483648..2147483647",
    ):
        xnpu.run(scalar_module("vector_add"), x, x, x, value, grid=3)


def test_float_arguments_that_overflow_their_type_are_errors():
    tt = xnpu.from_triton(kernels_2d.leaky_above, LEAKY_SIGNATURE, {"BLOCK": 256})
    x = torch.zeros(8)
    with pytest.raises(
        InterpreterError, match=r"argument 3 \(threshold\) is f32: 1e\+300 does not fit"
    ):
        xnpu.run(xnpu.lower(tt), x, x, 8, 1e300, grid=1)


LEAKY_SIGNATURE = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "threshold": "fp32"}


def test_passes_see_the_machine_they_are_given():
    """A machine changed in memory (Machine.with_values) is the one every pass prices
    and sizes for, not the file it came from."""
    wide = load_machine().with_values({"core.vector_bytes": 256})
    assert "vector<64xf32>" in module_text(xnpu.lower(tt_module("gelu"), "vec", wide))
    small = load_machine().with_values(
        {"scratchpad.capacity_bytes": 4096, "scratchpad.tile_budget_bytes": 4096}
    )
    with pytest.raises(
        PassFailedException, match=r"@softmax take 12288 bytes .*more than the 4096"
    ):
        xnpu.lower(tt_module("softmax"), "vec", small)


def test_the_interpreter_checks_the_ir_against_its_machine():
    """IR built for six contexts does not run on a machine of two hardware threads."""
    lowered = xnpu.lower(tt_module("gelu"), "vec+mt", contexts=6)
    two = load_machine().with_values({"core.hardware_threads": 2, "core.vector_contexts": 2})
    case = make_case("gelu", 4096)
    with pytest.raises(
        InterpreterError, match=r"runs 6 contexts, but machine 'edge-npu' has 2 hardware threads"
    ):
        xnpu.run(lowered, *case.args, grid=case.grid, machine=two)


def test_a_long_elementwise_chain_lowers_and_runs():
    """A degree-400 polynomial is a chain of 1,200 ops: deeper than Python's default
    recursion limit, which the lowering's tree walks would otherwise hit."""
    from xnpu.bench.measure import polynomial_kernel

    kernel = polynomial_kernel(400)
    case = kernel.make_case(1500, 0)
    limit = sys.getrecursionlimit()
    xnpu.run(xnpu.lower(kernel.source.to_tt(), "vec"), *case.args, grid=case.grid)
    assert case.mismatches() == []
    assert sys.getrecursionlimit() == limit  # given back after the pass


@pytest.mark.parametrize(
    ("passes", "message"),
    [
        ("npu-tile", "npu-tile: @gelu is a tt kernel, not lowered IR; run npu-lower-triton first"),
        ("npu-double-buffer", "npu-double-buffer: @gelu is a tt kernel"),
        ("npu-lower-triton,npu-lower-triton", "npu-lower-triton: the module holds no tt.func"),
    ],
)
def test_a_pass_on_ir_of_the_wrong_level_fails(passes, message):
    module = corpus_kernel("gelu").to_tt()
    context = xnpu_context()
    with pytest.raises(PassFailedException, match=re.escape(message)):
        for name in passes.split(","):
            XNPU_PASSES[name]()().apply(context, module)


GATHER_BY_DATA = """
tt.func public @gather_by_data(%x: !tt.ptr<f32>, %index: !tt.ptr<i32>, %out: !tt.ptr<f32>) {
  %lanes = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
  %ip = tt.splat %index : !tt.ptr<i32> -> tensor<64x!tt.ptr<i32>>
  %ia = tt.addptr %ip, %lanes : tensor<64x!tt.ptr<i32>>, tensor<64xi32>
  %i = tt.load %ia : tensor<64x!tt.ptr<i32>>
  %xp = tt.splat %x : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
  %xa = tt.addptr %xp, %i : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
  %v = tt.load %xa : tensor<64x!tt.ptr<f32>>
  %op = tt.splat %out : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
  %oa = tt.addptr %op, %lanes : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
  tt.store %oa, %v : tensor<64x!tt.ptr<f32>>
  tt.return
}"""


def test_the_vectorizer_says_which_loops_it_left_scalar():
    """A load at addresses that are data (x[index[i]]) is gathered from DDR lane by
    lane, and a remark says so, naming the loop's function, the op and why."""
    from xnpu.frontend.ttir import parse_ttir

    remarks = remarks_in(xnpu.lower(parse_ttir(GATHER_BY_DATA), "vec"))
    left = [r for r in remarks if "npu-vectorize: left scalar" in r]
    assert left and all(
        r.startswith("@gather_by_data")
        and "reads or writes DDR element by element (memref.load" in r
        for r in left
    ), remarks


def test_a_broadcast_moves_once_a_tile_and_vectorizes():
    """Inductor's broadcast add reads `y[i % 512]` in blocks of 512: no block wraps, so
    the offsets are affine (i itself), every program reads the same y, which moves
    once a tile, and the loop is a vector loop."""
    module = xnpu.lower(corpus_kernel("inductor/add_broadcast").to_tt(), "vec")
    remarks = remarks_in(module)
    assert any("1 tile(s) every program fills alike move once a tile" in r for r in remarks)
    assert not [r for r in remarks if "left scalar" in r or "element by element" in r], remarks
