"""
How fast xnpu interprets a kernel, beside Triton's own interpreter, in one process.

    python benchmarks/interp_speed.py [--elements 1048576] [--repeat 3]

Runs GELU (BLOCK 1024) through xnpu's scalar level (executing and counting cycles)
and through Triton's interpreter (the InterpretedFunction that TRITON_INTERPRET=1
puts behind @triton.jit; it counts nothing). Each side runs once to warm up, then
`--repeat` times; the best time counts. Both outputs are checked against PyTorch.
Prints elements per second for both and their ratio (xnpu / Triton).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "0")

import torch  # noqa: E402
from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

import xnpu  # noqa: E402
from xnpu.kernels import corpus_kernel  # noqa: E402
from xnpu.kernels.cases import make_case  # noqa: E402


def best_time(run, repeat: int) -> float:
    run()  # warm-up: imports, first-call set-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 20, help="GELU input size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (best counts)")
    args = parser.parse_args()
    n = args.elements
    kernel = corpus_kernel("gelu")
    block = kernel.constexprs["BLOCK_SIZE"]

    lowered = xnpu.lower(kernel.to_tt(), "scalar")
    case = make_case("gelu", n)
    reports = []
    xnpu_seconds = best_time(lambda: reports.append(xnpu.run(lowered, *case.args, grid=case.grid)), args.repeat)
    assert not case.mismatches(), case.mismatches()

    triton_case = make_case("gelu", n)
    interpreted = InterpretedFunction(kernel.kernel.fn)
    grid = triton_case.grid

    def triton_run():
        interpreted[grid](*triton_case.args, BLOCK_SIZE=block)

    triton_seconds = best_time(triton_run, args.repeat)
    assert not triton_case.mismatches(), triton_case.mismatches()

    xnpu_rate, triton_rate = n / xnpu_seconds, n / triton_seconds
    print(f"GELU, {n:,} fp32 elements, BLOCK {block}, best of {args.repeat}")
    print(f"  xnpu scalar level   {xnpu_seconds:8.3f} s  {xnpu_rate / 1e6:8.2f} M elements/s"
          f"  ({reports[-1].cycles:,.0f} simulated cycles)")  # fmt: skip
    print(f"  Triton interpreter  {triton_seconds:8.3f} s  {triton_rate / 1e6:8.2f} M elements/s")
    print(f"  ratio (xnpu / Triton): {xnpu_rate / triton_rate:.2f}x")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
