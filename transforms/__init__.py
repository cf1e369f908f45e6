"""xnpu's passes, one a file named after the pass."""

from collections.abc import Callable

from xdsl.passes import ModulePass

XNPU_PASSES: dict[str, Callable[[], type[ModulePass]]] = {}
"""xnpu's passes by their command-line name, each imported on first use."""
