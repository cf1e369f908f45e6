"""
npu-vectorize: element loops step by the vector width (design.md §3, Vec).

    scf.for %i = %c0 to %n step %c1 {            %m = <%n rounded down to a multiple of 32>
      %a = memref.load %in[%i]                   scf.for %i = %c0 to %m step %c32 {
      %b = math.erf %a : f32             ==>       %a = vector.load %in[%i] : ..., vector<32xf32>
      memref.store %b, %out[%i]                    %b = math.erf %a : vector<32xf32>
    }                                              vector.store %b, %out[%i] : ... }
                                                 scf.for %i = %m to %n step %c1 { <scalar tail> }

An innermost element loop is vectorized when every scratchpad access in it is at
`%i` or `%i + <invariant>`, every other op is element-wise arith or math, and every
loop-carried value is an accumulator with an associative combiner. Loop-invariant
scalars become `vector.broadcast`s before the loop. An accumulator becomes a vector of
partial results that starts at the combiner's identity and ends in one
`vector.reduction` into the scalar accumulator, which the scalar tail then carries on.
Loops that touch DDR element by element (gathers) or use `%i` as data stay scalar.

Core-driven `spm.copy`s become vector copies: `{width = <lanes>}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf, vector
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    VectorType,
    i64,
)
from xdsl.dialects.vector import CombiningKindAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import arith_tensor, spm
from xnpu.dialects.combiners import COMBINERS, accumulator_combiner
from xnpu.machines import Machine
from xnpu.transforms import pass_machine

SELECT_OPS = arith_tensor.both_forms(arith_tensor.SelectOp)
def vector_lanes(machine: Machine, element: Attribute) -> int:
    """Lanes of one machine vector for `element` (i1 masks count as bytes)."""
    bits = element.bitwidth if isinstance(element, IntegerType | AnyFloat) else 64
    return machine.vector_elements(max(bits // 8, 1))


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


def _is_vectorizable_op(op: Operation) -> bool:
    return op.dialect_name() in ("arith", "math") and not op.regions


@dataclass
class LoopVectorizer:
    """Vectorizes one innermost scf.for, if it qualifies (see the module docstring)."""

    loop: scf.ForOp
    width: int | None
    machine: Machine
    addresses: set[SSAValue] = field(default_factory=set)
    """`%i` and `%i + <invariant>`: the indices of vector accesses."""
    vectorized: set[SSAValue] = field(default_factory=set)
    hoisted: list[Operation] = field(default_factory=list)
    """Body ops whose operands are all invariant: they move before the loop."""
    combiners: list[Operation] = field(default_factory=list)

    def inside(self, value: SSAValue) -> bool:
        owner = value.owner
        block = owner if not isinstance(owner, Operation) else owner.parent_block()
        return block is self.loop.body.block

    def invariant(self, value: SSAValue) -> bool:
        return not self.inside(value) or value.owner in self.hoisted

    def reason_not_to(self) -> str | None:
        """Why the loop stays scalar, or None when it can be vectorized."""
        loop, block = self.loop, self.loop.body.block
        step = loop.step.owner
        if not (isinstance(step, arith.ConstantOp) and step.value.value.data == 1):
            return "its step is not 1"
        iv = block.args[0]
        self.addresses.add(iv)
        self.vectorized.update(block.args[1:])
        for index in range(len(loop.iter_args)):
            combiner = accumulator_combiner(block, index)
            if combiner is None:
                return "a loop-carried value is not an accumulator"
            if COMBINERS[type(combiner)].identity is None:
                return f"the accumulator's '{combiner.name}' has no identity a vector can start from"
            self.combiners.append(combiner)
        for op in block.ops:
            if isinstance(op, scf.YieldOp):
                continue
            if isinstance(op, memref.LoadOp | memref.StoreOp):
                *outer, last = op.indices
                if not spm.is_scratchpad(op.memref.type):
                    return "it reads or writes DDR element by element"
                if last not in self.addresses or not all(self.invariant(i) for i in outer):
                    return "an access is not at consecutive addresses"
                if isinstance(op, memref.LoadOp):
                    self.vectorized.add(op.res)
                elif op.value in self.addresses:
                    return "it stores the induction variable"
                continue
            if any(v in self.addresses for v in op.operands):
                if (
                    isinstance(op, arith.AddiOp)
                    and sum(v in self.addresses for v in op.operands) == 1
                    and all(v in self.addresses or self.invariant(v) for v in op.operands)
                    and all(isinstance(u.operation, memref.LoadOp | memref.StoreOp)
                            and u.index == len(u.operation.operands) - 1
                            for u in op.result.uses)
                ):  # fmt: skip
                    self.addresses.add(op.result)
                    continue
                return f"it uses the induction variable in '{op.name}'"
            if not _is_vectorizable_op(op):
                return f"'{op.name}' has no vector form"
            if all(self.invariant(v) for v in op.operands):
                self.hoisted.append(op)
                continue
            if any(isinstance(v.type, IndexType) for v in (*op.operands, *op.results)):
                return f"'{op.name}' works on index values"
            self.vectorized.update(op.results)
        return None

    def lanes(self) -> int:
        stored = [op.value for op in self.loop.body.block.ops if isinstance(op, memref.StoreOp)]
        types = {v.type for v in (*self.vectorized, *stored)}
        elements = [t for t in types if not (isinstance(t, IntegerType) and t.width.data == 1)]
        if not elements:
            return self.width or self.machine.vector_elements(4)
        return min(lanes_for(self.machine, t, self.width) for t in elements)

    # ---- the rewrite

    def vectorize(self) -> None:
        loop, block = self.loop, self.loop.body.block
        lanes = self.lanes()
        rewriter = Rewriter()
        before = InsertPoint.before(loop)

        def emit(op: Operation) -> SSAValue:
            rewriter.insert_op(op, before)
            return op.results[0]

        constants: dict[int, SSAValue] = {}

        def constant(value: int) -> SSAValue:
            if value not in constants:
                constants[value] = emit(arith.ConstantOp(IntegerAttr(value, IndexType())))
            return constants[value]

        mapping: dict[SSAValue, SSAValue] = {}
        for op in self.hoisted:
            clone = op.clone(value_mapper=mapping)
            rewriter.insert_op(clone, before)
            mapping.update(zip(op.results, clone.results))
        broadcasts: dict[SSAValue, SSAValue] = {}

        def vec(type: Attribute) -> VectorType:
            return VectorType(type, [lanes])

        def splat(value: SSAValue) -> SSAValue:
            """`value` broadcast to a vector, right where `value` is defined."""
            outer = mapping.get(value, value)
            if outer not in broadcasts:
                broadcast = vector.BroadcastOp(outer, vec(outer.type))
                owner = outer.owner
                where = (InsertPoint.after(owner) if isinstance(owner, Operation)
                         else InsertPoint.at_start(owner))  # fmt: skip
                rewriter.insert_op(broadcast, where)
                broadcasts[outer] = broadcast.vector
            return broadcasts[outer]

        lb, ub = loop.lb, loop.ub
        static = [v.owner.value.value.data if isinstance(v.owner, arith.ConstantOp) else None
                  for v in (lb, ub)]  # fmt: skip
        if None not in static:
            lo, hi = static
            vector_end = constant(lo + max(hi - lo, 0) // lanes * lanes)
            tail_empty = (hi - lo) % lanes == 0 or hi <= lo
        else:
            starts_at_zero = static[0] == 0
            length = ub if starts_at_zero else emit(arith.SubiOp(ub, lb))
            length = emit(arith.MaxSIOp(length, constant(0)))
            if lanes & (lanes - 1) == 0:  # a power of two: clear the low bits
                rounded = emit(arith.AndIOp(length, constant(-lanes)))
            else:
                rounded = emit(arith.MuliOp(emit(arith.DivUIOp(length, constant(lanes))), constant(lanes)))
            vector_end = rounded if starts_at_zero else emit(arith.AddiOp(lb, rounded))
            tail_empty = False

        inits = []
        for combiner in self.combiners:
            identity = COMBINERS[type(combiner)].identity
            element = combiner.results[0].type
            attr = (FloatAttr(identity, element) if isinstance(element, AnyFloat)
                    else IntegerAttr(identity, element))  # fmt: skip
            inits.append(emit(vector.BroadcastOp(emit(arith.ConstantOp(attr)), vec(element))))

        new_region = Region(Block(arg_types=[IndexType(), *(v.type for v in inits)]))
        body = scf.ForOp(lb, vector_end, constant(lanes), inits, new_region)
        new_block = body.body.block
        mapping[block.args[0]] = new_block.args[0]
        mapping.update(zip(block.args[1:], new_block.args[1:]))
        for op in block.ops:
            if op in self.hoisted:
                continue
            new_block.add_op(new := self.vector_op(op, mapping, splat, vec))
            mapping.update(zip(op.results, new.results))
        rewriter.insert_op(body, before)

        after = InsertPoint.after(body)
        totals = []
        for index, combiner in enumerate(self.combiners):
            kind = COMBINERS[type(combiner)].kind
            reduction = vector.ReductionOp.build(
                operands=[body.results[index], loop.iter_args[index]],
                result_types=[combiner.results[0].type],
                properties={"kind": CombiningKindAttr(kind)},
            )
            rewriter.insert_op(reduction, after)
            after = InsertPoint.after(reduction)
            totals.append(reduction.results[0])
        if tail_empty:
            rewriter.replace_op(loop, [], totals)
            return
        tail = scf.ForOp(vector_end, ub, loop.step, totals, rewriter.move_region_contents_to_new_regions(loop.body))
        rewriter.replace_op(loop, tail)

    def vector_op(self, op: Operation, mapping, splat, vec) -> Operation:
        get = lambda v: mapping.get(v, v)  # noqa: E731
        if isinstance(op, memref.LoadOp):
            return vector.LoadOp(get(op.memref), [get(i) for i in op.indices], vec(op.res.type))
        if isinstance(op, memref.StoreOp):
            value = get(op.value) if op.value in self.vectorized else splat(op.value)
            return vector.StoreOp(value, get(op.memref), [get(i) for i in op.indices])
        if isinstance(op, scf.YieldOp) or op.results and op.results[0] in self.addresses:
            return op.clone(value_mapper=mapping)
        operands = []
        for position, value in enumerate(op.operands):
            scalar_condition = isinstance(op, SELECT_OPS) and position == 0
            if value in self.vectorized or scalar_condition and self.invariant(value):
                operands.append(get(value))
            else:
                operands.append(splat(value))
        return arith_tensor.shaped_create(op, operands, [vec(r.type) for r in op.results])


def _innermost_loops(function: func.FuncOp) -> list[scf.ForOp]:
    return [
        op for op in function.walk()
        if isinstance(op, scf.ForOp) and not any(o.regions for o in op.body.block.ops)
    ]  # fmt: skip


@dataclass(frozen=True)
class NpuVectorizePass(ModulePass):
    """Vectorizes element loops and core copies (see the module docstring)."""

    name = "npu-vectorize"

    width: int | None = None
    """Elements per vector; by default a full machine vector (128 bytes: 32 x f32)."""

    machine: str = "edge-npu"
    """The machine model whose vector width is the default."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.width is not None and self.width <= 0:
            raise PassFailedException(f"npu-vectorize: width must be positive, got {self.width}")
        machine = pass_machine(self.name, self.machine)
        for function in [f for f in op.walk() if isinstance(f, func.FuncOp)]:
            for loop in _innermost_loops(function):
                vectorizer = LoopVectorizer(loop, self.width, machine)
                if vectorizer.reason_not_to() is None:
                    vectorizer.vectorize()
            for copy in [c for c in function.walk() if isinstance(c, spm.CopyOp)]:
                lanes = lanes_for(machine, copy.src.type.element_type, self.width)
                copy.properties["width"] = IntegerAttr(lanes, i64)
