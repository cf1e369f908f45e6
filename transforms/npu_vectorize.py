"""
npu-vectorize: element loops step by the vector width (design.md §3, Vec).

    scf.for %i = %c0 to %n step %c1 {            %m = <%n rounded down to a multiple of 32>
      %a = memref.load %in[%i]                   scf.for %i = %c0 to %m step %c32 {
      %b = math.erf %a : f32             ==>       %a = vector.load %in[%i] : ..., vector<32xf32>
      memref.store %b, %out[%i]                    %b = math.erf %a : vector<32xf32>
    }                                              vector.store %b, %out[%i] : ... }
                                                 scf.for %i = %m to %n step %c1 { <scalar tail> }
                                                   {npu.scalar_tail}

An innermost element loop is vectorized when every scratchpad access in it is at
`%i` or `%i + <invariant>` (or, for a load from a buffer the loop does not write, at
invariant indices: it moves before the loop, like any invariant), every other op is
element-wise arith or math, and every loop-carried value is an accumulator with an
associative combiner. Loop-invariant
scalars become `vector.broadcast`s before the loop. An accumulator becomes a vector of
partial results that starts at the combiner's identity and ends in one
`vector.reduction` into the scalar accumulator, which the scalar tail then carries on.
Where `%i` (or `%i + <invariant>`) is data, e.g. in a mask `start + %i < n`, each
lane gets its own index: `vector.broadcast %i` plus the constant `[0, 1, ..., 31]`.
Loops that touch DDR element by element (gathers) stay scalar.
The scalar tail is marked `npu.scalar_tail`, so it is never vectorized again.

Core-driven `spm.copy`s become vector copies: `{width = <lanes>}`.

`plan_vector_loop` decides (and builds no IR); the patterns `VectorizeElementLoop` and
`VectorizeCopy` rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, memref, scf, vector
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerAttr,
    ModuleOp,
    UnitAttr,
    VectorType,
    i1,
    i64,
)
from xdsl.dialects.vector import CombiningKindAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import arith_tensor, spm
from xnpu.dialects.combiners import COMBINERS, identity_attribute
from xnpu.dialects.remarks import add_remark
from xnpu.machines import Machine
from xnpu.transforms import check_lowered, check_option_types, pass_machine
from xnpu.transforms.builders import Constants, constant_int
from xnpu.transforms.vector_plan import (
    SCALAR_TAIL,
    SELECT_OPS,
    VectorLoopPlan,
    is_element_loop,
    lanes_for,
    plan_vector_loop,
)


@dataclass
class VectorizeElementLoop(RewritePattern):
    """An element loop with a plan becomes a vector loop and a marked scalar tail
    (see the module docstring)."""

    plans: dict[scf.ForOp, VectorLoopPlan]
    """What `plan_vector_loop` decided, for every loop that can be vectorized."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        plan = self.plans.pop(loop, None)
        if plan is not None:
            _LoopEmitter(plan, rewriter).emit()


class _LoopEmitter:
    """Builds the vector loop, its reductions and the scalar tail of one plan."""

    def __init__(self, plan: VectorLoopPlan, rewriter: PatternRewriter):
        self.plan = plan
        self.rewriter = rewriter
        self.before = InsertPoint.before(plan.loop)
        self.constants = Constants(rewriter, self.before)
        self.mapping: dict[SSAValue, SSAValue] = {}
        self.broadcasts: dict[SSAValue, SSAValue] = {}
        self.ramps: dict[SSAValue, SSAValue] = {}
        self.scan_ends: dict[Operation, SSAValue] = {}
        """A scan's combiner -> the running value after this vector (its last lane)."""
        self.lane_offsets: SSAValue | None = None
        self.after_loop = InsertPoint.after(plan.loop)
        """Where the butterfly's ops go, after the vector loop, one after another."""

    def emit_before(self, op: Operation) -> SSAValue:
        self.rewriter.insert(op, self.before)
        return op.results[0]

    def vector_of(self, type: Attribute) -> VectorType:
        return VectorType(type, [self.plan.lanes])

    def splat(self, value: SSAValue) -> SSAValue:
        """`value` broadcast to a vector, right where `value` is defined."""
        outer = self.mapping.get(value, value)
        if outer not in self.broadcasts:
            broadcast = vector.BroadcastOp(outer, self.vector_of(outer.type))
            owner = outer.owner
            where = (
                InsertPoint.after(owner)
                if isinstance(owner, Operation)
                else InsertPoint.at_start(owner)
            )
            self.rewriter.insert(broadcast, where)
            self.broadcasts[outer] = broadcast.vector
        return self.broadcasts[outer]

    def ramp(self, address: SSAValue) -> SSAValue:
        """Each lane's own index from `address` (%i or %i + c): the broadcast plus
        [0, 1, ..., lanes - 1], right after the broadcast."""
        if address not in self.ramps:
            if self.lane_offsets is None:
                offsets = DenseIntOrFPElementsAttr.from_list(
                    self.vector_of(IndexType()), list(range(self.plan.lanes))
                )
                self.lane_offsets = self.emit_before(arith.ConstantOp(offsets))
            base = self.splat(address)
            lanes = arith.AddiOp(base, self.lane_offsets)
            self.rewriter.insert(lanes, InsertPoint.after(base.owner))
            self.ramps[address] = lanes.result
        return self.ramps[address]

    def vector_end(self) -> tuple[SSAValue, bool]:
        """Where the vector loop stops (the bound rounded down to whole vectors), and
        whether the tail is known to be empty."""
        loop, lanes = self.plan.loop, self.plan.lanes
        lo, hi = constant_int(loop.lb), constant_int(loop.ub)
        if lo is not None and hi is not None:
            end = self.constants.index(lo + max(hi - lo, 0) // lanes * lanes)
            return end, (hi - lo) % lanes == 0 or hi <= lo
        index = self.constants.index
        starts_at_zero = lo == 0
        length = loop.ub if starts_at_zero else self.emit_before(arith.SubiOp(loop.ub, loop.lb))
        length = self.emit_before(arith.MaxSIOp(length, index(0)))
        if lanes & (lanes - 1) == 0:  # a power of two: clear the low bits
            rounded = self.emit_before(arith.AndIOp(length, index(-lanes)))
        else:
            whole = self.emit_before(arith.DivUIOp(length, index(lanes)))
            rounded = self.emit_before(arith.MuliOp(whole, index(lanes)))
        end = rounded if starts_at_zero else self.emit_before(arith.AddiOp(loop.lb, rounded))
        return end, False

    def identity_vector(self, combiner: Operation) -> SSAValue:
        element = combiner.results[0].type
        constant = self.emit_before(arith.ConstantOp(identity_attribute(type(combiner), element)))
        return self.emit_before(vector.BroadcastOp(constant, self.vector_of(element)))

    def emit(self) -> None:
        plan, rewriter = self.plan, self.rewriter
        loop, block = plan.loop, plan.loop.body.block
        for op in plan.hoisted:
            clone = op.clone(value_mapper=self.mapping)
            rewriter.insert(clone, self.before)
            self.mapping.update(zip(op.results, clone.results))
        end, tail_empty = self.vector_end()
        if plan.freely is not None:  # the first trip takes its elements as they are
            inits = [self.splat(v) for v in loop.iter_args]
        else:
            combiners = iter(plan.combiners)
            inits = [
                loop.iter_args[index]
                if index in plan.scans
                else self.identity_vector(next(combiners))
                for index in range(len(loop.iter_args))
            ]
        body = Block(arg_types=[IndexType(), *(v.type for v in inits)])
        self.mapping[block.args[0]] = body.args[0]
        self.mapping.update(zip(block.args[1:], body.args[1:]))
        for op in block.ops:
            if op in plan.scans.values():
                self.scan(op, body)
            elif op not in plan.hoisted:
                body.add_op(new := self.vector_op(op))
                self.mapping.update(zip(op.results, new.results))
        vector_loop = scf.ForOp(loop.lb, end, self.constants.index(plan.lanes), inits, Region(body))
        rewriter.insert(vector_loop, self.before)

        if plan.freely is not None:
            totals = self.butterfly(list(vector_loop.results), body)
            after = InsertPoint.after(totals[-1].owner)
        else:
            totals = []
            after = InsertPoint.after(vector_loop)
        combiners = iter(plan.combiners)
        for index in range(len(plan.combiners) + len(plan.scans)):
            if index in plan.scans:  # the running value after the last vector
                totals.append(vector_loop.results[index])
                continue
            combiner = next(combiners)
            reduction = vector.ReductionOp.build(
                operands=[vector_loop.results[index], loop.iter_args[index]],
                result_types=[combiner.results[0].type],
                properties={"kind": CombiningKindAttr(COMBINERS[type(combiner)].kind)},
            )
            rewriter.insert(reduction, after)
            after = InsertPoint.after(reduction)
            totals.append(reduction.results[0])
        if tail_empty:
            rewriter.replace(loop, [], totals)
            return
        tail_body = rewriter.move_region_contents_to_new_regions(loop.body)
        tail = scf.ForOp(end, loop.ub, loop.step, totals, tail_body)
        tail.attributes[SCALAR_TAIL] = UnitAttr()
        rewriter.replace(loop, tail)

    def scan(self, combiner: Operation, body: Block) -> None:
        """The running value `acc` over one vector `x` of fresh elements: x's lanes
        scanned in log2(lanes) steps (lane k combines lane k - step into itself, for
        k >= step), then `acc` combined into every lane. Those are the prefixes the
        loop stores; the new running value is the last lane.

            %p = addf %acc, %x          ==>   %s1 = addf (x shifted by 1), %x; %v1 = select k >= 1, %s1, %x
            memref.store %p, %out[%i]         ... steps 2, 4, 8, 16 ...
            scf.yield %p                      %p = addf (broadcast %acc), %v16
                                              vector.store %p, %out[%i]; yield (extract %p[31])
        """
        plan = self.plan
        lanes, element = plan.lanes, combiner.results[0].type
        carried = plan.loop.body.block.args[1:]
        acc = next(v for v in combiner.operands if v in carried)
        x = combiner.operands[1] if combiner.operands[0] is acc else combiner.operands[0]
        if x in plan.vectorized:
            scanned = self.mapping[x]
        else:  # a lane index (a cumsum of the indices) or an invariant
            scanned = self.ramp(x) if x in plan.addresses else self.splat(x)

        def emit(op: Operation) -> SSAValue:
            body.add_op(op)
            return op.results[0]

        step = 1
        while step < lanes:
            shift = DenseArrayBase.from_list(i64, [(k - step) % lanes for k in range(lanes)])
            shifted = emit(vector.ShuffleOp(scanned, scanned, shift, result_type=scanned.type))
            combined = emit(self.vector_form(combiner, {acc: shifted, x: scanned}))
            taken = DenseIntOrFPElementsAttr.from_list(
                VectorType(i1, [lanes]), [k >= step for k in range(lanes)]
            )
            mask = self.emit_before(arith.ConstantOp(taken))
            select = arith_tensor.SelectOp.create(
                operands=[mask, combined, scanned], result_types=[scanned.type]
            )
            scanned = emit(select)
            step *= 2
        running = emit(vector.BroadcastOp(self.mapping[acc], self.vector_of(element)))
        prefixes = emit(self.vector_form(combiner, {acc: running, x: scanned}))
        self.mapping[combiner.results[0]] = prefixes
        self.scan_ends[combiner] = emit(vector.ExtractOp(prefixes, [lanes - 1], element))

    def vector_form(self, op: Operation, operands: dict[SSAValue, SSAValue]) -> Operation:
        """`op` on vectors: its operands renamed through `operands`."""
        renamed = [operands.get(v, v) for v in op.operands]
        return arith_tensor.shaped_create(op, renamed, [self.vector_of(r.type) for r in op.results])

    def butterfly(self, partials: list[SSAValue], body: Block) -> list[SSAValue]:
        """The lanes' partial values combined into lane 0, log2(lanes) steps of a
        rotation by half the remaining lanes and the combiner (as built in the vector
        body), then extracted: one scalar per carried value, after the vector loop."""
        freely, lanes = self.plan.freely, self.plan.lanes
        assert freely is not None
        # a fresh value defined outside the loop (Welford's m2 of one element, 0.0) is
        # its broadcast in the vector body
        fresh = [self.mapping[v] if v in self.mapping else self.splat(v) for v in freely.fresh]
        combiner = [self.mapping[op.results[0]].owner for op in freely.combiner]
        combined = [self.mapping.get(v, v) for v in freely.combined]
        self.after_loop = InsertPoint.after(partials[0].owner)  # the vector loop
        step = lanes // 2
        while step:
            rotation = DenseArrayBase.from_list(i64, [(k + step) % lanes for k in range(lanes)])
            mapping = dict(zip(body.args[1:], partials))
            for p, fresh_value in zip(partials, fresh):
                shuffle = vector.ShuffleOp(p, p, rotation, result_type=p.type)
                mapping[fresh_value] = self.emit_after_loop(shuffle)
            for op in combiner:
                clone = op.clone(value_mapper=mapping)
                self.emit_after_loop(clone)
                mapping.update(zip(op.results, clone.results))
            partials = [mapping.get(v, v) for v in combined]
            step //= 2
        totals = [
            self.emit_after_loop(vector.ExtractOp(p, [0], p.type.element_type)) for p in partials
        ]
        return totals

    def emit_after_loop(self, op: Operation) -> SSAValue:
        self.rewriter.insert(op, self.after_loop)
        self.after_loop = InsertPoint.after(op)
        return op.results[0]

    def vector_op(self, op: Operation) -> Operation:
        plan, mapping = self.plan, self.mapping
        get = lambda v: mapping.get(v, v)  # noqa: E731
        if plan.freely is not None and op is plan.freely.first_trip:
            return op.clone(value_mapper=mapping)
        if op in plan.gathers:
            (at,) = op.indices
            return spm.GatherOp(get(op.memref), get(at) if at in mapping else self.ramp(at))
        if isinstance(op, memref.LoadOp):
            return vector.LoadOp(
                get(op.memref), [get(i) for i in op.indices], self.vector_of(op.res.type)
            )
        if isinstance(op, memref.StoreOp):
            value = get(op.value) if op.value in plan.vectorized else self.splat(op.value)
            return vector.StoreOp(value, get(op.memref), [get(i) for i in op.indices])
        if isinstance(op, scf.YieldOp):
            ends = {c.results[0]: end for c, end in self.scan_ends.items()}
            return scf.YieldOp(*(ends.get(v, get(v)) for v in op.operands))
        if op.results and op.results[0] in plan.addresses:
            return op.clone(value_mapper=mapping)
        operands = []
        for position, value in enumerate(op.operands):
            scalar_condition = isinstance(op, SELECT_OPS) and position == 0
            first_trip = plan.freely is not None and value.owner is plan.freely.first_trip
            if (
                value in plan.vectorized
                or scalar_condition
                and (plan.invariant(value) or first_trip)
            ):
                operands.append(get(value))
            elif value in plan.ramps:
                operands.append(self.ramp(value))
            else:
                operands.append(self.splat(value))
        return arith_tensor.shaped_create(
            op, operands, [self.vector_of(r.type) for r in op.results]
        )


@dataclass
class VectorizeCopy(RewritePattern):
    """A core-driven copy moves whole vectors: `spm.copy ... {width = <lanes>}`."""

    widths: dict[spm.CopyOp, int]
    """The lanes `lanes_for` gives each copy's element type."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, copy: spm.CopyOp, rewriter: PatternRewriter) -> None:
        lanes = self.widths.pop(copy, None)
        if lanes is not None:
            copy.properties["width"] = IntegerAttr(lanes, i64)
            rewriter.notify_op_modified(copy)


@dataclass(frozen=True)
class NpuVectorizePass(ModulePass):
    """Vectorizes element loops and core copies (see the module docstring)."""

    name = "npu-vectorize"

    width: int | None = None
    """Elements per vector; by default a full machine vector (128 bytes: 32 x f32)."""

    machine: str | Machine = "edge-npu"
    """The machine model whose vector width is the default."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        check_lowered(self.name, op)
        if self.width is not None and self.width <= 0:
            raise PassFailedException(f"npu-vectorize: width must be positive, got {self.width}")
        machine = pass_machine(self.name, self.machine)
        # decided before anything is rewritten, so that a width some element type
        # cannot take fails the pass with the module untouched
        plans: dict[scf.ForOp, VectorLoopPlan] = {}
        widths: dict[spm.CopyOp, int] = {}
        for candidate in op.walk():
            if isinstance(candidate, scf.ForOp) and is_element_loop(candidate):
                plan = plan_vector_loop(candidate, machine, self.width)
                if isinstance(plan, VectorLoopPlan):
                    plans[candidate] = plan
                else:
                    add_remark(candidate, self.name, f"left scalar: {plan}")
            elif isinstance(candidate, spm.CopyOp):
                element = candidate.src.type.element_type
                widths[candidate] = lanes_for(machine, element, self.width)
        patterns = [VectorizeElementLoop(plans), VectorizeCopy(widths)]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
