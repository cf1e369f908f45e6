"""
Building a program in explicit scopes, for npu-lower-triton's emitter: the entry
block (constants, scratchpad tiles), the program loop's body (per-program values),
the body of each loop the kernel itself runs, and each element loop built inside
them. A value (or tile) made in a scope is reused only there and in scopes nested in
it, so every reuse is dominated by its definition.

    func.func @k(...) {                  <- entry: constants, spm.alloc
      scf.for %pid = ... {               <- program: offsets, box counts, invariants
        scf.for %i = ... { ... }         <- an element loop body: per-lane values
        scf.for %off = ... {             <- a kernel loop's iteration: its offsets...
          scf.for %i = ... { ... }
        }
      }
    }

The program body and each kernel loop's body are *iterations*. Inside an element
loop nest, `iteration_level()` sends values to the innermost iteration, before the
outermost element loop being built: they are computed once per iteration (a
program, or a trip of a kernel loop), not once per lane.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from xdsl.builder import Builder
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xnpu.dialects import spm, tile
from xnpu.transforms.builders import INDEX, Constants


class Scope:
    """Where values are emitted, and what was emitted there by key. A lookup sees
    this scope's values and its parents', never a sibling's."""

    def __init__(self, point: InsertPoint, parent: Scope | None = None):
        self.point = point
        self.parent = parent
        self.values: dict[Hashable, Any] = {}
        """SSA values by key, and what else was made here (tiles, boxes)."""

    def lookup(self, key: Hashable) -> Any:
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
        self.scopes = [Scope(InsertPoint.at_end(program_body), self.entry)]
        self.iterations = [0]
        """Where in `scopes` the iterations are (the program body first)."""
        self.tile_names: Counter[str] = Counter()

    def move_entry_point(self, point: InsertPoint) -> None:
        """Entry-block values (constants, tiles) go to `point` from now on."""
        self.entry.point = self.constants.point = point

    @contextmanager
    def at(self, stack: list[Scope], point: InsertPoint) -> Iterator[None]:
        """Inserts go to `point` in the innermost of `stack`, iterations nested from
        the program's (a tt op being lowered where it stands)."""
        saved = self.scopes, self.iterations
        self.scopes, self.iterations = list(stack), list(range(len(stack)))
        stack[-1].point = point
        try:
            yield
        finally:
            self.scopes, self.iterations = saved

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def insert(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.scope.point)
        return op

    def insert_entry(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.entry.point)
        return op

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """What `key` names, made in the current scope unless visible already."""
        value = self.scope.lookup(key)
        if value is None:
            value = self.scope.values[key] = make()
        return value

    def remember(self, key: Hashable, value: Any) -> None:
        """Records `value` under `key` for this scope and those nested in it."""
        self.scope.values[key] = value

    @property
    def iteration(self) -> Scope:
        return self.scopes[self.iterations[-1]]

    @contextmanager
    def iteration_level(self) -> Iterator[None]:
        """Inserts go to the innermost iteration, before the loop nest being built."""
        saved = self.scopes
        self.scopes = saved[: self.iterations[-1] + 1]
        try:
            yield
        finally:
            self.scopes = saved

    @contextmanager
    def inside(self, loop: scf.ForOp | tile.MapOp | tile.ReduceOp) -> Iterator[None]:
        """Inserts go at the end of `loop`'s body (already inserted): an element loop,
        or a tile.map's or tile.reduce's body (a lane)."""
        iteration = self.iteration
        outermost = self.scope is iteration
        saved_point = iteration.point
        if outermost:
            iteration.point = InsertPoint.before(loop)
        self.scopes.append(Scope(InsertPoint.at_end(loop.body.block), self.scope))
        try:
            yield
        finally:
            self.scopes.pop()
            if outermost:
                iteration.point = saved_point

    @contextmanager
    def iterating(self, loop: scf.ForOp) -> Iterator[None]:
        """Inserts go at the end of `loop`'s body (already inserted), a new iteration."""
        self.scopes.append(Scope(InsertPoint.at_end(loop.body.block), self.scope))
        self.iterations.append(len(self.scopes) - 1)
        try:
            yield
        finally:
            self.iterations.pop()
            self.scopes.pop()

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

    def map_over(
        self,
        bounds: Sequence[tuple[SSAValue, SSAValue]],
        body: Callable[[list[SSAValue]], None],
        flat_extents: Sequence[int] | None = None,
    ) -> tile.MapOp | None:
        """A tile.map over `bounds` ((first, end) each) around `body(arguments)`: a lane
        per range (and the flat index last, with `flat_extents`), built in a scope of
        its own. No bounds: `body([])` where it stands."""
        if not bounds:
            body([])
            return None
        op = self.insert(tile.MapOp(bounds, flat_extents))
        arguments = list(op.body.block.args)
        for arg, name in zip(arguments, "ijk" * len(arguments)):
            arg.name_hint = name
        if flat_extents:
            arguments[-1].name_hint = "f"
        with self.inside(op):
            body(arguments)
            self.insert(tile.YieldOp())
        return op
