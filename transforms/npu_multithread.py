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

from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import hwctx, spm
from xnpu.transforms import check_scratchpad_fits, pass_machine

SCHEDULES = ("block", "cyclic")


def program_loop(function: func.FuncOp) -> scf.ForOp | None:
    """The function's program loop: a top-level scf.for, step 1, nothing carried."""
    for op in function.body.block.ops:
        if isinstance(op, scf.ForOp) and not op.iter_args:
            step = op.step.owner
            if isinstance(step, arith.ConstantOp) and step.value.value.data == 1:
                return op
    return None


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
        for function in [f for f in op.walk() if isinstance(f, func.FuncOp)]:
            loop = program_loop(function)
            if loop is None:
                continue
            self.distribute(loop, contexts)
            check_scratchpad_fits(
                function, machine, self.name, "use fewer contexts or a smaller BLOCK"
            )

    def distribute(self, loop: scf.ForOp, contexts: int) -> None:
        rewriter = Rewriter()
        parallel = hwctx.ParallelOp(contexts)
        block = parallel.body.block
        context_id = parallel.context_id

        def emit(op: Operation) -> SSAValue:
            block.add_op(op)
            return op.results[0]

        def constant(value: int) -> SSAValue:
            return emit(arith.ConstantOp(IntegerAttr(value, IndexType())))

        rewriter.insert_op(parallel, InsertPoint.before(loop))
        for alloc in private_buffers(loop):
            alloc.detach()
            block.add_op(alloc)
        lb, ub = loop.lb, loop.ub
        if self.schedule == "cyclic":
            lo = emit(arith.AddiOp(lb, context_id))
            hi, step = ub, constant(contexts)
        else:
            count = emit(arith.SubiOp(ub, lb))
            share = emit(arith.CeilDivUIOp(count, constant(contexts)))
            first = emit(arith.MinUIOp(emit(arith.MuliOp(context_id, share)), count))
            last = emit(arith.MinUIOp(emit(arith.AddiOp(first, share)), count))
            lo, hi = emit(arith.AddiOp(lb, first)), emit(arith.AddiOp(lb, last))
            step = loop.step
        shared = scf.ForOp(lo, hi, step, [], rewriter.move_region_contents_to_new_regions(loop.body))
        block.add_op(shared)
        block.add_op(hwctx.YieldOp())
        rewriter.erase_op(loop)


def private_buffers(loop: scf.ForOp) -> list[spm.AllocOp]:
    """The scratchpad allocs of the loop's block used only inside the loop."""
    block = loop.parent_block()
    assert block is not None
    return [
        op for op in block.ops
        if isinstance(op, spm.AllocOp)
        and all(loop.is_ancestor(use.operation) for use in op.buffer.uses)
    ]  # fmt: skip
