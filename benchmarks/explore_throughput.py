"""
The explorer's throughput against the plain loop, in one run: the same sweep points
(every k-th of a spec's, spread over its kernels and sizes) measured one by one in a loop in this process, then by
`xnpu-bench explore`'s engine on Ray (all cores), then by its in-process engine, each
writing to a fresh store. Every point's cycles must agree across the three.

    python benchmarks/explore_throughput.py [--spec benchmarks/sweeps/what_if.toml]
        [--points 240] [--jobs N]

Each way starts cold (no kernel compiled yet in that process or its workers).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from xnpu.bench.engine import Engine, evaluate
from xnpu.bench.explore import run_sweep
from xnpu.bench.measure import BenchError
from xnpu.bench.mt_scaling import parse_sizes
from xnpu.bench.output import table
from xnpu.bench.store import ResultStore
from xnpu.bench.sweep import load_spec

SPEC = Path(__file__).parent / "sweeps" / "what_if.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help=f"the sweep (default {SPEC})")
    parser.add_argument("--points", type=int, default=240, help="points to time (default 240)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="Ray's cores")
    args = parser.parse_args()
    try:
        spec = load_spec(args.spec, parse_sizes)
        everything = spec.points()
    except BenchError as error:
        raise SystemExit(f"explore_throughput: {error}") from None
    points = everything[:: max(1, len(everything) // args.points)][: args.points]
    print(f"{len(points)} points of {args.spec.name} ({spec.name}), on {os.cpu_count()} cores",
          file=sys.stderr)  # fmt: skip

    started = time.perf_counter()
    loop = {}
    for point in points:  # the plain loop: one point after the other, nothing stored
        (row,) = evaluate([point], spec.machine, spec.name)
        loop[row["id"]] = row.get("cycles")
    loop_seconds = time.perf_counter() - started

    timings = [("loop, one by one", loop_seconds, loop_seconds)]
    with tempfile.TemporaryDirectory() as scratch:
        for name, backend, jobs in (("explore on Ray", "ray", args.jobs),
                                    ("explore in-process", "local", None)):  # fmt: skip
            started = time.perf_counter()
            with (
                Engine(backend, jobs=jobs) as engine,
                ResultStore(Path(scratch) / f"{backend}.duckdb") as store,
            ):
                ready = time.perf_counter()
                run_sweep(spec, store, engine, points=points)
                finished = time.perf_counter()
                stored = dict(store.query("SELECT id, cycles FROM points")[1])
            if stored != loop:
                raise SystemExit(f"explore_throughput: {name} disagrees with the loop")
            timings.append((name, finished - started, finished - ready))

    rows = [
        [name, f"{total:.1f}", f"{len(points) / total:.1f}", f"{len(points) / running:.1f}",
         f"{loop_seconds / total:.2f}x"]
        for name, total, running in timings
    ]  # fmt: skip
    print(table(["way", "wall s", "points/s", "points/s after start-up", "vs the loop"], rows))
    print("every point's cycles agree across the three")


if __name__ == "__main__":
    main()
