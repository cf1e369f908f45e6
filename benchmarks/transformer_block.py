"""
A small transformer block through torch.compile(backend="xnpu"), every kernel on the
NPU: the per-kernel table (cycles, share of the total, roofline fraction) that
docs/results.md shows.

    python benchmarks/transformer_block.py                      # 64 tokens x 128 dims, vec+mt+db
    python benchmarks/transformer_block.py --tokens 128 --dims 256 --level vec

The block (xnpu.kernels.transformer): layer norm, causal self-attention of 2 heads
(PyTorch's decomposition: q k^T, mask, softmax, @ v), residual, layer norm, GELU MLP,
residual, in fp16. Each kernel's roofline is the ladder's: its DDR bytes at DDR's
bandwidth, its vector work over the vector units, or its multiply-accumulates at the
matrix unit's peak, whichever is longest.
"""

from __future__ import annotations

import argparse
import time

import torch

import xnpu
from xnpu.bench.measure import Roofline
from xnpu.kernels.transformer import block_inputs, transformer_block
from xnpu.machines import load_machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--level", default="vec+mt+db")
    args = parser.parse_args()
    machine = load_machine()
    inputs = block_inputs(args.tokens, args.dims)
    started = time.perf_counter()
    compiled = torch.compile(transformer_block, backend="xnpu", options={"level": args.level})
    result = compiled(*inputs)
    wall = time.perf_counter() - started
    session = xnpu.last_report()
    want = transformer_block(*(a.float() for a in inputs))
    error = float((result.float() - want).abs().max())
    print(
        f"transformer block, {args.tokens} tokens x {args.dims} dims, fp16, {args.level}, "
        f"machine {machine.name}: compiled and run in {wall:.1f} s; max abs error "
        f"{error:.3g} against fp32 eager; ATen operators on the host: "
        f"{', '.join(session.host_ops) or 'none'}"
    )
    total = session.cycles
    print("| kernel | grid | cycles | share | matrix unit busy | bound | roofline |")
    print("|---|---|---:|---:|---:|---|---:|")
    for launch in session.launches:
        report = launch.report
        roofline = Roofline.of(report, machine)
        grid = "x".join(map(str, report.grid))
        print(
            f"| {launch.kernel} | {grid} | {report.cycles:,.0f} | "
            f"{100 * report.cycles / total:.1f}% | {report.matrix_cycles:,.0f} | "
            f"{roofline.bound} | {100 * roofline.fraction(report.cycles):.1f}% |"
        )
    print(
        f"| total ({len(session.launches)} kernels, one after another) | | {total:,.0f} | 100% | | | |"
    )


if __name__ == "__main__":
    main()
