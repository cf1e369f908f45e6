"""xnpu's dialects, one a file: `tt` (Triton IR), `spm` (scratchpad and DMA), `hwctx`
(hardware contexts), `tile` (work over a tile's lanes, before it is loops), and the
tensor forms of `arith`; beside them, what every layer above shares about IR: the
context that reads it (`xnpu_context`), source locations for diagnostics
(location.py), remarks (remarks.py), verifying a module once (verified.py), and where
xDSL needs help to read Triton's text (xdsl_compat.py)."""

from collections.abc import Callable

from xdsl.context import Context
from xdsl.dialects import get_all_dialects
from xdsl.ir import Dialect

from xnpu.dialects.hwctx import HWCTX
from xnpu.dialects.spm import SPM
from xnpu.dialects.tile import TILE
from xnpu.dialects.tt import TT
from xnpu.dialects.xdsl_compat import install

XNPU_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "tt": lambda: TT,
    "spm": lambda: SPM,
    "hwctx": lambda: HWCTX,
    "tile": lambda: TILE,
}
"""xnpu's dialects by name, as factories in the form xDSL registers its own."""


def xnpu_context() -> Context:
    """A fresh context with every dialect registered, xDSL's and xnpu's (each loads
    on first use)."""
    install()
    context = Context()
    for name, factory in (get_all_dialects() | XNPU_DIALECTS).items():
        context.register_dialect(name, factory)
    return context
