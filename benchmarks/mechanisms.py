"""
What each mechanism buys on a machine model: the ladder for vector_add and GELU, plus
the DB variants (one buffer; synchronous write-back), with the checks issue 4 asks for.

    python benchmarks/mechanisms.py [--elements 1048576] [--machine edge-npu]

Every run is compared with PyTorch first. Prints simulated µs per variant, DMA busy
time and DMA/compute overlap, then whether cycles strictly fall scalar > vec > vec+mt,
vec+mt+db is no slower than vec+mt, and async write-back is no slower than sync.
"""

from __future__ import annotations

import argparse
import time

import xnpu
from xnpu.kernels import corpus_kernel
from xnpu.kernels.cases import make_case

VARIANTS = [
    ("scalar", {}),
    ("vec", {}),
    ("vec+mt", {}),
    ("vec+mt+db", {"buffers": 1}),
    ("vec+mt+db", {"writeback": "sync"}),
    ("vec+mt+db", {}),
]


def measure(name: str, n: int, machine: str) -> dict[str, float]:
    tt = corpus_kernel(name).to_tt()
    cycles = {}
    print(f"{name}, {n:,} fp32 elements, machine {machine}")
    print(f"  {'level':<26} {'µs':>12} {'DMA busy µs':>12} {'overlap µs':>11}")
    for level, options in VARIANTS:
        case = make_case(name, n)
        report = xnpu.run(xnpu.lower(tt, level, machine, **options), *case.args, grid=case.grid, machine=machine)
        if case.mismatches():
            raise SystemExit(f"{name} at {level} {options}: wrong output: {case.mismatches()[:3]}")
        label = level + "".join(f" {k}={v}" for k, v in options.items())
        cycles[label] = report.cycles
        us = report.clock_mhz
        print(f"  {label:<26} {report.microseconds:12,.1f} {report.dma_busy / us:12,.1f} "
              f"{report.overlap_cycles / us:11,.1f}")  # fmt: skip
    return cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 20)
    parser.add_argument("--machine", default="edge-npu")
    args = parser.parse_args()
    start = time.perf_counter()
    for name in ("vector_add", "gelu"):
        c = measure(name, args.elements, args.machine)
        checks = {
            "scalar > vec > vec+mt": c["scalar"] > c["vec"] > c["vec+mt"],
            "vec+mt+db <= vec+mt": c["vec+mt+db"] <= c["vec+mt"],
            "async write-back <= sync": c["vec+mt+db"] <= c["vec+mt+db writeback=sync"],
        }
        for what, holds in checks.items():
            print(f"  {'ok  ' if holds else 'FAIL'} {what}")
    print(f"wall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
