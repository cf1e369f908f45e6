"""Offsets that do not depend on the program: a block at a constant offset (no
program_id term) is tiled like any other. npu-tile once moved every tile to the
block's first elements when the DDR offset and the scratchpad offset were one SSA
value (both 0), so 7 of 8 outputs were wrong at BLOCK 4096."""

from __future__ import annotations

import kernels_2d
import pytest
import torch
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.rewriter import Rewriter

import xnpu
from xnpu.dialects import spm
from xnpu.interpreters.trace import InterpreterError
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
