"""Offsets that do not depend on the program: a block at a constant offset (no
program_id term) is tiled like any other. npu-tile once moved every tile to the
block's first elements when the DDR offset and the scratchpad offset were one SSA
value (both 0), so 7 of 8 outputs were wrong at BLOCK 4096."""

from __future__ import annotations

import kernels_2d
import pytest
import torch

import xnpu
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
