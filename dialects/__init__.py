"""xnpu's dialects, one a file: `tt` (Triton IR), `spm` (scratchpad and DMA), `hwctx`
(hardware contexts), and the tensor forms of `arith`."""

from collections.abc import Callable

from xdsl.ir import Dialect


def _tt() -> Dialect:
    from xnpu.dialects.tt import TT

    return TT


def _spm() -> Dialect:
    from xnpu.dialects.spm import SPM

    return SPM


def _hwctx() -> Dialect:
    from xnpu.dialects.hwctx import HWCTX

    return HWCTX


XNPU_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "tt": _tt,
    "spm": _spm,
    "hwctx": _hwctx,
}
"""xnpu's dialects by name, each built on first use, as xDSL registers its own."""
