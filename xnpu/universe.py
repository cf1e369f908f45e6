"""
The `xdsl.universe` entry point: makes xnpu's dialects and passes known to the stock
`xdsl-opt` (see pyproject.toml). Loading it also lets xDSL read what Triton prints
and xDSL 0.74 alone cannot (`xnpu.dialects.xdsl_compat`), without changing how xDSL
reads anything else.
"""

from xdsl.universe import Universe

from xnpu.dialects import XNPU_DIALECTS
from xnpu.dialects.xdsl_compat import install
from xnpu.transforms import XNPU_PASSES

install()

XNPU_UNIVERSE = Universe(all_dialects=XNPU_DIALECTS, all_passes=XNPU_PASSES)
