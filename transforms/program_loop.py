"""
The program loop every xnpu pass works on: the kernel function's top-level scf.for
whose iterations are independent programs (npu-lower-triton emits it; npu-tile may
re-cut it into a loop over tiles, and leaves the attributes below on it).
"""

from __future__ import annotations

from xdsl.dialects import func, scf

from xnpu.dialects import spm
from xnpu.transforms.builders import constant_int

TILE_ELEMENTS = "npu.tile_elements"
BLOCK_ELEMENTS = "npu.block_elements"
"""Attributes of a loop npu-tile re-cut: its tiles' allocated size, a program's block."""
PROGRAMS_IN_TILE = "npu.programs_in_tile"
"""On the loop over the programs of a coarsened tile: how many it runs at most."""
INDEPENDENT_TRIPS = "npu.independent_trips"
"""On a loop the kernel runs whose trips may run in any order, at once (npu-lower-triton
proves it: each trip writes its own range and reads nothing the loop writes), so
npu-multithread may spread a single program's trips over contexts."""
COMBINED_FREELY = "npu.combined_freely"
"""On a loop npu-lower-triton emits for a tt.reduce whose combiner it clones (argmax,
Welford): the values it carries may be combined in any grouping and order, as Triton's
own tree reductions combine them, and each yields `select(%r == <lb>, x, combine(acc,
x))`: its first trip takes its element as it is, so the loop needs no identity."""


def program_loop(function: func.FuncOp) -> scf.ForOp | None:
    """The function's program loop: a top-level scf.for, step 1, nothing carried."""
    for op in function.body.block.ops:
        if isinstance(op, scf.ForOp) and not op.iter_args and constant_int(op.step) == 1:
            return op
    return None


def private_buffers(loop: scf.ForOp) -> list[spm.AllocOp]:
    """The scratchpad allocs of the function's entry block used only inside the loop."""
    block = loop.parent_block()
    while block is not None and not isinstance(block.parent_op(), func.FuncOp):
        block = block.parent_op().parent_block()
    assert block is not None
    return [
        op for op in block.ops
        if isinstance(op, spm.AllocOp)
        and all(loop.is_ancestor(use.operation) for use in op.buffer.uses)
    ]  # fmt: skip
