"""The three mechanisms (npu-vectorize, npu-multithread, npu-double-buffer): every
corpus kernel at every level gives PyTorch's outputs, the timing shows what each buys,
races are caught, bad options are explained, and the timeline exports."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import kernels_2d
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ir_helpers import parse_ir
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.utils.exceptions import PassFailedException

import xnpu
from xnpu.dialects import hwctx, spm
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.kernels import corpus_kernel, corpus_names
from xnpu.kernels.cases import TEST_SIZES, make_case
from xnpu.transforms.pipelines import LEVELS

VARIANTS = [
    *((level, ()) for level in LEVELS),
    ("vec+mt+db", (("buffers", 1),)),
    ("vec+mt+db", (("writeback", "sync"),)),
    ("vec+mt+db", (("buffers", 3),)),
    ("vec+mt", (("schedule", "cyclic"), ("contexts", 3))),
    ("vec+db", ()),
    ("mt+db", ()),
]
"""The ladder, and variants that use the passes alone, in other combinations and with
other options."""


@functools.cache
def lowered(name: str, level: str, options: tuple = ()):
    return xnpu.lower(corpus_kernel(name).to_tt(), level, **dict(options))


GOLDEN_CYCLES = Path(__file__).parent / "golden_cycles.json"
"""Every corpus kernel's cycles at every variant and test size, as the model gave them
when last updated: a change that is not meant to move the model (a faster interpreter,
a refactoring) must leave each one exactly as it was. After a change that is meant to,
regenerate them: XNPU_UPDATE_GOLDEN=1 pytest test/test_mechanisms.py -k corpus_kernel"""

UPDATING_GOLDEN = os.environ.get("XNPU_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def golden_cycles():
    cycles = json.loads(GOLDEN_CYCLES.read_text()) if GOLDEN_CYCLES.exists() else {}
    yield cycles
    if UPDATING_GOLDEN:
        GOLDEN_CYCLES.write_text(json.dumps(cycles, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize(("level", "options"), VARIANTS)
@pytest.mark.parametrize("name", corpus_names())
def test_every_corpus_kernel_at_every_level_matches_pytorch(name, level, options, golden_cycles):
    module = lowered(name, level, options)
    module.verify()
    for size in TEST_SIZES[name]:
        case = make_case(name, size)
        cycles = xnpu.run(module, *case.args, grid=case.grid).cycles
        assert case.mismatches() == [], (name, level, options, size)
        key = f"{name} {level} {dict(options)} {size}"
        if UPDATING_GOLDEN:
            golden_cycles[key] = cycles
        else:
            assert cycles == golden_cycles.get(key), (key, "cycles moved: see GOLDEN_CYCLES")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", corpus_names())
def test_compiled_blocks_run_as_xdsls_own_dispatch(name, level):
    """xnpu runs blocks compiled once into steps (interpreters/blocks.py); running each
    op through xDSL's Interpreter.run_op, its listener and its scoped values instead
    gives the same bits in every output and the same cycles, to the last bit."""
    module = lowered(name, level)
    size = TEST_SIZES[name][-1]
    compiled, reference = make_case(name, size), make_case(name, size)
    compiled_report = xnpu.run(module, *compiled.args, grid=compiled.grid)
    reference_report = xnpu.run(module, *reference.args, grid=reference.grid, reference=True)
    assert compiled_report.cycles == reference_report.cycles
    assert compiled_report.contexts == reference_report.contexts
    for ours, theirs in zip(compiled.args, reference.args, strict=True):
        if isinstance(ours, torch.Tensor):  # bit for bit, NaNs included
            assert torch.equal(ours.flatten().view(torch.uint8), theirs.flatten().view(torch.uint8))
        else:
            assert ours == theirs


# Sizes around the block (1024 or 256 lanes) and around the context count.
ELEMENTWISE = st.sampled_from(["vector_add", "gelu", "inductor/gelu", "inductor/silu"])
ROWS = st.sampled_from(["softmax", "layer_norm", "rms_norm"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.tuples(ELEMENTWISE, st.integers(1, 7 * 1024 + 5)),
        st.tuples(ROWS, st.tuples(st.integers(1, 9), st.integers(1, 1024))),
    ),
    st.sampled_from(VARIANTS),
    st.integers(0, 2**16),
)
def test_differential_against_pytorch(kernel_and_size, variant, seed):
    (name, size), (level, options) = kernel_and_size, variant
    case = make_case(name, size, seed)
    xnpu.run(lowered(name, level, options), *case.args, grid=case.grid)
    assert case.mismatches() == []


@functools.cache
def lowered_with_block(name: str, block: int, level: str, options: tuple = ()):
    """An element-wise corpus kernel compiled with its block set to `block`."""
    source = corpus_kernel(name)
    parameter = "XBLOCK" if "XBLOCK" in source.constexprs else "BLOCK_SIZE"
    constexprs = {**source.constexprs, parameter: block}
    return xnpu.lower(xnpu.from_triton(source.kernel, source.signature, constexprs), level,
                      **dict(options))  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["vector_add", "gelu", "inductor/silu"]),
    st.integers(1, 70_000),
    st.sampled_from([None, 16, 64, 256, 4096, 1 << 15]),
    st.sampled_from(VARIANTS),
    st.integers(0, 2**16),
)
def test_any_block_on_any_grid_matches_pytorch(name, n, block, variant, seed):
    """Both launch styles: one program whose block holds all n elements (block None:
    the next power of two, strip-mined into tiles), and grids of small blocks
    (coarsened into shared tiles) or of large ones (strip-mined), tails included."""
    level, options = variant
    block = block or 1 << (n - 1).bit_length()
    case = make_case(name, n, seed)
    grid = (-(-n // block),)
    xnpu.run(lowered_with_block(name, block, level, options), *case.args, grid=grid)
    assert case.mismatches() == [], (block, grid)


@functools.cache
def lowered_scale_rows(block_m: int, block_n: int, level: str, options: tuple = ()):
    signature = {"x_ptr": "*fp32", "s_ptr": "*fp32", "out_ptr": "*fp32", "n_rows": "i32",
                 "n_cols": "i32"}  # fmt: skip
    constexprs = {"STRIDE": SCALE_ROWS_STRIDE, "BLOCK_M": block_m, "BLOCK_N": block_n}
    tt_module = xnpu.from_triton(kernels_2d.scale_rows, signature, constexprs)
    return xnpu.lower(tt_module, level, **dict(options))


SCALE_ROWS_STRIDE = 600


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([(4, 64), (64, 128), (1024, 256), (2048, 512)]),
    st.integers(1, 2100),
    st.integers(1, SCALE_ROWS_STRIDE),
    st.sampled_from(VARIANTS),
    st.integers(0, 2**16),
)
def test_2d_blocks_of_any_size_match_pytorch(block, rows, cols, variant, seed):
    """2-D blocks (rows x columns), small ones and ones strip-mined by rows because
    they do not fit, tails in both dimensions."""
    (block_m, block_n), (level, options) = block, variant
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, SCALE_ROWS_STRIDE, generator=generator)
    s = torch.randn(rows, generator=generator)
    out = torch.zeros(rows, SCALE_ROWS_STRIDE)
    grid = (-(-rows // block_m), -(-cols // block_n))
    xnpu.run(lowered_scale_rows(block_m, block_n, level, options), x, s, out, rows, cols,
             grid=grid)  # fmt: skip
    expected = torch.zeros(rows, SCALE_ROWS_STRIDE)
    expected[:, :cols] = x[:, :cols] * s[:, None]
    assert torch.equal(out, expected)


REDUCTIONS_2D = {
    # name: kernel, its (BLOCK_M, BLOCK_N), the PyTorch reference, the grid for (rows, cols)
    "row_max": (kernels_2d.row_max, (4, 64), lambda x: x.max(1).values, lambda r, c: -(-r // 4)),
    "column_sum": (kernels_2d.column_sum, (16, 64), lambda x: x.sum(0), lambda r, c: -(-c // 64)),
}


@pytest.mark.parametrize(("level", "options"), VARIANTS)
@pytest.mark.parametrize("name", REDUCTIONS_2D)
def test_2d_reductions_run_at_every_level(name, level, options):
    """Row and column reductions of 2-D blocks: every transfer of their tile loops
    moves a box, and DB must pipeline them or leave them, never fail."""
    kernel, (block_m, block_n), reference, programs = REDUCTIONS_2D[name]
    signature = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_rows": "i32", "n_cols": "i32"}
    tt_module = xnpu.from_triton(kernel, signature, {"BLOCK_M": block_m, "BLOCK_N": block_n})
    rows, cols = 13, 50  # one block wide (row_max) and one block high (column_sum)
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(3))
    want = reference(x)
    out = torch.full((want.numel(),), float("nan"))
    lowered = xnpu.lower(tt_module, level, **dict(options))
    xnpu.run(lowered, x, out, rows, cols, grid=(programs(rows, cols),))
    assert torch.allclose(out, want, atol=1e-5)


@pytest.mark.parametrize("n", [1 << 20, 1 << 24])
@pytest.mark.parametrize("level", LEVELS)
def test_reference_style_launches_up_to_16m_elements_match_pytorch(level, n):
    """The reference compiler's launch: BLOCK = 2^20 (Triton's largest tensor), one
    program for 1M elements, grid=(16,) for 16M."""
    case = make_case("vector_add", n)
    grid = (n >> 20,)
    xnpu.run(lowered_with_block("vector_add", 1 << 20, level), *case.args, grid=grid)
    assert case.mismatches() == []


def cycles(name: str, size, level: str, **options) -> float:
    case = make_case(name, size)
    report = xnpu.run(lowered(name, level, tuple(options.items())), *case.args, grid=case.grid)
    assert case.mismatches() == []
    return report.cycles


@pytest.mark.parametrize("name", ["vector_add", "gelu"])
def test_the_ladder_falls_rung_by_rung(name):
    """At the published size: MT's fork costs more than it saves on smaller ones."""
    scalar, vec, mt, db = (cycles(name, 1 << 20, level) for level in LEVELS)
    assert scalar > vec > mt >= db
    assert cycles(name, 1 << 20, "vec+mt+db", writeback="sync") >= db


def test_multithreading_loses_on_one_program():
    """Fork and join cost more than nothing: one block of work gains nothing from
    four contexts."""
    assert cycles("gelu", 1024, "vec+mt") > cycles("gelu", 1024, "vec")


def test_double_buffering_overlaps_dma_with_compute(tmp_path):
    case = make_case("gelu", 16 * 1024)
    report = xnpu.run(lowered("gelu", "vec+mt+db"), *case.args, grid=case.grid)
    assert report.timeline.dma_bytes == 2 * 16 * 1024 * 4
    assert report.overlap_cycles > 0
    assert report.to_dict()["overlap_cycles"] == round(report.overlap_cycles)  # whole cycles
    path = tmp_path / "trace.json"
    report.save_trace(path)
    events = json.loads(path.read_text())["traceEvents"]
    names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert {"main", "context 0", "context 3", "dma 0"} <= names
    spans = [e for e in events if e["ph"] == "X"]
    dma_in = [e for e in spans if e["name"] == "dma in"]
    compute = [e for e in spans if e["name"] == "compute"]
    assert len(dma_in) == 8  # 16 programs, coarsened two a tile: a tile per context and buffer
    under_compute = [
        d for d in dma_in
        if any(c["ts"] < d["ts"] + d["dur"] and d["ts"] < c["ts"] + c["dur"] for c in compute)
    ]  # fmt: skip
    assert under_compute, "no input transfer ran while a context computed"


def test_one_buffer_waits_for_every_transfer():
    """buffers=1 uses the DMA engine without overlap inside a context: with one
    context, nothing transfers while it computes."""
    case = make_case("gelu", 16 * 1024)
    module = lowered("gelu", "vec+db", (("buffers", 1), ("writeback", "sync")))
    report = xnpu.run(module, *case.args, grid=case.grid)
    assert report.overlap_cycles == 0
    assert report.dma_wait_cycles > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"width": 0}, "npu-vectorize: width must be positive, got 0"),
        ({"width": 24}, "width=24 does not divide the 32 f32 lanes of a 128-byte vector"),
        ({"contexts": 0}, "contexts must be between 1 and the 6 hardware threads"),
        ({"schedule": "dynamic"}, "unknown schedule 'dynamic'; use one of block, cyclic"),
        ({"buffers": 0}, "buffers must be at least 1, got 0"),
        ({"writeback": "lazy"}, "unknown writeback 'lazy'; use one of async, sync"),
        ({"budget": 1 << 30}, "npu-tile: budget 1073741824 bytes is more than the 8388608"),
        ({"decide": "maybe"}, "unknown decide 'maybe'; use one of model, always, never"),
    ],
)
def test_invalid_pass_options_are_explained(options, message):
    with pytest.raises(PassFailedException, match=message.replace("(", r"\(")):
        xnpu.lower(corpus_kernel("gelu").to_tt(), "vec+mt+db", **options)


def test_unknown_level_is_explained():
    with pytest.raises(ValueError, match="unknown level 'vec\\+foo'"):
        xnpu.lower(corpus_kernel("gelu").to_tt(), "vec+foo")


RACES = """
func.func @races(%x: memref<?xf32>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  %tile = spm.alloc : memref<16xf32, #spm.scratch>
  %t = spm.dma_start %x[%c0] to %tile[%c0] count %c8 : memref<?xf32> to memref<16xf32, #spm.scratch>
  <between>
  spm.dma_wait %t
  %w = spm.dma_start %tile[%c0] to %y[%c0] count %c8 : memref<16xf32, #spm.scratch> to memref<?xf32>
  <after_write_back>
  spm.dma_wait %w
  func.return
}
"""


def run_races(between: str = "", after_write_back: str = ""):
    text = RACES.replace("<between>", between).replace("<after_write_back>", after_write_back)
    module = parse_ir(text)
    x, y = make_case("vector_add", 16).args[:2]
    return xnpu.run(module, x, y, grid=1)


def test_race_free_dma_runs():
    report = run_races()
    assert report.timeline.dma_bytes == 2 * 8 * 4


@pytest.mark.parametrize(
    ("between", "after_write_back", "message"),
    [
        (
            "%v = memref.load %tile[%c4] : memref<16xf32, #spm.scratch>", "",
            r"race: memref.load reads elements 4 to 4 of %tile while spm.dma_start "
            r"\(token 0, still writing them\); wait on its token first",
        ),
        (
            "", "memref.store %one, %tile[%c4] : memref<16xf32, #spm.scratch>",
            r"race: memref.store writes elements 4 to 4 of %tile while spm.dma_start "
            r"\(token 1, still reading them\)",
        ),
        (
            "",
            "%u = spm.dma_start %x[%c0] to %tile[%c4] count %c4"
            " : memref<?xf32> to memref<16xf32, #spm.scratch>\n  spm.dma_wait %u",
            r"race: spm.dma_start writes elements 4 to 7 of %tile while spm.dma_start "
            r"\(token 1, still reading them\)",
        ),
    ],
)  # fmt: skip
def test_races_name_both_operations(between, after_write_back, message):
    with pytest.raises(InterpreterError, match=message):
        run_races(between, after_write_back)


def test_reading_outside_an_unfinished_transfer_is_no_race():
    run_races("%v = memref.load %tile[%c8] : memref<16xf32, #spm.scratch>")


def planted(edit) -> xnpu.Report:
    """GELU at vec+mt+db (8 tiles, two a context) with `edit` applied to its IR, run
    on 2^18 elements."""
    module = xnpu.lower(corpus_kernel("gelu").to_tt(), "vec+mt+db")
    (parallel,) = [op for op in module.walk() if isinstance(op, hwctx.ParallelOp)]
    edit(parallel)
    case = make_case("gelu", 2**18)
    return xnpu.run(module, *case.args, grid=case.grid)


def same_range_in_every_context(parallel: hwctx.ParallelOp) -> None:
    zero = arith.ConstantOp(IntegerAttr(0, IndexType()))
    parallel.body.block.insert_op_before(zero, parallel.body.block.first_op)
    parallel.body.block.args[0].replace_all_uses_with(zero.result)


def every_write_back_to_element_0(parallel: hwctx.ParallelOp) -> None:
    for op in parallel.walk():
        if isinstance(op, spm.DmaStartOp) and not op.to_scratchpad:
            zero = arith.ConstantOp(IntegerAttr(0, IndexType()))
            op.parent_block().insert_op_before(zero, op)
            op.operands[3] = zero.result


def tiles_shared_by_the_contexts(parallel: hwctx.ParallelOp) -> None:
    for op in list(parallel.walk()):
        if isinstance(op, spm.AllocOp):
            op.detach()
            parallel.parent_block().insert_op_before(op, parallel)


def test_the_planted_edits_leave_a_valid_module():
    assert planted(lambda parallel: None).cycles > 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            same_range_in_every_context,
            r"race: spm.dma_start at \S+gelu.py:\d+:\d+ \(context 1, iteration 0 of scf.for\) writes element 0 "
            r"\(and 32,767 more\) of %out_ptr, which spm.dma_start at \S+gelu.py:\d+:\d+ \(context 0, "
            r"iteration 0 of scf.for\) wrote: "
            r"programs have no order between them",
        ),
        (
            every_write_back_to_element_0,
            r"race: spm.dma_start at \S+gelu.py:\d+:\d+ \(context 0, iteration 1 of scf.for\) writes element 0 "
            r"\(and 32,767 more\) of %out_ptr, which spm.dma_start at \S+gelu.py:\d+:\d+ \(context 0, "
            r"iteration 0 of scf.for\) wrote",
        ),
        (
            tiles_shared_by_the_contexts,
            r"race: spm.dma_start at \S+gelu.py:\d+:\d+ \('x'\) \(context 1\) writes element 0 \(and 32,767 "
            r"more\) of %in0, which spm.dma_start at \S+gelu.py:\d+:\d+ \('x'\) \(context 0\) wrote: "
            r"the contexts of an hwctx.parallel have no order between them; give each context its own "
            r"buffer",
        ),
    ],
)
def test_planted_races_between_programs_and_contexts_name_both_ops(edit, message):
    with pytest.raises(InterpreterError, match=message):
        planted(edit)


EVERY_PROGRAM_WRITES = """
func.func @every_program(%x: memref<?xf32>, %out: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %pid = %c0 to %grid step %c1 {
    %where = <where>
    %v = <value>
    memref.store %v, %out[%where] : memref<?xf32>
    memref.store %v, %out[%where] : memref<?xf32>
  }
  func.return
}
"""


def run_every_program(where: str, value: str) -> xnpu.Report:
    text = EVERY_PROGRAM_WRITES.replace("<where>", where).replace("<value>", value)
    x = np.arange(8, dtype=np.float32)
    return xnpu.run(parse_ir(text), x, np.zeros(8, np.float32), grid=8)


PROGRAM_ID = "arith.addi %pid, %c0 : index"
CONSTANT = "arith.constant 2.0 : f32"
LOADED = "memref.load %x[%pid] : memref<?xf32>"  # a DDR load: the loop runs in sequence


@pytest.mark.parametrize("value", [CONSTANT, LOADED])
def test_a_program_may_write_its_own_element_twice(value):
    run_every_program(PROGRAM_ID, value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            CONSTANT,
            r"race: memref.store writes element 0 \(and 6 more\) of %out in main, iteration 1 of scf.for "
            r"and in main, iteration 0 of scf.for: programs have no order",
        ),
        (
            LOADED,
            r"race: memref.store \(main, iteration 1 of scf.for\) writes element 0 of %out, "
            r"which memref.store \(main, iteration 0 of scf.for\) wrote",
        ),
    ],
)
def test_two_programs_writing_one_element_race(value, message):
    with pytest.raises(InterpreterError, match=message):
        run_every_program("arith.constant 0 : index", value)


NEVER_WAITED = """
func.func @never_waited(%x: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %tile = spm.alloc : memref<16xf32, #spm.scratch>
  %none = spm.completed : !spm.token
  %last = scf.for %i = %c0 to %c1 step %c1 iter_args(%previous = %none) -> (!spm.token) {
    spm.dma_wait %previous
    %t = spm.dma_start %x[%c0] to %tile[%c0] count %c8 : memref<?xf32> to memref<16xf32, #spm.scratch>
    scf.yield %t : !spm.token
  }
  func.return
}
"""


def test_a_transfer_never_waited_on_is_an_error():
    module = parse_ir(NEVER_WAITED)
    x = make_case("gelu", 16).args[0]
    with pytest.raises(
        InterpreterError,
        match=r"spm.dma_start \(token 0\) is never waited on before the end of @never_waited",
    ):
        xnpu.run(module, x, grid=1)


@pytest.mark.parametrize(("level", "options"), VARIANTS)
def test_a_float_comparison_vectorizes_at_every_level(level, options):
    """A scalar arith.cmpf that npu-vectorize widens (it carries xDSL's default
    fast-math flags) gives PyTorch's outputs."""
    signature = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "threshold": "fp32"}
    module = xnpu.lower(
        xnpu.from_triton(kernels_2d.leaky_above, signature, {"BLOCK": 256}), level, **dict(options)
    )
    x = torch.randn(1000)
    out = torch.zeros(1000)
    xnpu.run(module, x, out, 1000, 0.25, grid=4)
    assert torch.equal(out, torch.where(x > 0.25, x, 0.1 * x))
    if "vec" in level:
        assert "arith.cmpf ogt" in str(module) and "vector<32xi1>" in str(module)


def undominated_uses(module) -> list[str]:
    """Operands not defined before their use in the same or an enclosing block: SSA
    dominance for structured IR (xDSL's verify() does not check it)."""
    faults: list[str] = []

    def walk(block, visible: set) -> None:
        visible = visible | set(block.args)
        for op in block.ops:
            for operand in op.operands:
                if operand not in visible:
                    faults.append(
                        f"{op.name} uses {operand.name_hint or operand} before it is defined"
                    )
            for region in op.regions:
                for inner in region.blocks:
                    walk(inner, visible)
            visible |= set(op.results)

    walk(module.body.block, set())
    return faults


@pytest.mark.parametrize(("level", "options"), VARIANTS)
@pytest.mark.parametrize("name", corpus_names())
def test_every_lowered_corpus_module_respects_dominance(name, level, options):
    assert undominated_uses(lowered(name, level, options)) == []


def test_the_dominance_check_finds_a_use_before_its_definition():
    module = parse_ir(
        "func.func @f(%a: i32) {\n  %b = arith.addi %a, %a : i32\n"
        "  %c = arith.muli %b, %b : i32\n  func.return\n}\n",
    )
    assert undominated_uses(module) == []
    multiply = next(op for op in module.walk() if op.name == "arith.muli")
    add = multiply.operands[0].owner
    multiply.detach()
    add.parent_block().insert_op_before(multiply, add)
    assert undominated_uses(module) == ["arith.muli uses b before it is defined"] * 2


@pytest.mark.parametrize(("level", "options"), VARIANTS)
def test_a_kernel_that_only_writes_runs_at_every_level(level, options):
    """npu-double-buffer pipelines write-backs with no input tile to prefetch."""
    signature = {"out_ptr": "*fp32", "n": "i32"}
    module = xnpu.lower(
        xnpu.from_triton(kernels_2d.ramp, signature, {"BLOCK": 256}), level, **dict(options)
    )
    out = torch.full((1000,), -1.0)
    xnpu.run(module, out, 1000, grid=4)
    assert torch.equal(out, torch.arange(1000, dtype=torch.float32) * 0.5)
    if "db" in level:
        assert "spm.dma_start" in str(module)


@pytest.mark.parametrize(("level", "options"), VARIANTS)
def test_a_scalar_load_from_a_pointer_argument_at_every_level(level, options):
    signature = {"x_ptr": "*fp32", "s_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"}
    tt_module = xnpu.from_triton(kernels_2d.scale_by_loaded, signature, {"BLOCK": 256})
    module = xnpu.lower(tt_module, level, **dict(options))
    x, scale, out = torch.randn(1000), torch.tensor([1.5]), torch.zeros(1000)
    xnpu.run(module, x, scale, out, 1000, grid=4)
    assert torch.equal(out, x * 1.5)
