"""
Everyday PyTorch functions through `torch.compile(backend="xnpu")` at every level:
kernels, operators left on the host, simulated cycles per rung and vec/scalar, as the
markdown table in docs/results.md ("Everyday PyTorch functions").

    python benchmarks/everyday.py [--names normalize embedding ...]

Each function is compiled once and run under an `xnpu.session(level=...)` per rung;
every result is checked against eager PyTorch (the script fails on a mismatch).
"""

from __future__ import annotations

import argparse
import sys

import torch

import xnpu
from xnpu.kernels.everyday import EVERYDAY
from xnpu.transforms.pipelines import LEVELS


def ladder(name: str) -> dict:
    function, args = EVERYDAY[name]
    torch._dynamo.reset()
    compiled = torch.compile(function, backend="xnpu")
    want = function(*args)
    row = {"name": name, "cycles": {}}
    for level in LEVELS:
        with xnpu.session(level=level) as launches:
            got = compiled(*args)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
        row["cycles"][level] = launches.cycles
        row["kernels"] = len(launches.launches)
        row["host"] = [x.kernel for x in launches.launches if x.report is None] + launches.host_ops
        row["scalar work"] = len(launches.scalar_work)
    return row


def table(rows: list[dict]) -> str:
    head = ["function", "kernels", "host ops", *LEVELS, "vec/scalar", "places left scalar"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cycles = row["cycles"]
        cells = [row["name"], str(row["kernels"]), ", ".join(row["host"]) or "none",
                 *(f"{cycles[level]:,.0f}" for level in LEVELS),
                 f"{cycles['vec'] / cycles['scalar']:.3f}", str(row["scalar work"])]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--names", nargs="+", choices=list(EVERYDAY), default=list(EVERYDAY),
                        metavar="NAME", help=f"functions to run (default all: {', '.join(EVERYDAY)})")  # fmt: skip
    arguments = parser.parse_args()
    rows = []
    for name in arguments.names:
        print(f"{name}...", file=sys.stderr)
        rows.append(ladder(name))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
