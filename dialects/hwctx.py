"""
The `hwctx` dialect: hardware contexts (the NPU's hardware threads).

    hwctx.parallel (%ctx) contexts(4) {
      // runs once on each of 4 contexts, %ctx = 0, 1, 2, 3
      hwctx.barrier           // every context arrives before any goes on
      hwctx.yield
    }

The parallel region forks at entry and joins at exit: the op completes when every
context has reached its `hwctx.yield`. Scratchpad buffers allocated inside the region
are private to each context.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IndexType, IntegerAttr, i64
from xdsl.ir import Block, Dialect, Region
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import HasAncestor, HasParent, IsTerminator, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class ParallelOp(IRDLOperation):
    """Runs its body once on each of `contexts` hardware contexts; the block argument
    is the context id."""

    name = "hwctx.parallel"

    contexts = prop_def(IntegerAttr)
    body = region_def("single_block")

    traits = traits_def(RecursiveMemoryEffect())

    def __init__(self, contexts: int, body: Region | None = None):
        if body is None:
            body = Region(Block(arg_types=[IndexType()]))
        super().__init__(properties={"contexts": IntegerAttr(contexts, i64)}, regions=[body])

    @property
    def context_count(self) -> int:
        return self.contexts.value.data

    @property
    def context_id(self):
        return self.body.block.args[0]

    def verify_(self) -> None:
        if self.context_count < 1:
            raise VerifyException(
                f"hwctx.parallel needs at least one context, got {self.context_count}"
            )
        block = self.body.block
        if len(block.args) != 1 or not isinstance(block.args[0].type, IndexType):
            raise VerifyException(
                "hwctx.parallel's body takes exactly one argument, the context id (index)"
            )
        if not isinstance(block.last_op, YieldOp):
            raise VerifyException("hwctx.parallel's body must end with hwctx.yield")

    @classmethod
    def parse(cls, parser: Parser) -> ParallelOp:
        parser.parse_punctuation("(")
        context_id = parser.parse_argument(expect_type=False)
        parser.parse_punctuation(")")
        parser.parse_keyword("contexts")
        parser.parse_punctuation("(")
        contexts = parser.parse_integer(allow_boolean=False, allow_negative=False)
        parser.parse_punctuation(")")
        attributes = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region([context_id.resolve(IndexType())])
        op = cls(contexts, body)
        if attributes is not None:
            op.attributes.update(attributes.data)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" (")
        printer.print_operand(self.context_id)
        printer.print_string(f") contexts({self.context_count})")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a context's share of an hwctx.parallel region."""

    name = "hwctx.yield"

    traits = traits_def(IsTerminator(), HasParent(ParallelOp))

    assembly_format = "attr-dict"


@irdl_op_definition
class BarrierOp(IRDLOperation):
    """Waits until every context of the enclosing hwctx.parallel has arrived."""

    name = "hwctx.barrier"

    traits = traits_def(HasAncestor(ParallelOp), RecursiveMemoryEffect())

    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__()


HWCTX = Dialect("hwctx", [ParallelOp, YieldOp, BarrierOp], [])
