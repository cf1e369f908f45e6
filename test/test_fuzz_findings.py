"""What the fuzzer (xnpu.fuzz) found, each minimized to a regression test. A block
at a constant offset (no program_id term) is tiled like any other: npu-tile once
moved every tile to the block's first elements when the DDR offset and the
scratchpad offset were one SSA value (both 0), so 7 of 8 outputs were wrong at BLOCK
4096. Reversed lanes under a mask, blocks too big for a set of tiles per context,
and fp16 <-> bf16 conversions (`tt.fp_to_fp`) follow."""

from __future__ import annotations

import kernels_2d
import pytest
import torch
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import PassFailedException

import xnpu
from xnpu.dialects import spm
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.transforms.pipelines import LEVELS

POINTERS = {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32"}


def _check_add(module, elements: int, level: str) -> None:
    g = torch.Generator().manual_seed(elements)
    x, y = torch.randn(elements, generator=g), torch.randn(elements, generator=g)
    out = torch.full((elements,), float("nan"))
    xnpu.run(xnpu.lower(module, level), x, y, out, grid=1)
    torch.testing.assert_close(out, x + y, rtol=0, atol=0)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("block", [16, 1024, 4096, 16384, 65536, 2**18])
def test_a_block_with_no_program_id_term_is_right_at_every_level(block, level):
    module = xnpu.from_triton(kernels_2d.whole_block_add, POINTERS, {"BLOCK": block})
    _check_add(module, block, level)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("rows", "cols"), [(1, 16), (64, 128), (512, 128), (1024, 256)])
def test_its_2d_twin_is_right_at_every_level(rows, cols, level):
    module = xnpu.from_triton(kernels_2d.whole_block_add_2d, POINTERS, {"R": rows, "C": cols})
    _check_add(module, rows * cols, level)


@pytest.mark.parametrize("level", LEVELS)
def test_a_tile_overrun_names_the_kernels_line_and_blames_the_compiler(level):
    """Every tile fill planted to start at its tile's end: the error names the kernel's line
    (DMA levels included) and says the tile is xnpu's, not the kernel's."""
    module = xnpu.lower(
        xnpu.from_triton(kernels_2d.whole_block_add, POINTERS, {"BLOCK": 4096}), level
    )
    for transfer in list(module.walk()):
        if isinstance(transfer, spm.TransferOp) and transfer.to_scratchpad:
            size = transfer.scratchpad_side.type.element_count()
            end = arith.ConstantOp(IntegerAttr(size, IndexType()))
            transfer.parent_block().insert_op_before(end, transfer)
            moved = transfer.remade(scratchpad_offset=end.result)
            Rewriter.replace_op(transfer, moved)
    x, y, out = torch.randn(4096), torch.randn(4096), torch.zeros(4096)
    with pytest.raises(
        InterpreterError,
        match=r"out-of-bounds spm\.\w+ at \S+kernels_2d\.py:\d+:\d+.*"
        r"compiler bug",
    ):
        xnpu.run(module, x, y, out, grid=1)
    assert not out.any(), "a failed run leaves the output as it was"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [1, 700, 1024])
def test_a_store_masked_on_reversed_lanes_is_lowered(n, level):
    """`(BLOCK - 1 - arange) < n` is a box whose bound is the lanes' lower end (it
    was refused as not a box)."""
    module = xnpu.from_triton(
        kernels_2d.reversed_store, {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"},
        {"BLOCK": 1024},
    )  # fmt: skip
    x, out = torch.randn(1024), torch.full((1024,), 7.0)
    xnpu.run(xnpu.lower(module, level), x, out, n, grid=1)
    want = torch.full((1024,), 7.0)
    want[:n] = x[:n] + 1
    torch.testing.assert_close(out, want, rtol=0, atol=0)


@pytest.mark.parametrize("level", ["vec+mt", "vec+mt+db"])
def test_a_block_too_big_for_a_set_per_context_stays_on_one_context(level):
    """A block npu-tile cannot cut, whose tiles fit once but not once per context:
    MT's model keeps it on one context and DB leaves it synchronous, each saying why,
    instead of failing a kernel the rungs below run."""
    n = 2**20
    module = xnpu.from_triton(
        kernels_2d.row_shift, {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"},
        {"BLOCK": n},
    )  # fmt: skip
    lowered = xnpu.lower(module, level)
    x, out = torch.randn(n), torch.zeros(n)
    report = xnpu.run(lowered, x, out, n, grid=1)
    torch.testing.assert_close(out, x - x.max(), rtol=0, atol=0)
    remarks = "\n".join(report.remarks)
    assert "npu-multithread: kept on one context (model): a set of tiles per context" in remarks
    if "db" in level:
        assert "npu-double-buffer: not pipelined: 2 buffers of each tile would take" in remarks
    with pytest.raises(PassFailedException, match="npu-multithread: the scratchpad buffers"):
        xnpu.lower(module, level, decide="always")


@pytest.mark.parametrize("level", LEVELS)
def test_fp16_to_bf16_converts_through_f32_rounding_to_nearest_even(level):
    """`.to(tl.bfloat16)` of an fp16 value is `tt.fp_to_fp`, on tensors and scalars."""
    module = xnpu.from_triton(
        kernels_2d.half_to_brain, {"x_ptr": "*fp16", "out_ptr": "*bf16", "first_ptr": "*bf16"},
        {"BLOCK": 256},
    )  # fmt: skip
    x = (torch.randn(256) * 100).half()
    out, first = torch.zeros(256, dtype=torch.bfloat16), torch.zeros(1, dtype=torch.bfloat16)
    xnpu.run(xnpu.lower(module, level), x, out, first, grid=1)
    torch.testing.assert_close(out, x.to(torch.bfloat16), rtol=0, atol=0)
    torch.testing.assert_close(first, x[:1].to(torch.bfloat16), rtol=0, atol=0)


@pytest.mark.parametrize("buffers", [1, 2, 3])
def test_one_buffer_waits_for_the_last_write_back_before_the_first_write(buffers):
    """With one buffer, the wait for the previous iteration's write-back came after
    the last input's arrival, but the row sums' tile is written before it: a race."""
    module = xnpu.from_triton(
        kernels_2d.sums_then_scaled, {"x_ptr": "*fp32", "sum_ptr": "*fp32", "out_ptr": "*fp32"},
        {"BR": 8, "BC": 16},
    )  # fmt: skip
    lowered = xnpu.lower(module, "vec+mt+db", decide="always", buffers=buffers)
    x, sums, out = torch.rand(128, 16) + 0.5, torch.zeros(128), torch.zeros(128, 16)
    xnpu.run(lowered, x, sums, out, grid=16)
    torch.testing.assert_close(sums, x.sum(1))
    torch.testing.assert_close(out, x / x.sum(1, keepdim=True))


def test_a_grid_axis_the_kernel_never_reads_runs_its_programs_again():
    """Triton runs a program for every point of the grid, also on axes the kernel does
    not read (Triton may fold every use of program_id(1) away): each redoes the same
    work. A grid of (1, 1) was refused; (1, 0) runs nothing; (1, 3) writes the same
    elements three times, which the race check names."""
    module = xnpu.lower(
        xnpu.from_triton(kernels_2d.whole_block_add, POINTERS, {"BLOCK": 256}), "vec"
    )
    x, y = torch.randn(256), torch.randn(256)
    out = torch.zeros(256)
    once = xnpu.run(module, x, y, out, grid=(1,)).cycles
    assert xnpu.run(module, x, y, out, grid=(1, 1)).cycles == once
    torch.testing.assert_close(out, x + y, rtol=0, atol=0)
    untouched = torch.zeros(256)
    assert xnpu.run(module, x, y, untouched, grid=(1, 0)).cycles == 0
    assert not untouched.any()
    with pytest.raises(InterpreterError, match=r"race: .* never reads program_id on grid axes 1"):
        xnpu.run(module, x, y, untouched, grid=(1, 3))
    assert not untouched.any()
    with pytest.raises(InterpreterError, match="a grid is one to three non-negative sizes"):
        xnpu.run(module, x, y, out, grid=(1, 1, 1, 1))


@pytest.mark.parametrize("level", LEVELS)
def test_rows_read_backwards_at_a_runtime_stride_are_gathered(level):
    """Lanes whose addresses step by minus a runtime stride became a 2-D copy with a
    negative row stride (out of bounds at run time); they may fall, so they gather."""
    module = xnpu.from_triton(
        kernels_2d.reversed_rows, {"x_ptr": "*fp32", "out_ptr": "*fp32", "stride": "i32"},
        {"R": 8, "C": 16},
    )  # fmt: skip
    x, out = torch.randn(8, 20), torch.zeros(8, 16)
    xnpu.run(xnpu.lower(module, level), x, out, 20, grid=1)
    torch.testing.assert_close(out, x[:, :16].flip(0), rtol=0, atol=0)


@pytest.mark.parametrize("level", LEVELS)
def test_coarsening_programs_whose_only_tile_is_shared_terminates(level):
    """npu-tile sized the tiles that are not shared by the programs of a coarsened
    tile; when every tile was shared there was none, and the search never ended."""
    module = xnpu.from_triton(
        kernels_2d.only_shared_tile, {"w_ptr": "*fp32", "out_ptr": "*fp32"}, {"B": 16}
    )
    w, out = torch.randn(16), torch.zeros(8)
    xnpu.run(xnpu.lower(module, level), w, out, grid=8)
    torch.testing.assert_close(out, w.sum() + torch.arange(8.0))
