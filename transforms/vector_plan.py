"""
npu-vectorize's analysis (builds no IR): which element loops become vector loops, how
wide, and how each op of the body goes (`plan_vector_loop`: a `VectorLoopPlan` or why
not, naming the op that stands in the way). npu_vectorize.py's patterns rewrite from
the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from xdsl.dialects import arith, memref, scf, vector
from xdsl.dialects.builtin import IndexType, i1
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.utils.exceptions import PassFailedException

from xnpu.costs.ops import element_bytes
from xnpu.dialects import arith_tensor, spm
from xnpu.dialects.combiners import COMBINERS, accumulator_combiner, scan_combiner
from xnpu.dialects.location import at_location
from xnpu.machines import Machine
from xnpu.transforms.builders import constant_int
from xnpu.transforms.program_loop import COMBINED_FREELY

SCALAR_TAIL = "npu.scalar_tail"
"""Marks the scalar remainder loop of a vectorized loop: it is not vectorized again."""

SELECT_OPS = arith_tensor.both_forms(arith_tensor.SelectOp)


def vector_lanes(machine: Machine, element: Attribute) -> int:
    """Lanes of one machine vector for `element` (i1 masks count as bytes)."""
    return machine.vector_elements(element_bytes(element))


def lanes_for(machine: Machine, element: Attribute, width: int | None) -> int:
    """Elements per vector access for `element`: `width`, which must divide a machine
    vector's lanes, or by default a whole machine vector."""
    full = vector_lanes(machine, element)
    if width is None:
        return full
    if full % width:
        raise PassFailedException(
            f"npu-vectorize: width={width} does not divide the {full} {element} lanes "
            f"of a {machine.core.vector_bytes}-byte vector"
        )
    return width


@dataclass
class FreeCombination:
    """A loop whose carried values combine in any order (`COMBINED_FREELY`): each
    yields `select(first_trip, fresh, combined)`, `combined` computed from the carried
    values and the fresh ones by `combiner` (body ops, in order)."""

    first_trip: Operation
    fresh: list[SSAValue]
    combined: list[SSAValue]
    combiner: list[Operation]


@dataclass
class VectorLoopPlan:
    """What vectorizing one innermost scf.for takes: which values become vectors,
    which ops move before the loop, the accumulators' combiners and the lanes."""

    loop: scf.ForOp
    addresses: set[SSAValue] = field(default_factory=set)
    """`%i` and `%i + <invariant>`: the indices of vector accesses."""
    vectorized: set[SSAValue] = field(default_factory=set)
    hoisted: list[Operation] = field(default_factory=list)
    """Body ops whose operands are all invariant: they move before the loop."""
    combiners: list[Operation] = field(default_factory=list)
    lanes: int = 0
    ramps: set[SSAValue] = field(default_factory=set)
    """Addresses also used as data: each lane's own index, `broadcast(%i) + [0, 1, ...]`."""
    lane_indices: set[SSAValue] = field(default_factory=set)
    """Index values computed from ramps (a mask's `start + %i`): vectors of indices."""
    freely: FreeCombination | None = None
    """Carried values that combine in any order, lane-wise partials then a butterfly."""
    scans: dict[int, Operation] = field(default_factory=dict)
    """Carried values whose every prefix is stored (cumsum): their combiners, by index.
    They stay scalars, each vector trip scanning its lanes in log2(lanes) steps."""
    gathers: set[Operation] = field(default_factory=set)
    """Scratchpad loads at lane-varying indices that are not consecutive: spm.gather."""

    @cached_property
    def written(self) -> set[SSAValue]:
        """The buffers the loop stores to."""
        return {
            op.memref if isinstance(op, memref.StoreOp) else op.base
            for op in self.loop.walk()
            if isinstance(op, memref.StoreOp | vector.StoreOp)
        }

    def inside(self, value: SSAValue) -> bool:
        owner = value.owner
        block = owner if not isinstance(owner, Operation) else owner.parent_block()
        return block is self.loop.body.block

    def invariant(self, value: SSAValue) -> bool:
        return not self.inside(value) or value.owner in self.hoisted


def is_element_loop(loop: scf.ForOp) -> bool:
    """An innermost loop that is not a vectorized loop's scalar tail, nor a loop of
    products on the matrix unit (a K loop of spm.matmul: its work is already wide)."""
    return SCALAR_TAIL not in loop.attributes and not any(
        op.regions or isinstance(op, spm.MatmulOp) for op in loop.body.block.ops
    )


def plan_vector_loop(loop: scf.ForOp, machine: Machine, width: int | None) -> VectorLoopPlan | str:
    """The plan for vectorizing `loop`, or why it stays scalar (see the module
    docstring). Builds no IR."""
    plan = VectorLoopPlan(loop)
    block = loop.body.block
    if constant_int(loop.step) != 1:
        return "its step is not 1"
    plan.addresses.add(block.args[0])
    plan.vectorized.update(block.args[1:])
    if COMBINED_FREELY in loop.attributes:
        freely = _free_combination(loop)
        if isinstance(freely, str):
            return freely
        plan.freely = freely
    for index in range(len(loop.iter_args) * (plan.freely is None)):
        combiner = accumulator_combiner(block, index)
        if combiner is None and (scanned := scan_combiner(block, index)) is not None:
            plan.scans[index] = scanned
            plan.vectorized.discard(block.args[index + 1])  # the running value: a scalar
            plan.vectorized.update(scanned.results)  # every prefix, lane by lane
            continue
        if combiner is None:
            return "a loop-carried value is not an accumulator"
        if COMBINERS[type(combiner)].identity is None:
            return f"the accumulator's '{combiner.name}' has no identity a vector can start from"
        plan.combiners.append(combiner)
    for op in block.ops:  # a gather is the reason, whatever else the loop does
        if isinstance(op, memref.LoadOp | memref.StoreOp) and not spm.is_scratchpad(op.memref.type):
            return f"it reads or writes DDR element by element ({op.name}{at_location(op)})"
    for op in block.ops:
        reason = _classify(plan, op)
        if reason is not None:
            named = f"'{op.name}'" in reason
            return reason + at_location(op) if named else f"{reason} ({op.name}{at_location(op)})"
    plan.lanes = _lanes(plan, machine, width)
    return plan


def _free_combination(loop: scf.ForOp) -> FreeCombination | str:
    """The shape `COMBINED_FREELY` promises, checked: every yield a select on the one
    first-trip test `%i == <lb>`, its combined value computed by arith and math ops
    from the carried values, the fresh ones and invariants."""
    block = loop.body.block
    not_free = "a loop-carried value is not combined as its loop's attribute says"
    selects = [value.owner for value in block.last_op.operands]
    if not all(isinstance(s, SELECT_OPS) for s in selects):
        return not_free
    tests = {s.operands[0].owner for s in selects}
    if len(tests) != 1:
        return not_free
    (first_trip,) = tests
    if not (
        isinstance(first_trip, arith.CmpiOp)
        and arith_tensor.predicate_name(first_trip) == "eq"
        and tuple(first_trip.operands) == (block.args[0], loop.lb)
    ):
        return not_free
    fresh = [s.operands[1] for s in selects]
    combined = [s.operands[2] for s in selects]
    sources = {*block.args[1:], *fresh}
    needed: set[Operation] = set()
    pending = list(combined)
    while pending:
        value = pending.pop()
        owner = value.owner
        if value in sources or not (owner is block or owner in block.ops):
            continue
        if owner is block or owner.dialect_name() not in ("arith", "math") or owner.regions:
            what = "the index" if owner is block else f"'{owner.name}'"
            return f"the combiner reads more than the carried and fresh values: {what}"
        if owner not in needed:
            needed.add(owner)
            pending.extend(owner.operands)
    combiner = [op for op in block.ops if op in needed]
    return FreeCombination(first_trip, fresh, combined, combiner)


def _classify(plan: VectorLoopPlan, op: Operation) -> str | None:
    """Records how `op` is vectorized in `plan`, or says why it cannot be."""
    if isinstance(op, scf.YieldOp):
        return None
    if plan.freely is not None and op is plan.freely.first_trip:
        return None  # a scalar test of the vector loop's own index
    if op in plan.scans.values():
        return None  # a scan of each vector's lanes (`_LoopEmitter.scan`)
    if isinstance(op, memref.LoadOp | memref.StoreOp):
        *outer, last = op.indices
        if isinstance(op, memref.LoadOp) and _invariant_load(plan, op):
            plan.hoisted.append(op)  # one element for every lane (a row's max, broadcast)
            return None
        if (
            isinstance(op, memref.LoadOp)
            and not outer
            and spm.is_scratchpad(op.memref.type)
            and op.memref not in plan.written  # a gather may not see the loop's own stores
            and (last in plan.lane_indices or last in plan.vectorized)
        ):
            plan.gathers.add(op)  # a lane's own index into the scratchpad: a vector gather
            plan.vectorized.add(op.res)
            return None
        if last not in plan.addresses or not all(plan.invariant(i) for i in outer):
            return "an access is not at consecutive addresses"
        if isinstance(op, memref.LoadOp):
            plan.vectorized.add(op.res)
        elif op.value in plan.addresses:
            return "it stores the induction variable"
        return None
    if _is_address_offset(plan, op):
        plan.addresses.add(op.results[0])
        return None
    lane_operands = [v for v in op.operands if v in plan.addresses]
    if lane_operands and (op.dialect_name() != "arith" or op.regions):
        return f"it uses the induction variable in '{op.name}'"
    if op.dialect_name() not in ("arith", "math") or op.regions:
        return f"'{op.name}' has no vector form"
    if not lane_operands and all(plan.invariant(v) for v in op.operands):
        plan.hoisted.append(op)
        return None
    plan.ramps.update(lane_operands)
    if any(isinstance(v.type, IndexType) for v in (*op.operands, *op.results)):
        casts = isinstance(op, arith.IndexCastOp)  # a lane's integer as an index (a gather's)
        from_lanes = [
            v
            for v in op.operands
            if v in plan.addresses or v in plan.lane_indices or casts and v in plan.vectorized
        ]
        unknown = [
            v
            for v in op.operands
            if isinstance(v.type, IndexType) and v not in from_lanes and not plan.invariant(v)
        ]
        if unknown or not from_lanes:
            return f"'{op.name}' works on index values"
        plan.lane_indices.update(r for r in op.results if isinstance(r.type, IndexType))
    plan.vectorized.update(op.results)
    return None


def _invariant_load(plan: VectorLoopPlan, load: memref.LoadOp) -> bool:
    """A scratchpad load at invariant indices from a buffer the loop does not write:
    the same element every trip, loaded once before the loop."""
    return all(plan.invariant(i) for i in load.indices) and load.memref not in plan.written


def _is_address_offset(plan: VectorLoopPlan, op: Operation) -> bool:
    """`%i + <invariant>`: a consecutive address (also a lane index where used as data)."""
    return (
        isinstance(op, arith.AddiOp)
        and sum(v in plan.addresses for v in op.operands) == 1
        and all(v in plan.addresses or plan.invariant(v) for v in op.operands)
    )


def _lanes(plan: VectorLoopPlan, machine: Machine, width: int | None) -> int:
    """A whole machine vector of the loop's narrowest data: an f16 loop that computes in
    f32 takes 64 lanes, its f32 values spanning two registers (op_costs prices each op
    by the registers it spans). Masks and lane indices take the lanes of the data."""
    stored = [op.value for op in plan.loop.body.block.ops if isinstance(op, memref.StoreOp)]
    types = {v.type for v in (*plan.vectorized, *stored)}
    elements = [t for t in types if t != i1 and not isinstance(t, IndexType)]
    if not elements:
        return width or machine.vector_elements(4)
    narrowest = min(elements, key=element_bytes)
    return lanes_for(machine, narrowest, width)
