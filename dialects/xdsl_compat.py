"""
Where xDSL 0.74 cannot read what Triton 3.9 prints, and what xnpu does about it.
`install()` applies both (idempotent); xnpu's context and its `xdsl.universe` entry
point (so the stock `xdsl-opt` too) call it before parsing anything.

1. `arith` ops on tensors that xDSL's `arith` rejects or mistypes (`select` with a
   tensor condition, casts, comparisons, `remf`): `xnpu.dialects.arith_tensor`, whose
   classes build xDSL's own whenever xDSL's verifier accepts the op, so ordinary IR
   is read exactly as without xnpu.
2. A hex splat of a float tensor, `dense<0xFF800000> : tensor<8xf32>` (how MLIR and
   xDSL itself print -inf and NaN), is read by xDSL as the integer 4286578688. In
   MLIR a hex literal for a float element is its bit pattern; so it is here. This
   wraps a private parser method: `install()` fails loudly if xDSL no longer has it,
   and test/test_stock_xdsl.py fails if xDSL stops calling it.
"""

from xdsl.dialects.builtin import AnyFloat
from xdsl.parser.attribute_parser import AttrParser

from xnpu.dialects.arith_tensor import extend_arith

_TensorLiteralElement = getattr(AttrParser, "_TensorLiteralElement", None)
if _TensorLiteralElement is None or not callable(getattr(_TensorLiteralElement, "to_type", None)):
    raise ImportError(
        "xnpu: this xDSL has no AttrParser._TensorLiteralElement.to_type, which xnpu "
        "wraps to read hex float splats (dialects/xdsl_compat.py); xnpu needs xDSL 0.74"
    )
_stock_to_type = _TensorLiteralElement.to_type


def _to_type_reading_hex_floats_as_bits(self, parser, type):
    if (
        isinstance(type, AnyFloat)
        and isinstance(self.value, int)
        and self.span.text[:2].lower() == "0x"
    ):
        raw = self.value.to_bytes(type.compile_time_size, "little")
        return next(type.iter_unpack(raw))
    return _stock_to_type(self, parser, type)


def install() -> None:
    extend_arith()
    _TensorLiteralElement.to_type = _to_type_reading_hex_floats_as_bits
