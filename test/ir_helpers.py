"""What the tests share for IR written as text."""

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from xnpu.dialects import xnpu_context


def parse_ir(text: str) -> ModuleOp:
    """`text` parsed in the context xnpu reads IR with (xDSL's dialects and xnpu's)."""
    return Parser(xnpu_context(), text).parse_module()
