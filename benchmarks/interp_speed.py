"""
How fast xnpu interprets a kernel, beside Triton's own interpreter, in one process.

    python benchmarks/interp_speed.py [--elements 1048576] [--repeat 3]

Runs GELU (BLOCK 1024) through xnpu at every level of the ladder (executing and
counting cycles) and through Triton's interpreter (the InterpretedFunction that
TRITON_INTERPRET=1 puts behind @triton.jit; it counts nothing), in one process. Each
runs once to warm up, then `--repeat` times; the best time counts. Every output is
checked against PyTorch. Prints elements per second and the ratio xnpu / Triton for
each level.
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
from xnpu.transforms.pipelines import LEVELS  # noqa: E402


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

    tt = kernel.to_tt()
    runs = []
    for level in LEVELS:
        lowered = xnpu.lower(tt, level)
        case = make_case("gelu", n)
        reports = []

        def run_level(lowered=lowered, case=case, reports=reports):
            reports.append(xnpu.run(lowered, *case.args, grid=case.grid))

        seconds = best_time(run_level, args.repeat)
        assert not case.mismatches(), (level, case.mismatches())
        runs.append((level, seconds, reports[-1].cycles))

    triton_case = make_case("gelu", n)
    interpreted = InterpretedFunction(kernel.kernel.fn)
    grid = triton_case.grid

    def triton_run():
        interpreted[grid](*triton_case.args, BLOCK_SIZE=block)

    triton_seconds = best_time(triton_run, args.repeat)
    assert not triton_case.mismatches(), triton_case.mismatches()

    triton_rate = n / triton_seconds
    print(f"GELU, {n:,} fp32 elements, BLOCK {block}, best of {args.repeat}")
    print(f"  {'':22} {'wall':>8}  {'elements/s':>14}  {'xnpu / Triton':>13}  simulated cycles")
    for level, seconds, simulated in runs:
        rate = n / seconds
        print(
            f"  xnpu {level:<17} {seconds:7.3f}s  {rate / 1e6:10.2f} M/s  {rate / triton_rate:12.2f}x"
            f"  {simulated:,.0f}"
        )
    print(f"  {'Triton interpreter':<22} {triton_seconds:7.3f}s  {triton_rate / 1e6:10.2f} M/s")
    slowest = min(n / seconds for _, seconds, _ in runs)
    print(f"  slowest level / Triton: {slowest / triton_rate:.2f}x")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
