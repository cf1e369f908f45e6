"""
Triton in the forms real code is written in (xnpu.kernels.forms), at every level of
the ladder, each run checked against PyTorch.

    python benchmarks/triton_forms.py [--rows 64] [--cols 1024] [--only NAME]

Rows of `--cols` float32 elements, one row a program unless said otherwise: the
softmax tutorial with runtime row strides, the layer-norm tutorial looping over
column chunks, an online softmax carrying scalars across its loop, argmax and cumsum
of each row, and GELU on the whole matrix in f32, fp16 and bf16 (fp16 and bf16
computed in f32). Prints each kernel's cycles per level, vec's speedup over scalar
and the largest difference from PyTorch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import xnpu
from xnpu.kernels import forms
from xnpu.transforms.pipelines import LEVELS


@dataclass(frozen=True)
class Form:
    kernel: object
    signature: dict[str, str]
    constexprs: dict[str, int]
    arguments: Callable[[torch.Tensor], list]
    """The launch's arguments, from the input matrix."""
    grid: Callable[[torch.Tensor], int]
    want: Callable[[torch.Tensor], torch.Tensor]
    output: int = 1
    """Which argument holds the result compared with `want`."""


def _rows(x: torch.Tensor) -> int:
    return x.shape[0]


def _gelu(dtype: torch.dtype, name: str) -> Form:
    def arguments(x):
        return [x.to(dtype).reshape(-1), torch.zeros(x.numel(), dtype=dtype), x.numel()]

    return Form(
        forms.half_gelu,
        {"x_ptr": f"*{name}", "out_ptr": f"*{name}", "n": "i32"},
        {"BLOCK": 1024},
        arguments,
        lambda x: -(-x.numel() // 1024),
        lambda x: F.gelu(x.to(dtype).float()).to(dtype).reshape(-1),
    )


def forms_for(cols: int) -> dict[str, Form]:
    block = 1 << (cols - 1).bit_length()  # a whole row, as the tutorials take it
    chunk = min(block, 256)
    row = {"x_ptr": "*fp32", "out_ptr": "*fp32"}
    return {
        "softmax, runtime row stride": Form(
            forms.strided_softmax,
            row | {"n_cols": "i32", "stride_xm": "i32", "stride_om": "i32"},
            {"BLOCK": block},
            lambda x: [x, torch.zeros_like(x), cols, cols, cols],
            _rows,
            lambda x: torch.softmax(x, 1),
        ),
        "layer norm, loop over 256-column chunks": Form(
            forms.looped_layer_norm,
            row
            | {"w_ptr": "*fp32", "b_ptr": "*fp32", "stride": "i32", "n_cols": "i32"}
            | {"eps": "fp32"},
            {"BLOCK": chunk},
            lambda x: [
                x,
                torch.ones(cols),
                torch.zeros(cols),
                torch.zeros_like(x),
                cols,
                cols,
                1e-5,
            ],  # fmt: skip
            _rows,
            lambda x: F.layer_norm(x, (cols,), eps=1e-5),
            output=3,
        ),
        "online softmax, loop carrying scalars": Form(
            forms.online_softmax,
            row | {"n_cols": "i32"},
            {"BLOCK": chunk},
            lambda x: [x, torch.zeros_like(x), cols],
            _rows,
            lambda x: torch.softmax(x, 1),
        ),
        "argmax of each row": Form(
            forms.row_argmax,
            {"x_ptr": "*fp32", "max_ptr": "*i32", "min_ptr": "*i32", "n_cols": "i32"},
            {"BLOCK": block},
            lambda x: [
                x,
                torch.zeros(x.shape[0], dtype=torch.int32),
                torch.zeros(x.shape[0], dtype=torch.int32),
                cols,
            ],  # fmt: skip
            _rows,
            lambda x: x.argmax(1).int(),
        ),
        "cumsum of each row": Form(
            forms.row_cumsum,
            row | {"n_rows": "i32", "n_cols": "i32"},
            {"BLOCK_M": 1, "BLOCK_N": block},
            lambda x: [x, torch.zeros_like(x), x.shape[0], cols],
            _rows,
            lambda x: x.cumsum(1),
        ),
        "GELU, f32": _gelu(torch.float32, "fp32"),
        "GELU, fp16 computed in f32": _gelu(torch.float16, "fp16"),
        "GELU, bf16 computed in f32": _gelu(torch.bfloat16, "bf16"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rows", type=int, default=64, help="rows of the input (default 64)")
    parser.add_argument("--cols", type=int, default=1024, help="columns (default 1024)")
    parser.add_argument("--only", help="run the forms whose name contains this text")
    args = parser.parse_args()
    if args.rows <= 0 or not 0 < args.cols <= 4096:
        parser.error("--rows must be positive and --cols between 1 and 4096")
    x = torch.randn(args.rows, args.cols, generator=torch.Generator().manual_seed(0))
    chosen = {n: f for n, f in forms_for(args.cols).items() if (args.only or "") in n}
    if not chosen:
        parser.error(f"no form's name contains {args.only!r}")
    print(f"{args.rows} rows x {args.cols} columns; cycles per level (xnpu.run, edge-npu)")
    print(
        f"{'form':42}" + "".join(f"{level:>13}" for level in LEVELS) + "  vec/scalar  max |error|"
    )
    for name, form in chosen.items():
        module = xnpu.from_triton(form.kernel, form.signature, form.constexprs)
        cycles, error = [], 0.0
        for level in LEVELS:
            launch = form.arguments(x)
            report = xnpu.run(xnpu.lower(module, level), *launch, grid=form.grid(x))
            cycles.append(report.cycles)
            got, want = launch[form.output].float(), form.want(x).float()
            error = max(error, (got.reshape(want.shape) - want).abs().max().item())
        row = "".join(f"{c:>13,.0f}" for c in cycles)
        print(f"{name:42}{row}  {cycles[0] / cycles[1]:>9.1f}x  {error:.2g}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
