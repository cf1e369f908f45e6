"""
Fits the machine model's free parameters jointly to every published figure of both
papers, and says how far the fit can be trusted.

    python benchmarks/calibrate.py [--machine edge-npu] [--write] [--no-loo] [--quiet]

* Parameters. A value the machine file marks `# fitted in LOW..HIGH: why` is free within
  that range (its public source is on the line); a value marked `# fitted as KEY` moves
  with KEY (one physical quantity priced in two places). Every other value stays.
* Figures. Every published figure (bench/published.py) except the speedups that are
  ratios of two published times: those are no measurement of their own.
* Fit. Least squares on log(simulated / published), bounded (scipy's trust-region
  reflective method), from the values in the file. A parameter that moves no figure is
  "not constrained by the figures" and keeps its value.
* Report. Each figure's residual; the degrees of freedom (figures - free parameters);
  each parameter's uncertainty from the Jacobian at the optimum, or "not constrained";
  the parameters that end at a bound; and each figure's leave-one-figure-out
  prediction: the figure predicted by a fit that did not see it (a derived speedup by a
  fit that saw neither of its times), in which a parameter only the left-out figure
  moved takes the middle of its sourced range.

`--write` puts the fitted values into the machine file, keeping every comment.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from xnpu.bench.engine import Engine
from xnpu.bench.measure import BenchError
from xnpu.bench.output import table
from xnpu.bench.paper import compare, render, simulate
from xnpu.bench.published import FIGURES, TOLERANCE, Figure, derived_from, independent
from xnpu.machines import Machine, MachineError, load_machine

LOO_LIMIT = 0.25
"""A leave-one-out prediction further off than this is reported as a miss."""

OUT_OF_REACH = 3.0
"""The residual (a factor e^3) of parameter values no machine file could hold, so the
fit turns back from them."""

AT_BOUND = 1.02
"""A fitted value within 2% of an end of its range has ended at that bound."""

NO_EFFECT = 0.01
"""A parameter that moves no figure by 1% of its own relative change is not
constrained by the figures."""


@dataclass(frozen=True)
class Parameter:
    key: str
    """The value in the machine file, as section.name."""
    low: float
    high: float
    why: str
    """The comment that sources the range."""
    tied: tuple[str, ...] = ()
    """Other values that are the same quantity and move with it."""


FITTED_RANGE = re.compile(r"fitted in ([0-9.e+]+)\.\.([0-9.e+]+):\s*(.*)")
FITTED_AS = re.compile(r"fitted as ([a-z_]+\.[a-z_]+)")


def fitted_parameters(path: Path) -> list[Parameter]:
    """The free parameters the machine file declares (see the module docstring)."""
    found: dict[str, Parameter] = {}
    tied: dict[str, list[str]] = {}
    section = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        header = re.match(r"\s*\[(\w+)\]", line)
        if header:
            section = header.group(1)
            continue
        assignment = re.match(r"\s*(\w+)\s*=\s*[^#]+#\s*(.*)$", line)
        if not assignment or "fitted" not in assignment.group(2).split(":")[0]:
            continue
        key, comment = f"{section}.{assignment.group(1)}", assignment.group(2)
        if match := FITTED_RANGE.match(comment):
            low, high = float(match.group(1)), float(match.group(2))
            if not 0 < low < high:
                raise MachineError(f"{path}:{number}: {key}: the range {low:g}..{high:g} is empty")
            found[key] = Parameter(key, low, high, match.group(3))
        elif match := FITTED_AS.match(comment):
            tied.setdefault(match.group(1), []).append(key)
        else:
            raise MachineError(
                f"{path}:{number}: {key} says it is fitted but gives no range: write "
                f"'# fitted in LOW..HIGH: source' or '# fitted as section.name'"
            )
    for leader, followers in tied.items():
        if leader not in found:
            raise MachineError(f"{path}: {', '.join(followers)} fitted as {leader}, not fitted")
        p = found[leader]
        found[leader] = Parameter(p.key, p.low, p.high, p.why, tuple(followers))
    return list(found.values())


def _values_at(machine: Machine, keys: list[tuple[str, ...]], logs) -> dict[str, float]:
    """Machine values for the parameters' logs (each key group takes one value)."""
    values = {}
    for group, x in zip(keys, logs):
        whole = isinstance(machine.value(group[0]), int)
        values.update(dict.fromkeys(group, round(math.exp(x)) if whole else float(math.exp(x))))
    return values


def _simulated_in_worker(point, source: str, keys: list[tuple[str, ...]], logs):
    """One evaluation on an engine's worker: (point, its figures), the figures None for
    values no machine file could hold."""
    machine = load_machine(source)
    try:
        return point, simulate(machine.with_values(_values_at(machine, keys, logs)))
    except MachineError:
        return point, None


class Model:
    """The figures as functions of the free parameters' logarithms; given an engine
    (xnpu-bench explore's: Ray on this machine's cores or a cluster), the evaluations a
    finite-difference Jacobian needs run side by side on it."""

    def __init__(
        self,
        machine: Machine,
        parameters: list[Parameter],
        quiet: bool = False,
        engine: Engine | None = None,
    ):
        self.machine = machine
        self.parameters = parameters
        self.keys = [(p.key, *p.tied) for p in parameters]
        self.start = np.array([math.log(machine.value(p.key)) for p in parameters])
        self.quiet = quiet
        self.evaluations = 0
        self.cache: dict[tuple, dict | None] = {}
        self.engine = engine

    def machine_at(self, logs) -> Machine:
        return self.machine.with_values(_values_at(self.machine, self.keys, logs))

    @staticmethod
    def _key(logs) -> tuple:
        return tuple(np.round(logs, 12))

    def prefetch(self, points) -> None:
        """Evaluates the points not evaluated yet, side by side when there is an engine."""
        missing = list({self._key(p): p for p in points if self._key(p) not in self.cache}.items())
        if self.engine is None or len(missing) < 2:
            return
        tasks = [(key, self.machine.source, self.keys, logs) for key, logs in missing]
        for key, figures in self.engine.run(_simulated_in_worker, tasks):
            self.cache[key] = figures
            self.evaluations += 1

    def microseconds(self, logs) -> dict:
        key = self._key(logs)
        if key not in self.cache:
            self.evaluations += 1
            try:
                self.cache[key] = simulate(self.machine_at(logs))
            except MachineError:
                self.cache[key] = None
        if self.cache[key] is None:
            raise MachineError(f"{self.machine.source}: values no machine file can hold")
        return self.cache[key]

    def jacobian(self, logs, figures: list[Figure], free: list[int], step: float = 0.03):
        """d residual / d log(parameter) of the `free` parameters, forward differences."""
        nudged = []
        for i in free:
            point = logs.copy()
            point[i] += step
            nudged.append(point)
        self.prefetch([logs, *nudged])
        base = self.residuals(logs, figures)
        return np.array([(self.residuals(p, figures) - base) / step for p in nudged]).T

    def residuals(self, logs, figures: list[Figure]) -> np.ndarray:
        try:
            times = self.microseconds(logs)
        except MachineError:  # values the machine file could not hold (core path > DDR)
            return np.full(len(figures), OUT_OF_REACH)
        found = np.array([math.log(f.simulated(times) / f.value) for f in figures])
        if not self.quiet:
            worst = np.max(np.abs(found)) if len(found) else 0.0
            print(
                f"  evaluation {self.evaluations}: worst residual {100 * worst:.1f}%",
                file=sys.stderr,
                flush=True,
            )
        return found

    def fit(self, figures: list[Figure], free: list[int], start=None, evaluations: int = 40):
        """The logs of all parameters with `free` fitted to `figures` (from `start`),
        and the Jacobian at the optimum (figures x free)."""
        logs = np.array(self.start if start is None else start, dtype=float)

        def at(x):
            trial = logs.copy()
            trial[free] = x
            return trial

        low = np.array([math.log(self.parameters[i].low) for i in free])
        high = np.array([math.log(self.parameters[i].high) for i in free])
        x0 = np.clip(logs[free], low + 1e-6, high - 1e-6)
        result = least_squares(
            lambda x: self.residuals(at(x), figures), x0,
            jac=lambda x: self.jacobian(at(x), figures, free), bounds=(low, high),
            x_scale=1.0, xtol=1e-3, ftol=1e-3, method="trf", max_nfev=evaluations,
        )  # fmt: skip
        logs[free] = result.x
        return logs, result.jac

    def moves(self, logs, figures: list[Figure]) -> np.ndarray:
        """How far each parameter moves each figure, d log(figure) / d log(parameter)
        for a 10% step (figures x parameters)."""
        return self.jacobian(logs, figures, list(range(len(self.parameters))), step=0.1)


@dataclass
class Calibration:
    parameters: list[Parameter]
    before: Machine
    fitted: Machine
    figures: list[Figure]
    """The figures fitted (the independent ones)."""
    constrained: list[bool]
    uncertainty: list[float]
    """One standard deviation of each parameter's log (nan: not constrained)."""
    leave_one_out: dict[str, float]
    """Figure name -> the value a fit without it predicts."""
    microseconds: dict
    evaluations: int


def calibrate(
    machine: Machine, loo: bool = True, quiet: bool = False, engine: Engine | None = None
) -> Calibration:
    parameters = fitted_parameters(Path(machine.source))
    if not parameters:
        raise BenchError(f"{machine.source} marks no value as fitted: nothing to calibrate")
    return _calibrate(Model(machine, parameters, quiet, engine), loo)


def _calibrate(model: Model, loo: bool) -> Calibration:
    machine, parameters = model.machine, model.parameters
    figures = independent()
    moves = np.abs(model.moves(model.start, figures)).max(axis=0)
    constrained = [bool(m >= NO_EFFECT) for m in moves]
    free = [i for i, c in enumerate(constrained) if c]
    logs, jacobian = model.fit(figures, free)
    dof = len(figures) - len(free)
    residuals = model.residuals(logs, figures)
    variance = float(residuals @ residuals) / dof if dof > 0 else float("nan")
    covariance = variance * np.linalg.pinv(jacobian.T @ jacobian)
    uncertainty = [float("nan")] * len(parameters)
    for column, i in enumerate(free):
        uncertainty[i] = float(math.sqrt(max(covariance[column, column], 0.0)))
    predictions = {}
    if loo:
        for figure in FIGURES:
            left_out = [figure, *(derived_from(figure) or ())]
            seen = [i for i, f in enumerate(figures) if f not in left_out]
            # a parameter only the left-out figures move falls back to what its sources
            # alone say, the middle of its range: the fit must not remember it
            still = [
                i for column, i in enumerate(free)
                if np.abs(jacobian[seen, column]).max(initial=0.0) >= NO_EFFECT
            ]  # fmt: skip
            start = logs.copy()
            for i in set(free) - set(still):
                start[i] = math.log(math.sqrt(parameters[i].low * parameters[i].high))
            fitted_logs = start
            if still and (len(seen) < len(figures) or still != free):
                fitted_logs, _ = model.fit([figures[i] for i in seen], still, start, evaluations=25)
            predictions[figure.name] = figure.simulated(model.microseconds(fitted_logs))
    return Calibration(
        parameters, machine, model.machine_at(logs), figures, constrained, uncertainty,
        predictions, model.microseconds(logs), model.evaluations,
    )  # fmt: skip


def _uncertainty(sigma: float) -> str:
    if math.isnan(sigma):
        return "not constrained by the figures"
    return f"x/÷ {math.exp(sigma):.2f}" if sigma < 0.7 else "barely constrained (x/÷ > 2)"


def report(c: Calibration) -> str:
    lines = []
    free = sum(c.constrained)
    rows = []
    for p, constrained, sigma in zip(c.parameters, c.constrained, c.uncertainty):
        value = c.fitted.value(p.key)
        edge = value <= p.low * AT_BOUND or value >= p.high / AT_BOUND
        if not constrained:
            fitted, spread = f"{value:g} (kept)", "not constrained by the figures"
        elif edge:
            fitted, spread = f"{value:.4g} (at its bound)", "none: held by its bound"
        else:
            fitted, spread = f"{value:.4g}", _uncertainty(sigma)
        rows.append([
            p.key + "".join(f" = {t}" for t in p.tied), f"{c.before.value(p.key):g}",
            fitted, spread, f"{p.low:g}..{p.high:g}",
        ])  # fmt: skip
    lines.append(table(["parameter", "was", "fitted", "uncertainty (1 sd)", "range"], rows))
    lines.append(
        f"{len(c.figures)} independent figures (of {len(FIGURES)}: "
        f"{len(FIGURES) - len(c.figures)} are ratios of published times), {free} free "
        f"parameters: {len(c.figures) - free} degrees of freedom"
    )
    if c.leave_one_out:
        lines += ["", _loo_table(c)]
    lines += ["", _tension(c), "", render(compare(c.microseconds, c.fitted))]
    return "\n".join(lines)


def _loo_table(c: Calibration) -> str:
    rows, misses = [], []
    for figure in FIGURES:
        fitted = figure.simulated(c.microseconds)
        predicted = c.leave_one_out[figure.name]
        error = predicted / figure.value - 1
        if abs(error) > LOO_LIMIT:
            misses.append(figure.name)
        unit = "x" if figure.over else ""
        rows.append([
            figure.name, f"{figure.value:,.4g}{unit}", f"{fitted:,.4g}{unit}",
            f"{100 * (fitted / figure.value - 1):+.1f}%", f"{predicted:,.4g}{unit}",
            f"{100 * error:+.1f}%" + (" MISS" if abs(error) > LOO_LIMIT else ""),
        ])  # fmt: skip
    header = ["figure", "published", "fitted", "residual", "left out: predicted", "error"]
    verdict = (
        f"every leave-one-out prediction within ±{100 * LOO_LIMIT:.0f}%"
        if not misses
        else f"outside ±{100 * LOO_LIMIT:.0f}% when left out: {'; '.join(misses)}"
    )
    return "\n".join(["leave-one-figure-out:", table(header, rows), verdict])


def _tension(c: Calibration) -> str:
    """Quantities two papers both published, side by side with the fit."""
    by_quantity: dict[tuple, list[Figure]] = {}
    for f in FIGURES:
        by_quantity.setdefault((f.kernel, f.level, f.over, f.elements), []).append(f)
    lines = []
    for same in by_quantity.values():
        if len({f.source for f in same}) < 2:
            continue
        fitted = same[0].simulated(c.microseconds)
        told = ", ".join(
            f"{f.source} {f.value:g} ({100 * (fitted / f.value - 1):+.1f}%)" for f in same
        )
        spread = max(f.value for f in same) / min(f.value for f in same) - 1
        lines.append(
            f"tension: {same[0].name} is published twice, {100 * spread:.0f}% apart; "
            f"the fit gives {fitted:.3g}: {told}"
        )
    return "\n".join(lines)


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
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.strip().splitlines()[4:]),
    )
    parser.add_argument(
        "--machine", default="edge-npu", help="machine name or .toml path (default edge-npu)"
    )
    parser.add_argument(
        "--write", action="store_true", help="write the fitted values into the machine file"
    )
    parser.add_argument(
        "--no-loo", action="store_true", help="skip the leave-one-out fits (one fit per figure)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="cores a local Ray uses for a Jacobian's points, side by side (default: all; "
        "1: one by one in this process, no Ray)",
    )
    parser.add_argument(
        "--address", help="run the evaluations on the Ray cluster at this address instead"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    start = time.perf_counter()
    try:
        machine = load_machine(args.machine)
        if args.jobs == 1 and not args.address:
            result = calibrate(machine, loo=not args.no_loo, quiet=args.quiet)
        else:
            with Engine("ray", args.address, None if args.address else args.jobs) as engine:
                result = calibrate(machine, not args.no_loo, args.quiet, engine)
    except (BenchError, MachineError) as error:
        raise SystemExit(f"calibrate: {error}") from None
    print(
        f"fitting {machine.source}: {len(result.parameters)} parameters to "
        f"{len(FIGURES)} published figures (tolerance ±{100 * TOLERANCE:.0f}%)"
    )
    print(report(result))
    if args.write:
        values = {}
        for p, constrained in zip(result.parameters, result.constrained):
            if constrained:
                value = result.fitted.value(p.key)
                values.update(dict.fromkeys((p.key, *p.tied), round(value, 3)))
        write_values(Path(machine.source), values)
        print(f"wrote the fitted values into {machine.source}")
    print(
        f"{result.evaluations} evaluations of the published runs; "
        f"wall time {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
