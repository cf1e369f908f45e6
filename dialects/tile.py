"""
The `tile` dialect: work over a tile's lanes, before it becomes loops.

`tile.map` runs its body once for every lane of a box: along each dimension it
loops over (the dimensions of size 1 are left out), the lanes from a first to an
end. The body computes one lane: it reads scratchpad tiles (or DDR) at that lane and
stores what it computes. npu-lower-triton emits it for every element-wise
computation over a box (a stored value, a value computed into a tile of its own);
npu-lower-tiles makes it loops.

    tile.map (%i, %j) in (%f0 to %e0, %c0 to %c64) {         scf.for %i = %f0 to %e0 step %c1 {
      %x = memref.load %in[...]                       ==>       scf.for %j = %c0 to %c64 step %c1 {
      ...                                                         %x = memref.load %in[...] ... } }
      tile.yield
    }

With `flat(%f) over [rows, ..., columns]`, the trailing dimensions (each but the first
whole) run as one loop over their row-major flat index %f, which the body indexes
row-major tiles with (their own lanes stay unused):

    tile.map (%i, %j) in (%f0 to %e0, %c0 to %c64) flat(%f) over [16, 64] { ... }
        ==>  scf.for %f = %f0 * 64 to %e0 * 64 step %c1 { ... }

`tile.reduce` runs its body for the lanes of one axis in order, carrying accumulators
from `from`'s values; its results are the last. The body combines one lane into them
(a `tt.reduce`'s combiner, an assert's AND), and may store each running value (a
`tt.scan`'s prefixes):

    %sum = tile.reduce (%r) in (%c0 to %c1024) from (%acc = %zero : f32) {
      %x = memref.load %in[%r]
      %s = arith.addf %acc, %x : f32                   ==>   scf.for %r = ... iter_args(%acc = %zero)
      tile.yield %s : f32
    }
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from xdsl.dialects.builtin import DenseArrayBase, IndexType, i64
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException

from xnpu.dialects.spm import MatrixProductOp

INDEX = IndexType()


@irdl_op_definition
class MapOp(IRDLOperation):
    """Runs its body for every lane of a box (see the module docstring): `bounds`
    holds (first, end) per loop dimension; the body's arguments are the lanes, then
    the flat index when the trailing dimensions `flat_extents` run as one loop."""

    name = "tile.map"

    bounds = var_operand_def(IndexType)
    flat_extents = opt_prop_def(DenseArrayBase)
    body = region_def("single_block")

    traits = traits_def(RecursiveMemoryEffect())

    def __init__(
        self,
        bounds: Sequence[tuple[SSAValue, SSAValue]],
        flat_extents: Sequence[int] | None = None,
        body: Region | None = None,
    ):
        if body is None:
            flat = [INDEX] if flat_extents else []
            body = Region(Block(arg_types=[INDEX] * len(bounds) + flat))
        properties = {}
        if flat_extents:
            properties["flat_extents"] = DenseArrayBase.from_list(i64, list(flat_extents))
        super().__init__(
            operands=[[value for pair in bounds for value in pair]],
            properties=properties,
            regions=[body],
        )

    @property
    def ranges(self) -> list[tuple[SSAValue, SSAValue]]:
        values = list(self.bounds)
        return list(zip(values[0::2], values[1::2]))

    @property
    def lanes(self) -> tuple[SSAValue, ...]:
        return self.body.block.args[: len(self.bounds) // 2]

    @property
    def extents(self) -> tuple[int, ...]:
        """The extents of the dimensions the flat loop runs over (none: no flat loop)."""
        if self.flat_extents is None:
            return ()
        return tuple(self.flat_extents.get_values())

    @property
    def flat_index(self) -> SSAValue | None:
        return self.body.block.args[-1] if self.extents else None

    @property
    def inner_lanes(self) -> int:
        """Flat lanes per lane of the flat loop's first dimension."""
        return prod(self.extents[1:])

    def verify_(self) -> None:
        if len(self.bounds) % 2:
            raise VerifyException("tile.map takes a (first, end) pair per dimension")
        loops = len(self.bounds) // 2
        block = self.body.block
        expected = loops + (1 if self.extents else 0)
        if len(block.args) != expected or any(a.type != INDEX for a in block.args):
            raise VerifyException(
                f"tile.map's body takes {expected} index argument(s): a lane per dimension"
                + (", then the flat index" if self.extents else "")
                + f"; it takes {len(block.args)}"
            )
        if self.extents:
            if not 2 <= len(self.extents) <= loops or min(self.extents) < 1:
                raise VerifyException(
                    f"tile.map: a flat loop runs over 2 to {loops} trailing dimensions of "
                    f"positive extent, not {list(self.extents)}"
                )
            used = [i for i, lane in enumerate(self.lanes[-len(self.extents) :]) if lane.uses]
            if used:
                raise VerifyException(
                    "tile.map: the body of a flat loop reads the flat index, not the lanes "
                    f"of its dimensions (lane {loops - len(self.extents) + used[0]} is used)"
                )
        if not isinstance(block.last_op, YieldOp):
            raise VerifyException("tile.map's body must end with tile.yield")

    @classmethod
    def parse(cls, parser: Parser) -> MapOp:
        lanes = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, lambda: parser.parse_argument(expect_type=False)
        )
        parser.parse_keyword("in")

        def pair() -> tuple[UnresolvedOperand, UnresolvedOperand]:
            first = parser.parse_unresolved_operand()
            parser.parse_keyword("to")
            return first, parser.parse_unresolved_operand()

        pairs = parser.parse_comma_separated_list(parser.Delimiter.PAREN, pair)
        bounds = [
            (parser.resolve_operand(first, INDEX), parser.resolve_operand(end, INDEX))
            for first, end in pairs
        ]
        arguments = [lane.resolve(INDEX) for lane in lanes]
        extents = None
        if parser.parse_optional_keyword("flat") is not None:
            parser.parse_punctuation("(")
            arguments.append(parser.parse_argument(expect_type=False).resolve(INDEX))
            parser.parse_punctuation(")")
            parser.parse_keyword("over")
            extents = parser.parse_comma_separated_list(
                parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
            )
        attributes = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region(arguments)
        op = cls(bounds, extents, body)
        if attributes is not None:
            op.attributes.update(attributes.data)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" (")
        printer.print_list(self.lanes, printer.print_operand)
        printer.print_string(") in (")
        printer.print_list(
            self.ranges,
            lambda pair: (
                printer.print_operand(pair[0]),
                printer.print_string(" to "),
                printer.print_operand(pair[1]),
            ),
        )
        printer.print_string(")")
        if self.extents:
            printer.print_string(" flat(")
            printer.print_operand(self.body.block.args[-1])
            printer.print_string(f") over [{', '.join(map(str, self.extents))}]")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """Lanes `first` to `end` of one axis in order, carrying accumulators from `inits`
    (see the module docstring): the body takes the lane and the accumulators and
    yields the next ones; the results are the last."""

    name = "tile.reduce"

    first = operand_def(IndexType)
    end = operand_def(IndexType)
    inits = var_operand_def()
    res = var_result_def()
    body = region_def("single_block")

    traits = traits_def(RecursiveMemoryEffect())

    def __init__(
        self, first: SSAValue, end: SSAValue, inits: Sequence[SSAValue], body: Region | None = None
    ):
        types = [value.type for value in inits]
        if body is None:
            body = Region(Block(arg_types=[INDEX, *types]))
        super().__init__(operands=[first, end, inits], result_types=[types], regions=[body])

    @property
    def lane(self) -> SSAValue:
        return self.body.block.args[0]

    @property
    def accumulators(self) -> tuple[SSAValue, ...]:
        return self.body.block.args[1:]

    def verify_(self) -> None:
        types = [value.type for value in self.inits]
        if [r.type for r in self.res] != types:
            raise VerifyException("tile.reduce's results have the types of its accumulators")
        block = self.body.block
        if [a.type for a in block.args] != [INDEX, *types]:
            raise VerifyException(
                "tile.reduce's body takes the lane (index), then one argument per "
                f"accumulator ({', '.join(map(str, types)) or 'none'})"
            )
        last = block.last_op
        if not isinstance(last, YieldOp) or [v.type for v in last.values] != types:
            raise VerifyException(
                "tile.reduce's body must end with tile.yield of the next accumulators "
                f"({', '.join(map(str, types)) or 'none'})"
            )

    @classmethod
    def parse(cls, parser: Parser) -> ReduceOp:
        parser.parse_punctuation("(")
        lane = parser.parse_argument(expect_type=False).resolve(INDEX)
        parser.parse_punctuation(")")
        parser.parse_keyword("in")
        parser.parse_punctuation("(")
        first = parser.resolve_operand(parser.parse_unresolved_operand(), INDEX)
        parser.parse_keyword("to")
        end = parser.resolve_operand(parser.parse_unresolved_operand(), INDEX)
        parser.parse_punctuation(")")
        parser.parse_keyword("from")

        def carried() -> tuple[object, SSAValue]:
            argument = parser.parse_argument(expect_type=False)
            parser.parse_punctuation("=")
            init = parser.parse_unresolved_operand()
            parser.parse_punctuation(":")
            kind: Attribute = parser.parse_type()
            return argument.resolve(kind), parser.resolve_operand(init, kind)

        pairs = parser.parse_comma_separated_list(parser.Delimiter.PAREN, carried)
        attributes = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region([lane, *(argument for argument, _ in pairs)])
        op = cls(first, end, [init for _, init in pairs], body)
        if attributes is not None:
            op.attributes.update(attributes.data)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" (")
        printer.print_operand(self.lane)
        printer.print_string(") in (")
        printer.print_operand(self.first)
        printer.print_string(" to ")
        printer.print_operand(self.end)
        printer.print_string(") from (")
        printer.print_list(
            zip(self.accumulators, self.inits),
            lambda pair: (
                printer.print_operand(pair[0]),
                printer.print_string(" = "),
                printer.print_operand(pair[1]),
                printer.print_string(" : "),
                printer.print_attribute(pair[1].type),
            ),
        )
        printer.print_string(")")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a tile.map's body (one lane done; no values) or a tile.reduce's (the next
    accumulators)."""

    name = "tile.yield"

    values = var_operand_def()

    traits = traits_def(IsTerminator(), HasParent(MapOp, ReduceOp))

    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[values])

    def verify_(self) -> None:
        if isinstance(self.parent_op(), MapOp) and self.values:
            raise VerifyException("tile.yield in a tile.map yields nothing")


@irdl_op_definition
class MatmulOp(MatrixProductOp):
    """
    `tile.matmul %a, %b into %c {dims = array<i64: B, M, N, K>, ...}`: a `tt.dot` on
    scratchpad tiles (spm.MatrixProductOp gives the semantics and checks). npu-matrix
    puts it on the matrix unit (`spm.matmul`) when the machine has one that takes its
    types; npu-lower-tiles makes the rest loops: a tile.map over (b, i, j) of a
    tile.reduce over k.
    """

    name = "tile.matmul"


TILE = Dialect("tile", [MapOp, ReduceOp, YieldOp, MatmulOp], [])

LEVEL_OPS = (MapOp, ReduceOp, MatmulOp)
"""The ops that mark a module at the tile level (npu-lower-tiles makes them loops)."""
