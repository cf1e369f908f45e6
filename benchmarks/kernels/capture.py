"""
Regenerates the Inductor part of the kernel corpus (benchmarks/kernels/inductor/):

    python -m xnpu.kernels.capture [--out DIR]

Each PyTorch function below is compiled by Inductor with cpu_backend="triton"; the
kernel it generates is written with its signature, constexprs, sizes and grid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from xnpu.frontend.inductor import InductorKernel, capture_inductor_kernels
from xnpu.frontend.ttir import TritonFrontendError
from xnpu.kernels.inductor import COLS, ROWS


def _functions():
    """name -> (description, function, example inputs, dynamic shapes?)."""
    x = torch.randn(4096)
    rows = torch.randn(ROWS, COLS)
    w, b = torch.randn(COLS), torch.randn(COLS)
    return {
        "gelu": ("F.gelu(x)", lambda x: F.gelu(x), (x,), True),
        "silu": ("F.silu(x)", lambda x: F.silu(x), (x,), True),
        "add_broadcast": (
            f"x + y, x: [{ROWS}, {COLS}], y: [{COLS}]",
            lambda x, y: x + y,
            (rows, w),
            False,
        ),
        "softmax": (
            f"torch.softmax(x, -1), x: [{ROWS}, {COLS}]",
            lambda x: torch.softmax(x, -1),
            (rows,),
            False,
        ),
        "layer_norm": (
            f"F.layer_norm(x, ({COLS},), w, b), x: [{ROWS}, {COLS}]",
            lambda x, w, b: F.layer_norm(x, (COLS,), w, b),
            (rows, w, b),
            False,
        ),
        "rms_norm": (
            f"F.rms_norm(x, ({COLS},), w, eps=1e-6), x: [{ROWS}, {COLS}]",
            lambda x, w: F.rms_norm(x, (COLS,), w, eps=1e-6),
            (rows, w),
            False,
        ),
    }


def render(name: str, description: str, kernel: InductorKernel) -> str:
    """The corpus module of one captured kernel."""
    import triton

    return f'''"""
Inductor-generated Triton kernel for {description}.

Captured with torch {torch.__version__.split("+")[0]} and triton {triton.__version__} by
`python -m xnpu.kernels.capture` (which regenerates every file of this folder).
"""

import triton
import triton.language as tl
from torch._inductor.runtime import triton_helpers
from torch._inductor.runtime.triton_helpers import libdevice
from torch._inductor.runtime.triton_helpers import math as tl_math

SIGNATURE = {kernel.signature!r}
CONSTEXPRS = {kernel.constexprs!r}
SIZES = {kernel.sizes!r}
"""The size arguments of the launch Inductor made for the example inputs."""
GRID = {kernel.grid!r}


{kernel.source}

KERNEL = {kernel.name}
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xnpu.kernels.capture",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "inductor",
        help="folder to write the kernels to (default: the corpus's own)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (description, function, inputs, dynamic) in _functions().items():
        print(f"capturing {name}: {description}", file=sys.stderr)
        try:
            kernels = capture_inductor_kernels(function, *inputs, dynamic=dynamic)
        except TritonFrontendError as error:
            print(f"error: {name}: {error}", file=sys.stderr)
            return 1
        if len(kernels) != 1:
            print(
                f"error: {name}: expected one kernel, Inductor made {len(kernels)}", file=sys.stderr
            )
            return 1
        (args.out / f"{name}.py").write_text(render(name, description, kernels[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
