"""xnpu's dialects, one a file: `tt` (Triton IR) and the tensor forms of `arith`."""

from collections.abc import Callable

from xdsl.ir import Dialect


def _tt() -> Dialect:
    from xnpu.dialects.tt import TT

    return TT


XNPU_DIALECTS: dict[str, Callable[[], Dialect]] = {"tt": _tt}
"""xnpu's dialects by name, each built on first use, as xDSL registers its own."""
