"""
Inductor-generated Triton kernel for x + y, x: [128, 512], y: [512].

Captured with torch 2.13.0 and triton 3.9.0 by
`python -m xnpu.kernels.capture` (which regenerates every file of this folder).
"""

import triton
import triton.language as tl
from torch._inductor.runtime import triton_helpers
from torch._inductor.runtime.triton_helpers import libdevice
from torch._inductor.runtime.triton_helpers import math as tl_math

SIGNATURE = {'in_ptr0': '*fp32', 'in_ptr1': '*fp32', 'out_ptr0': '*fp32', 'xnumel': 'i32', 'XBLOCK': 'constexpr'}
CONSTEXPRS = {'XBLOCK': 512}
SIZES = {'xnumel': 65536}
"""The size arguments of the launch Inductor made for the example inputs."""
GRID = (128,)


@triton.jit
def triton_poi_fused_add_0(in_ptr0, in_ptr1, out_ptr0, xnumel, XBLOCK : tl.constexpr):
    xnumel = 65536
    xoffset = tl.program_id(0) * XBLOCK
    xindex = xoffset + tl.arange(0, XBLOCK)[:]
    xmask = tl.full([XBLOCK], True, tl.int1)[:]
    x2 = xindex
    x0 = (xindex % 512)
    tmp0 = tl.load(in_ptr0 + (x2), None)
    tmp1 = tl.load(in_ptr1 + (x0), None, eviction_policy='evict_last')
    tmp2 = tmp0 + tmp1
    tl.store(out_ptr0 + (x2), tmp2, None)


KERNEL = triton_poi_fused_add_0
