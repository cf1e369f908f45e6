"""
npu-matrix: matrix products onto the matrix unit (part of the vec rung, beside
npu-vectorize's HVX loops; design.md §3).

At the tile level, a `tile.matmul` whose element types the machine's matrix unit
takes (machine.matrix.PRODUCTS: fp16 into fp32, int8 into int32) becomes an
`spm.matmul` on the same scratchpad tiles; the unit reads its operands where they lie:

    tile.matmul %a, %b into %c {dims = array<i64: 1, 64, 64, 32>, ...}
        : memref<2048xf16, #spm.scratch>, memref<2048xf16, #spm.scratch> into memref<4096xf32, #spm.scratch>
    ==>
    spm.matmul %a, %b into %c {dims = array<i64: 1, 64, 64, 32>, ...} : <the same types>

A product the unit does not take (fp32 or bf16 inputs), or any product on a machine
with no matrix unit, stays a tile.matmul: npu-lower-tiles makes it loops and
npu-vectorize vectorizes them on HVX. Its remark says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from xnpu.dialects import spm, tile
from xnpu.dialects.remarks import add_remark
from xnpu.machines import Machine
from xnpu.transforms import check_option_types, pass_machine
from xnpu.transforms.builders import located

PASS_NAME = "npu-matrix"


def why_not_on_matrix_unit(op: tile.MatmulOp, machine: Machine) -> str | None:
    """Why `op` cannot run on the machine's matrix unit, or None when it can."""
    inputs, result = (str(v.type.element_type) for v in (op.a, op.c))
    matrix = machine.matrix
    if matrix is None:
        return f"machine '{machine.name}' has no matrix unit"
    if not matrix.takes(inputs, result):
        taken = "; ".join(f"{i} into {' or '.join(r)}" for i, r in matrix.PRODUCTS.items())
        return f"the matrix unit multiplies {taken}, not {inputs} into {result}"
    return None


@dataclass
class MatmulOnMatrixUnit(RewritePattern):
    """A tile.matmul the unit takes becomes an spm.matmul (see the module docstring)."""

    machine: Machine

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tile.MatmulOp, rewriter: PatternRewriter) -> None:
        reason = why_not_on_matrix_unit(op, self.machine)
        if reason is not None:
            add_remark(op, PASS_NAME, f"product left on the vector unit: {reason}")
            return
        new = spm.MatmulOp.create(
            operands=list(op.operands),
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        rewriter.replace_op(op, located(new, op))


@dataclass(frozen=True)
class NpuMatrixPass(ModulePass):
    """Puts the tile.matmul ops the matrix unit takes on it (see the module docstring)."""

    name = PASS_NAME

    machine: str | Machine = "edge-npu"
    """The machine model whose matrix unit (its [matrix] section) takes the products."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        machine = pass_machine(self.name, self.machine)
        PatternRewriteWalker(MatmulOnMatrixUnit(machine), apply_recursively=False).rewrite_module(
            op
        )
