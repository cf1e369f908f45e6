"""
A row stride known only at run time against the same stride as a constexpr, side by
side at every level of the ladder.

    python benchmarks/runtime_strides.py [--rows 1024] [--cols 1000] [--stride 1024]

Both kernels compute `out[r, c] = 2 x[r, c] + 1` over 8-row blocks, as Triton's
tutorials index them (`rows * stride + cols`). With the stride an argument, the rows
still move as 2-D copies whose DDR stride is that argument, so the cycles should match
the constexpr kernel's at every level. Prints both, their ratio, and whether the
outputs are equal.
"""

from __future__ import annotations

import argparse

import torch
import triton
import triton.language as tl

import xnpu
from xnpu.transforms.pipelines import LEVELS


@triton.jit
def runtime_stride(
    x_ptr, out_ptr, n_rows, n_cols, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr
):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * stride + cols, mask=mask, other=0.0)
    tl.store(out_ptr + rows * stride + cols, x * 2.0 + 1.0, mask=mask)


@triton.jit
def constexpr_stride(
    x_ptr,
    out_ptr,
    n_rows,
    n_cols,
    STRIDE: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * STRIDE + cols, mask=mask, other=0.0)
    tl.store(out_ptr + rows * STRIDE + cols, x * 2.0 + 1.0, mask=mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--cols", type=int, default=1000, help="columns used (at most 1024)")
    parser.add_argument("--stride", type=int, default=1024, help="elements between rows")
    args = parser.parse_args()
    if not 0 < args.cols <= min(args.stride, 1024) or args.rows <= 0:
        parser.error("need 0 < cols <= min(stride, 1024) and rows > 0")
    signature = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_rows": "i32", "n_cols": "i32"}
    blocks = {"BLOCK_M": 8, "BLOCK_N": 1024}
    runtime = xnpu.from_triton(runtime_stride, signature | {"stride": "i32"}, blocks)
    constant = xnpu.from_triton(constexpr_stride, signature, blocks | {"STRIDE": args.stride})
    grid = (-(-args.rows // 8),)
    x = torch.randn(args.rows, args.stride)
    print(f"{'level':10s} {'runtime stride':>16s} {'constexpr stride':>18s} {'ratio':>7s}  equal")
    for level in LEVELS:
        options = {"programs": grid[0]} if "mt" in level else {}
        a, b = torch.zeros_like(x), torch.zeros_like(x)
        shape = (args.rows, args.cols)
        runtime_cycles = xnpu.run(
            xnpu.lower(runtime, level, **options), x, a, *shape, args.stride, grid=grid
        ).cycles
        constant_cycles = xnpu.run(
            xnpu.lower(constant, level, **options), x, b, *shape, grid=grid
        ).cycles
        ratio = runtime_cycles / constant_cycles
        print(
            f"{level:10s} {runtime_cycles:16,.0f} {constant_cycles:18,.0f} {ratio:7.4f}  "
            f"{torch.equal(a, b)}"
        )


if __name__ == "__main__":
    main()
