"""
The `xdsl.universe` entry point: makes xnpu's dialects and passes known to the stock
`xdsl-opt` (see pyproject.toml). Loading it also lets xDSL read what Triton prints
and xDSL 0.74 alone cannot (`xnpu.xdsl_compat`).
"""

from xdsl.universe import Universe

from xnpu.dialects import XNPU_DIALECTS
from xnpu.transforms import XNPU_PASSES
from xnpu.xdsl_compat import install

install()

XNPU_UNIVERSE = Universe(all_dialects=XNPU_DIALECTS, all_passes=XNPU_PASSES)
