"""
The explorer's throughput against the plain loop, in one run: the same sweep points
(every k-th of a spec's, spread over its kernels and sizes) measured one by one in a loop in this process, then by
`xnpu-bench explore`'s engine on Ray (all cores), then by its in-process engine, each
writing to a fresh store. Every point's cycles must agree across the three.

    python benchmarks/explore_throughput.py [--spec benchmarks/sweeps/what_if.toml]
        [--points 720] [--jobs N]

Each way runs in a fresh process, so each starts cold: no kernel compiled yet in that
process or its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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


WAYS = {
    "loop": "loop, one by one",
    "local": "explore in-process",
    "ray": "explore on Ray",
}
"""In the order they run: Ray last, so that its processes, which take a while to exit
after it shuts down, take no core from another way."""


def time_one_way(way: str, points, spec, jobs: int) -> dict:
    """One way's wall time (whole, and after its engine started) and each point's cycles."""
    started = time.perf_counter()
    if way == "loop":  # the plain loop: one point after the other, nothing stored
        cycles = {}
        for point in points:
            (row,) = evaluate([point], spec.machine, spec.name)
            cycles[row["id"]] = row.get("cycles")
        finished = time.perf_counter()
        return {"total": finished - started, "running": finished - started, "cycles": cycles}
    with tempfile.TemporaryDirectory() as scratch:
        with (
            Engine(way, jobs=jobs if way == "ray" else None) as engine,
            ResultStore(Path(scratch) / "store.duckdb") as store,
        ):
            ready = time.perf_counter()
            run_sweep(spec, store, engine, points=points)
            finished = time.perf_counter()
            cycles = dict(store.query("SELECT id, cycles FROM points")[1])
    return {"total": finished - started, "running": finished - ready, "cycles": cycles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help=f"the sweep (default {SPEC})")
    parser.add_argument("--points", type=int, default=720, help="points to time (default 720)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="Ray's cores")
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)  # one way, in a child
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        spec = load_spec(args.spec, parse_sizes)
        everything = spec.points()
    except BenchError as error:
        raise SystemExit(f"explore_throughput: {error}") from None
    points = everything[:: max(1, len(everything) // args.points)][: args.points]
    if args.way:
        args.out.write_text(json.dumps(time_one_way(args.way, points, spec, args.jobs)))
        return
    print(f"{len(points)} points of {args.spec.name} ({spec.name}), on {os.cpu_count()} cores; "
          "each way in a fresh process", file=sys.stderr)  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for way in WAYS:
            out = Path(scratch) / f"{way}.json"
            command = [sys.executable, __file__, "--spec", str(args.spec), "--points",
                       str(args.points), "--jobs", str(args.jobs), "--way", way, "--out", str(out)]  # fmt: skip
            subprocess.run(command, check=True)
            results[way] = json.loads(out.read_text())
    for way, result in results.items():
        if result["cycles"] != results["loop"]["cycles"]:
            raise SystemExit(f"explore_throughput: {WAYS[way]} disagrees with the loop")
    loop = results["loop"]["total"]
    rows = [
        [WAYS[way], f"{r['total']:.1f}", f"{len(points) / r['total']:.1f}",
         f"{len(points) / r['running']:.1f}", f"{loop / r['total']:.2f}x"]
        for way, r in results.items()
    ]  # fmt: skip
    print(table(["way", "wall s", "points/s", "points/s after start-up", "vs the loop"], rows))
    print("every point's cycles agree across the three")


if __name__ == "__main__":
    main()
