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
move into the region, so each context has its own; where N copies of them would not
fit the scratchpad, the model keeps the loop on one context (saying so), and
`decide=always` fails.

Whether a loop is distributed is decided by a profitability estimate (`decide=model`):
its body priced by the machine's op costs, times its trip count for the launch's
`programs` when given, must save more than fork and join cost. The decision and its
numbers are a remark on the loop or on the hwctx.parallel; `decide=always|never`
forces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, MemRefType, ModuleOp
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

from xnpu.costs.estimate import LoopTrips, block_cycles
from xnpu.costs.transfers import fork_join_cycles
from xnpu.dialects import hwctx, spm
from xnpu.dialects.remarks import REMARKS, add_remark
from xnpu.machines import Machine
from xnpu.transforms import (
    check_contexts,
    check_lowered,
    check_option_types,
    check_scratchpad_fits,
    pass_machine,
    scratchpad_problem,
)
from xnpu.transforms.builders import constant_int, static_range
from xnpu.transforms.program_loop import (
    BLOCK_ELEMENTS,
    INDEPENDENT_TRIPS,
    PROGRAMS_IN_TILE,
    TILE_ELEMENTS,
    private_buffers,
    program_loop,
)
from xnpu.transforms.vector_plan import SCALAR_TAIL

SCHEDULES = ("block", "cyclic")
DECISIONS = ("model", "always", "never")


# ------------------------------------------------------------ profitability


@dataclass(frozen=True)
class Profitability:
    """What the machine model expects from running a loop on `contexts` contexts."""

    work: float | None
    """The launch's compute on one context (copies by the core included), or None
    when the launch's size is unknown."""
    iterations: int | None
    contexts: int
    overhead: float
    """Fork and join."""

    @property
    def used(self) -> int:
        return (
            self.contexts
            if self.iterations is None
            else max(1, min(self.contexts, self.iterations))
        )

    @property
    def saving(self) -> float | None:
        return None if self.work is None else self.work - self.work / self.used

    @property
    def pays(self) -> bool:
        return self.saving is None or self.saving > self.overhead

    def describe(self) -> str:
        cost = f"fork and join cost {self.overhead:,.0f} cycles"
        if self.saving is None:
            return f"the launch's size is known only at run time, so taken as large enough ({cost})"
        return (
            f"~{self.work:,.0f} cycles of work in {self.iterations:,} iterations: "
            f"{self.used} contexts save ~{self.saving:,.0f}, {cost}"
        )


def one_programs_trips(program_loop: scf.ForOp) -> scf.ForOp | None:
    """The loop a single program runs whose trips are independent (npu-lower-triton's
    `npu.independent_trips`), when it is the program's only loop: a launch of one
    program that loops over rows spreads its rows over contexts, as the reference
    compiler threads such a kernel."""
    loops = [op for op in program_loop.body.block.ops if isinstance(op, scf.ForOp)]
    if len(loops) == 1 and INDEPENDENT_TRIPS in loops[0].attributes:
        return loops[0]
    return None


def trip_profitability(
    loop: scf.ForOp, program_loop: scf.ForOp, machine: Machine, contexts: int
) -> Profitability:
    """The estimate for spreading `loop`'s trips: its bounds as the one program has
    them (its id 0, a grid of 1), its body priced by the machine's op costs."""
    function = program_loop.parent_op()
    known: dict[SSAValue, int] = {program_loop.body.block.args[0]: 0}
    if isinstance(function, func.FuncOp):
        for arg in function.body.block.args:
            if isinstance(arg.type, IndexType):
                known[arg] = 1
    iterations = _trips(loop, 1, known)
    per_trip = block_cycles(loop.body.block, machine, loop_trips(known))
    overhead = fork_join_cycles(machine)
    return Profitability(per_trip * iterations, int(iterations), contexts, overhead)


def profitability(loop: scf.ForOp, machine: Machine, contexts: int, programs: int) -> Profitability:
    """The estimate behind npu-multithread's decision (builds no IR): the loop body
    priced by the machine's op costs, for a launch of `programs` programs (0: unknown).
    A loop npu-tile re-cut holds `npu.block_elements` a program in tiles of at most
    `npu.tile_elements`, which its body's loops are priced at."""
    function = loop.parent_op()
    known: dict[SSAValue, int] = {}
    if programs and isinstance(function, func.FuncOp):
        grid = [a for a in function.body.block.args if isinstance(a.type, IndexType)]
        if len(grid) == 1:
            known[grid[0]] = programs
    lb, ub = (static_value(v, known) for v in (loop.lb, loop.ub))
    iterations = None if lb is None or ub is None else max(0, ub - lb)
    overhead = fork_join_cycles(machine)
    work = None
    if iterations is not None:
        # loops inside priced as the first program runs them (bounds from program ids)
        known[loop.body.block.args[0]] = lb
        per_iteration = block_cycles(loop.body.block, machine, loop_trips(known))
        block, tile = (loop.attributes.get(k) for k in (BLOCK_ELEMENTS, TILE_ELEMENTS))
        if isinstance(block, IntegerAttr) and isinstance(tile, IntegerAttr):
            work = per_iteration * programs * block.value.data / tile.value.data
        else:
            work = per_iteration * iterations
    return Profitability(work, iterations, contexts, overhead)


_FOLDS = {
    arith.AddiOp: lambda a, b: a + b, arith.SubiOp: lambda a, b: a - b,
    arith.MuliOp: lambda a, b: a * b, arith.MinUIOp: min, arith.MaxUIOp: max,
    arith.MinSIOp: min, arith.MaxSIOp: max, arith.DivUIOp: lambda a, b: a // b if b else None,
    arith.CeilDivUIOp: lambda a, b: -(-a // b) if b else None,
    arith.IndexCastOp: lambda a: a, arith.ExtSIOp: lambda a: a,
}  # fmt: skip


def static_value(value: SSAValue, known: dict[SSAValue, int]) -> int | None:
    """The integer `value` holds given the `known` values, or None."""
    if value in known:
        return known[value]
    constant = constant_int(value)
    if constant is not None:
        return constant
    fold = _FOLDS.get(type(value.owner))
    if fold is None:
        return None
    operands = [static_value(v, known) for v in value.owner.operands]
    return None if None in operands else fold(*operands)


def loop_trips(known: dict[SSAValue, int]) -> LoopTrips:
    """How many trips a loop runs, for `block_cycles`: where its bounds follow from
    `known` values (the grid, the program), else over the tiles it indexes (a `share`
    of them inside a coarsened tile's loop over its programs); a scalar tail counts
    nothing."""

    def trips(loop: scf.ForOp, share: int) -> tuple[float, int]:
        programs = loop.attributes.get(PROGRAMS_IN_TILE)
        inner = share * programs.value.data if isinstance(programs, IntegerAttr) else share
        return _trips(loop, share, known), inner

    return trips


def _trips(loop: scf.ForOp, share: int, known: dict[SSAValue, int]) -> float:
    if SCALAR_TAIL in loop.attributes:
        return 0
    programs = loop.attributes.get(PROGRAMS_IN_TILE)
    if isinstance(programs, IntegerAttr):
        return programs.value.data
    lb, ub, step = (static_value(v, known) for v in (loop.lb, loop.ub, loop.step))
    if lb is None:
        lb = static_range(loop.lb)[0]
    if ub is None:
        ub = static_range(loop.ub)[1]  # a clamp's bound: at most a tile's rows
    if lb is not None and ub is not None and step:
        return max(0, -(-(ub - lb) // step))
    step = step or 1
    extents = [
        operand.type.element_count()
        for op in loop.walk() for operand in op.operands
        if isinstance(operand.type, MemRefType) and spm.is_scratchpad(operand.type)
    ]  # fmt: skip
    return max(extents) / share / step if extents else 1


@dataclass
class DistributeProgramLoop(RewritePattern):
    """The program loop of a function becomes an hwctx.parallel whose contexts each
    run their share of it (see the module docstring)."""

    contexts: int
    schedule: str
    loops: list[scf.ForOp]
    """The program loops to distribute."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        if loop not in self.loops:
            return
        self.loops.remove(loop)
        parallel = rewriter.insert(hwctx.ParallelOp(self.contexts), InsertPoint.before(loop))
        remarks = loop.attributes.pop(REMARKS, None)
        if remarks is not None:
            parallel.attributes[REMARKS] = remarks
        block = parallel.body.block
        for alloc in private_buffers(loop):
            alloc.detach()
            rewriter.insert(alloc, InsertPoint.at_end(block))
        body = rewriter.move_region_contents_to_new_regions(loop.body)
        with ImplicitBuilder(block):
            lo, hi, step = self.share(loop, parallel.context_id)
            share = scf.ForOp(lo, hi, step, [], body)
            share.attributes.update(loop.attributes)  # npu-tile's facts
            hwctx.YieldOp()
        rewriter.erase(loop)

    def share(self, loop: scf.ForOp, context_id: SSAValue) -> tuple[SSAValue, ...]:
        """Bounds and step of context `context_id`'s programs, or of its trips of a
        single program's loop (any step), built in place."""
        lb, ub = loop.lb, loop.ub
        if INDEPENDENT_TRIPS in loop.attributes:
            return self.trip_share(loop, context_id)
        if self.schedule == "cyclic":
            return arith.AddiOp(lb, context_id).result, ub, self.context_count()
        count = arith.SubiOp(ub, lb).result
        share = arith.CeilDivUIOp(count, self.context_count()).result
        first = arith.MinUIOp(arith.MuliOp(context_id, share), count).result
        last = arith.MinUIOp(arith.AddiOp(first, share), count).result
        return arith.AddiOp(lb, first).result, arith.AddiOp(lb, last).result, loop.step

    def trip_share(self, loop: scf.ForOp, context_id: SSAValue) -> tuple[SSAValue, ...]:
        lb, ub, step = loop.lb, loop.ub, loop.step
        if self.schedule == "cyclic":  # trips c, c + N, ...
            first = arith.AddiOp(lb, arith.MuliOp(context_id, step).result).result
            return first, ub, arith.MuliOp(step, self.context_count()).result
        zero = arith.ConstantOp(IntegerAttr(0, IndexType())).result
        span = arith.MaxSIOp(arith.SubiOp(ub, lb).result, zero).result
        trips = arith.CeilDivUIOp(span, step).result
        share = arith.CeilDivUIOp(trips, self.context_count()).result
        first = arith.MinUIOp(arith.MuliOp(context_id, share).result, trips).result
        last = arith.MinUIOp(arith.AddiOp(first, share).result, trips).result
        start = arith.AddiOp(lb, arith.MuliOp(first, step).result).result
        return start, arith.AddiOp(lb, arith.MuliOp(last, step).result).result, step

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

    decide: str = "model"
    """"model": only where the machine model expects the saving to beat fork and join;
    "always" or "never" force it."""

    programs: int = 0
    """The launch's program count, if known (0: unknown, taken as large enough)."""

    machine: str | Machine = "edge-npu"
    """The machine model: its thread count bounds `contexts`."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        check_lowered(self.name, op)
        machine = pass_machine(self.name, self.machine)
        contexts = machine.core.vector_contexts if self.contexts is None else self.contexts
        check_contexts(self.name, contexts, machine)
        if self.schedule not in SCHEDULES:
            raise PassFailedException(
                f"npu-multithread: unknown schedule '{self.schedule}'; use one of "
                f"{', '.join(SCHEDULES)}"
            )
        if self.decide not in DECISIONS:
            raise PassFailedException(
                f"npu-multithread: unknown decide '{self.decide}'; use one of {', '.join(DECISIONS)}"
            )
        if self.programs < 0:
            raise PassFailedException(
                f"npu-multithread: programs must be 0 or more, got {self.programs}"
            )
        chosen = []
        for function in op.walk():
            loop = program_loop(function) if isinstance(function, func.FuncOp) else None
            if loop is None:
                continue
            estimate = profitability(loop, machine, contexts, self.programs)
            trips = self.programs == 1 and one_programs_trips(loop)
            if trips:  # one program: spread the trips of its loop over rows instead
                loop, estimate = trips, trip_profitability(trips, loop, machine, contexts)
            copies = {alloc: contexts for alloc in private_buffers(loop)}
            too_big = scratchpad_problem(function, machine, copies)
            if self.decide == "model" and estimate.pays and too_big:
                remark = (
                    f"kept on one context (model): a set of tiles per context would take "
                    f"{too_big} (the estimate alone would fork: {estimate.describe()})"
                )
            elif self.decide == "always" or (self.decide == "model" and estimate.pays):
                chosen.append(loop)
                remark = f"on {contexts} contexts ({self.decide}): {estimate.describe()}"
            else:
                remark = f"kept on one context ({self.decide}): {estimate.describe()}"
            add_remark(loop, self.name, remark)
        pattern = DistributeProgramLoop(contexts, self.schedule, chosen)
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
        check_scratchpad_fits(op, machine, self.name, "use fewer contexts or a smaller BLOCK")
