"""
Building a program in explicit scopes, for npu-lower-triton's emitter: the entry
block (constants, scratchpad tiles), the program loop's body (per-program values) and
each loop body built inside it. A value made in a scope is reused only there and in
scopes nested in it, so every reuse is dominated by its definition.

    func.func @k(...) {                  <- entry: constants, spm.alloc
      scf.for %pid = ... {               <- program: offsets, box counts, invariants
        scf.for %i = ... { ... }         <- a loop body: per-lane values
      }
    }

Inside a loop nest, `program_level()` sends values to the program scope, before the
outermost loop being built, so they are computed once per program, not once per lane.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager

from xdsl.builder import Builder
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xnpu.dialects import spm
from xnpu.transforms.builders import INDEX, Constants


class Scope:
    """Where values are emitted, and what was emitted there by key. A lookup sees
    this scope's values and its parents', never a sibling's."""

    def __init__(self, point: InsertPoint, parent: Scope | None = None):
        self.point = point
        self.parent = parent
        self.values: dict[Hashable, SSAValue] = {}

    def lookup(self, key: Hashable) -> SSAValue | None:
        scope: Scope | None = self
        while scope is not None:
            if key in scope.values:
                return scope.values[key]
            scope = scope.parent
        return None


class ScopedBuilder:
    """Inserts ops into the entry block, the program body or the loop being built."""

    def __init__(self, entry: Block, program_body: Block):
        self.entry = Scope(InsertPoint.at_end(entry))
        self.constants = Constants(Builder(self.entry.point), self.entry.point)
        self.program = Scope(InsertPoint.at_end(program_body), self.entry)
        self.scopes = [self.program]
        self.tile_names: Counter[str] = Counter()

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def insert(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.scope.point)
        return op

    def insert_entry(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.entry.point)
        return op

    def cached(self, key: Hashable, make: Callable[[], SSAValue]) -> SSAValue:
        """The value `key` names, made in the current scope unless visible already."""
        value = self.scope.lookup(key)
        if value is None:
            value = self.scope.values[key] = make()
        return value

    @contextmanager
    def program_level(self) -> Iterator[None]:
        """Inserts go to the program scope, before the loop nest being built."""
        saved = self.scopes
        self.scopes = saved[:1]
        try:
            yield
        finally:
            self.scopes = saved

    @contextmanager
    def inside(self, loop: scf.ForOp) -> Iterator[None]:
        """Inserts go at the end of `loop`'s body (already inserted)."""
        outermost = len(self.scopes) == 1
        saved_point = self.program.point
        if outermost:
            self.program.point = InsertPoint.before(loop)
        self.scopes.append(Scope(InsertPoint.at_end(loop.body.block), self.scope))
        try:
            yield
        finally:
            self.scopes.pop()
            if outermost:
                self.program.point = saved_point

    def constant(self, value: int | float, type: Attribute) -> SSAValue:
        return self.constants.get(value, type)

    def index(self, value: int) -> SSAValue:
        return self.constants.index(value)

    def alloc(self, kind: str, element: Attribute, size: int) -> SSAValue:
        """A scratchpad tile in the entry block, named `<kind><number>`."""
        number = self.tile_names[kind]
        self.tile_names[kind] += 1
        op = spm.AllocOp(spm.scratchpad_type(element, [size]), f"{kind}{number}")
        return self.insert_entry(op).buffer

    def to_index(self, value: SSAValue) -> SSAValue:
        if isinstance(value.type, IndexType):
            return value
        return self.insert(arith.IndexCastOp(value, INDEX)).results[0]

    def loop_nest(
        self,
        bounds: Sequence[tuple[SSAValue, SSAValue]],
        body: Callable[[list[SSAValue]], None],
        names: str = "ijk",
    ) -> None:
        """Nested scf.for over `bounds` ((lower, upper) each, step 1) around
        `body(ivs)`, each body built in its own scope."""
        if not bounds:
            body([])
            return
        lower, upper = bounds[0]
        block = Block(arg_types=[INDEX])
        block.args[0].name_hint = names[0]
        loop = self.insert(scf.ForOp(lower, upper, self.index(1), [], block))
        with self.inside(loop):
            self.loop_nest(
                bounds[1:], lambda ivs: body([block.args[0], *ivs]), names=names[1:] or "ijk"
            )
            self.insert(scf.YieldOp())
