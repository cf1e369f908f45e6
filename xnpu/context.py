"""The xDSL context that knows every dialect xnpu reads: xDSL's own and xnpu's."""

from xdsl.context import Context
from xdsl.dialects import get_all_dialects

from xnpu.dialects import XNPU_DIALECTS
from xnpu.xdsl_compat import install


def xnpu_context() -> Context:
    """A fresh context with every dialect registered (each loads on first use)."""
    install()
    context = Context()
    for name, factory in (get_all_dialects() | XNPU_DIALECTS).items():
        context.register_dialect(name, factory)
    return context
