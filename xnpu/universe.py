"""
The `xdsl.universe` entry point: makes xnpu's dialects and passes known to the stock
`xdsl-opt` (see pyproject.toml). Loading it also gives xDSL's `arith` the tensor
forms Triton prints (`xnpu.dialects.arith_tensor`).
"""

from xdsl.universe import Universe

from xnpu.dialects import XNPU_DIALECTS
from xnpu.dialects.arith_tensor import extend_arith
from xnpu.transforms import XNPU_PASSES

extend_arith()

XNPU_UNIVERSE = Universe(all_dialects=XNPU_DIALECTS, all_passes=XNPU_PASSES)
