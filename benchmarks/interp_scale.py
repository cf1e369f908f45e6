"""
How xnpu's interpreter scales: GELU at growing sizes, and a grid of many small programs.

    python benchmarks/interp_scale.py [--level vec+mt+db] [--sizes 1M,16M,64M]
                                      [--programs 100000] [--block 16]

Each case runs in a fresh Python process (so its peak memory is its own): GELU
(BLOCK 1024) on each size, then GELU with a small BLOCK on a grid of `--programs`
programs. Prints the wall time of `xnpu.run` (lowering excluded), the process's peak
resident memory, the simulated cycles, and whether the output matches PyTorch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "0")

SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = SUFFIXES.get(text[-1:], 1)
    return int(text[:-1] if scale > 1 else text) * scale


def _case(level: str, elements: int, block: int) -> dict:
    """One run in this process: GELU on `elements` with `block` elements a program."""
    import numpy as np

    import xnpu
    from xnpu.kernels import corpus_kernel

    kernel = corpus_kernel("gelu")
    constexprs = kernel.constexprs | {"BLOCK_SIZE": block}
    grid = ((elements + block - 1) // block,)
    programs = grid[0]
    options = {"programs": programs} if "mt" in level else {}
    module = xnpu.lower(
        xnpu.from_triton(kernel.kernel, kernel.signature, constexprs), level, **options
    )
    x = np.random.default_rng(0).standard_normal(elements).astype(np.float32)
    out = np.zeros_like(x)
    start = time.perf_counter()
    report = xnpu.run(module, x, out, elements, grid=grid)
    seconds = time.perf_counter() - start
    sample = slice(0, min(elements, 1 << 16))  # checked against Python's own erf
    expected = 0.5 * x[sample] * (1 + np.vectorize(math.erf)(x[sample] / np.sqrt(2)))
    return {
        "seconds": seconds,
        "cycles": report.cycles,
        "programs": programs,
        "matches": bool(np.allclose(out[sample], expected, rtol=1e-4, atol=1e-5)),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
    }


def run_in_a_fresh_process(level: str, elements: int, block: int) -> dict:
    command = [sys.executable, __file__, "--case", level, str(elements), str(block)]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"the case {level} {elements} {block} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--level", default="vec+mt+db", help="ladder level (default vec+mt+db)")
    parser.add_argument("--sizes", default="1M,16M,64M", help="GELU sizes (K, M suffixes)")
    parser.add_argument("--programs", type=int, default=100_000, help="programs of the grid case")
    parser.add_argument("--block", type=int, default=16, help="elements a program, grid case")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)  # a child's one run
    args = parser.parse_args()
    if args.case:
        level, elements, block = args.case
        print(json.dumps(_case(level, int(elements), int(block))))
        return
    cases = [(parse_size(size), 1024) for size in args.sizes.split(",")]
    cases.append((args.programs * args.block, args.block))
    print(f"GELU at {args.level}, one fresh process a case (peak: its resident memory)")
    print(f"  {'elements':>12} {'BLOCK':>6} {'programs':>9} {'run':>9} {'peak':>10} "
          f"{'simulated cycles':>18}  output")  # fmt: skip
    for elements, block in cases:
        result = run_in_a_fresh_process(args.level, elements, block)
        print(
            f"  {elements:>12,} {block:>6} {result['programs']:>9,} {result['seconds']:8.2f}s "
            f"{result['peak_mib']:7.0f} MiB {result['cycles']:>18,.0f}  "
            f"{'matches PyTorch' if result['matches'] else 'WRONG'}"
        )


if __name__ == "__main__":
    main()
