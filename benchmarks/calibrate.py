"""
Fits the default machine model's unpublished parameters to the paper's figures and
prints the residuals.

    python benchmarks/calibrate.py [--machine edge-npu] [--write]

Each fitted parameter is pinned by the one published figure it moves most (FITTED);
the fit is a Newton iteration on the logarithms, every parameter stepping on its own
figure with a secant slope, and never leaving its physical range. Every other value
of the machine file (public figures, estimates nothing here constrains) stays as it
is. `--write` puts the fitted values into the machine file, whose comments say what
each is fitted to; the model itself has no per-kernel or per-level term.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from xnpu.bench.measure import BenchError
from xnpu.bench.output import Progress, table
from xnpu.bench.paper import compare, render, simulate
from xnpu.bench.published import FIGURES, Figure
from xnpu.machines import Machine, MachineError, load_machine


def _figure(kernel: str, level: str) -> Figure:
    return next(f for f in FIGURES if (f.kernel, f.level, f.over) == (kernel, level, None))


@dataclass(frozen=True)
class Fitted:
    key: str
    """The parameter, as section.name in the machine file."""
    figure: Figure
    """The published figure that pins it."""
    low: float
    high: float
    """Its physically meaningful range."""
    decimals: int


FITTED = (
    # a scalar load in a streaming loop: at best an L2 hit, at worst a full DDR miss
    Fitted("scalar.ddr_load", _figure("vector_add", "scalar"), 2, 300, 0),
    # one context's vector load from DDR, same range
    Fitted("vector.ddr_load", _figure("vector_add", "vec"), 2, 300, 0),
    # what the cores' own loads and stores sustain: at most DDR's bandwidth
    Fitted("ddr.core_bytes_per_cycle", _figure("vector_add", "vec+mt"), 0.5, 40, 2),
    # what DDR sustains for every transfer at once: from a tenth of the DMA engine's
    # ~40 GB/s peak up to it (tiles of 64 KiB leave per-descriptor setup no figure)
    Fitted("ddr.bytes_per_cycle", _figure("vector_add", "vec+mt+db"), 2, 40, 2),
    # erf on one vector: from a short polynomial to 32 lanes of a scalar routine
    Fitted("vector.erf", _figure("gelu", "vec"), 4, 1000, 0),
)


def residuals(machine: Machine, progress: Progress | None = None) -> tuple[dict, list[float]]:
    """Simulated µs of every run, and log(simulated / published) per fitted parameter."""
    microseconds = simulate(machine, progress)
    return microseconds, [
        math.log(f.figure.simulated(microseconds) / f.figure.value) for f in FITTED
    ]


def fit(machine: Machine, rounds: int = 12, quiet: bool = False) -> tuple[Machine, int]:
    """The machine with FITTED moved to reproduce their figures; and the evaluations used."""
    values = [max(machine.value(f.key), f.low) for f in FITTED]
    logs = [math.log(max(v, 1e-9)) for v in values]
    bounds = [(math.log(max(f.low, 1e-9)), math.log(f.high)) for f in FITTED]

    integral = [isinstance(machine.value(f.key), int) for f in FITTED]

    def at(log_values) -> Machine:
        return machine.with_values({
            f.key: round(math.exp(x)) if whole else math.exp(x)
            for f, x, whole in zip(FITTED, log_values, integral)
        })  # fmt: skip

    def note(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    _, current = residuals(at(logs))
    evaluations = 1
    slopes = []
    for i, f in enumerate(FITTED):  # d log(figure) / d log(parameter), one parameter at a time
        nudged = list(logs)
        nudged[i] += 0.1
        _, moved = residuals(at(nudged))
        evaluations += 1
        slopes.append((moved[i] - current[i]) / 0.1)
        note(f"  slope of {f.figure.name} in {f.key}: {slopes[-1]:+.3f}")
        if abs(slopes[-1]) < 0.02:
            raise BenchError(
                f"{f.key} does not move {f.figure.name} from {values[i]:g}: nothing to fit it by"
            )
    frozen = [False] * len(FITTED)
    for round_ in range(rounds):
        worst = max((abs(r) for r, done in zip(current, frozen) if not done), default=0.0)
        note(f"  round {round_}: worst residual of the parameters still moving {100 * worst:.2f}%")
        if worst < 0.002:
            break
        previous_logs, previous = list(logs), list(current)
        for i in range(len(FITTED)):
            if not frozen[i]:
                step = max(-1.0, min(1.0, -current[i] / slopes[i]))
                logs[i] = min(max(logs[i] + step, bounds[i][0]), bounds[i][1])
        _, current = residuals(at(logs))
        evaluations += 1
        for i, f in enumerate(FITTED):
            moved = logs[i] - previous_logs[i]
            if frozen[i] or abs(moved) < 0.005:  # too small a move to measure a slope by
                continue
            secant = (current[i] - previous[i]) / moved
            if abs(secant) < 0.02:  # past a kink: the parameter no longer moves its figure
                note(
                    f"  {f.key} stopped moving {f.figure.name}; kept at {math.exp(previous_logs[i]):g}"
                )
                logs[i], frozen[i] = previous_logs[i], True
            elif secant * slopes[i] > 0:
                slopes[i] = secant
    fitted = {f.key: round(math.exp(x), f.decimals or None) for f, x in zip(FITTED, logs)}
    return machine.with_values(fitted), evaluations


def write_values(path: Path, values: dict[str, float]) -> None:
    """Replaces the fitted values in the machine file, keeping every comment; each
    replaced line must already say it is fitted."""
    lines = path.read_text().splitlines(keepends=True)
    section = None
    for number, line in enumerate(lines):
        header = re.match(r"\s*\[(\w+)\]", line)
        if header:
            section = header.group(1)
            continue
        assignment = re.match(r"(\s*)(\w+)(\s*=\s*)([^#\s]+)\s*(#.*)?$", line.rstrip("\n"))
        if not assignment or f"{section}.{assignment.group(2)}" not in values:
            continue
        key = f"{section}.{assignment.group(2)}"
        comment = assignment.group(5) or ""
        if "fitted" not in comment:
            raise SystemExit(
                f"{path}:{number + 1}: {key} is fitted, but its comment does not say so: {line.strip()}"
            )
        indent, name, equals = assignment.group(1, 2, 3)
        prefix = f"{indent}{name}{equals}{values[key]:g}"
        column = line.index("#")  # the comment stays where it was
        lines[number] = f"{prefix.ljust(column - 1)} {comment}\n"
    path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--machine", default="edge-npu", help="machine name or .toml path (default edge-npu)"
    )
    parser.add_argument(
        "--write", action="store_true", help="write the fitted values into the machine file"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        machine = load_machine(args.machine)
        print(
            f"fitting {len(FITTED)} parameters of {machine.source} to {len(FIGURES)} published figures"
        )
        fitted, evaluations = fit(machine, quiet=args.quiet)
        microseconds, _ = residuals(fitted)
    except (BenchError, MachineError) as error:
        raise SystemExit(f"calibrate: {error}") from None
    rows = []
    for f in FITTED:
        value = fitted.value(f.key)
        at_bound = " (at its bound)" if value <= f.low or value >= f.high else ""
        rows.append(
            [
                f.key,
                f"{machine.value(f.key):g}",
                f"{value:g}{at_bound}",
                f"{f.low:g}..{f.high:g}",
                f.figure.name,
            ]
        )
    print(table(["parameter", "was", "fitted", "physical range", "pinned by"], rows))
    print()
    print(render(compare(microseconds, fitted)))
    if args.write:
        write_values(Path(machine.source), {f.key: fitted.value(f.key) for f in FITTED})
        print(f"wrote the fitted values into {machine.source}")
    print(
        f"{evaluations + 1} evaluations of the ladder; wall time {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
