"""
npu-multithread: the program loop is spread over hardware contexts (design.md §3, MT).

    %t = spm.alloc ...                        hwctx.parallel (%ctx) contexts(4) {
    scf.for %pid = %c0 to %grid step %c1 {      %t = spm.alloc ...      // one per context
      <body>                          ==>       %share = ceildiv(%grid - %c0, 4)
    }                                           %lo = %c0 + min(%ctx * %share, %grid - %c0)
                                                %hi = %c0 + min(%lo - %c0 + %share, %grid - %c0)
                                                scf.for %pid = %lo to %hi step %c1 { <body> }
                                                hwctx.yield
                                              }

The program loop is the kernel function's top-level `scf.for` with step 1 and no
loop-carried values (npu-lower-triton emits one; its iterations are independent
programs). `schedule=block` gives each context a contiguous range of programs (the
first ones get one more when the count does not divide); `schedule=cyclic` gives
context c the programs c, c + N, c + 2N, ... Contexts with no programs (grids smaller
than N) fork and join with nothing to do. Scratchpad buffers used only inside the loop
move into the region, so each context has its own; the pass fails when N copies of
them do not fit the scratchpad.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import hwctx, spm
from xnpu.transforms import check_scratchpad_fits, pass_machine
from xnpu.transforms.builders import constant_int

SCHEDULES = ("block", "cyclic")


def program_loop(function: func.FuncOp) -> scf.ForOp | None:
    """The function's program loop: a top-level scf.for, step 1, nothing carried."""
    for op in function.body.block.ops:
        if isinstance(op, scf.ForOp) and not op.iter_args and constant_int(op.step) == 1:
            return op
    return None


def private_buffers(loop: scf.ForOp) -> list[spm.AllocOp]:
    """The scratchpad allocs of the loop's block used only inside the loop."""
    block = loop.parent_block()
    assert block is not None
    return [
        op for op in block.ops
        if isinstance(op, spm.AllocOp)
        and all(loop.is_ancestor(use.operation) for use in op.buffer.uses)
    ]  # fmt: skip


@dataclass
class DistributeProgramLoop(RewritePattern):
    """The program loop of a function becomes an hwctx.parallel whose contexts each
    run their share of it (see the module docstring)."""

    contexts: int
    schedule: str

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        function = loop.parent_op()
        if not isinstance(function, func.FuncOp) or program_loop(function) is not loop:
            return
        parallel = rewriter.insert(hwctx.ParallelOp(self.contexts), InsertPoint.before(loop))
        block = parallel.body.block
        for alloc in private_buffers(loop):
            alloc.detach()
            rewriter.insert(alloc, InsertPoint.at_end(block))
        body = rewriter.move_region_contents_to_new_regions(loop.body)
        with ImplicitBuilder(block):
            lo, hi, step = self.share(loop, parallel.context_id)
            scf.ForOp(lo, hi, step, [], body)
            hwctx.YieldOp()
        rewriter.erase(loop)

    def share(self, loop: scf.ForOp, context_id: SSAValue) -> tuple[SSAValue, ...]:
        """Bounds and step of context `context_id`'s programs (built in place)."""
        lb, ub = loop.lb, loop.ub
        if self.schedule == "cyclic":
            return arith.AddiOp(lb, context_id).result, ub, self.context_count()
        count = arith.SubiOp(ub, lb).result
        share = arith.CeilDivUIOp(count, self.context_count()).result
        first = arith.MinUIOp(arith.MuliOp(context_id, share), count).result
        last = arith.MinUIOp(arith.AddiOp(first, share), count).result
        return arith.AddiOp(lb, first).result, arith.AddiOp(lb, last).result, loop.step

    def context_count(self) -> SSAValue:
        return arith.ConstantOp(IntegerAttr(self.contexts, IndexType())).result


@dataclass(frozen=True)
class NpuMultithreadPass(ModulePass):
    """Runs the program loop on `contexts` hardware contexts (see the module docstring)."""

    name = "npu-multithread"

    contexts: int | None = None
    """Hardware contexts to use; by default the machine's vector contexts (4)."""

    schedule: str = "block"
    """How programs are shared out: "block" (contiguous ranges) or "cyclic" (strided)."""

    machine: str = "edge-npu"
    """The machine model: its thread count bounds `contexts`."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        machine = pass_machine(self.name, self.machine)
        contexts = machine.core.vector_contexts if self.contexts is None else self.contexts
        threads = machine.core.hardware_threads
        if not 1 <= contexts <= threads:
            raise PassFailedException(
                f"npu-multithread: contexts must be between 1 and the {threads} hardware "
                f"threads of machine '{machine.name}', got {contexts}"
            )
        if self.schedule not in SCHEDULES:
            raise PassFailedException(
                f"npu-multithread: unknown schedule '{self.schedule}'; use one of "
                f"{', '.join(SCHEDULES)}"
            )
        pattern = DistributeProgramLoop(contexts, self.schedule)
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
        check_scratchpad_fits(op, machine, self.name, "use fewer contexts or a smaller BLOCK")
