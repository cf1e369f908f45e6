"""
`xnpu-bench paper`: every published figure of both papers (published.py) beside the
simulated one, with its relative error and its source. The command exits with status 1
when any figure is outside ±15%.
"""

from __future__ import annotations

from xnpu.bench.measure import Variant, bench_kernel, measure
from xnpu.bench.output import Progress, percent, pyplot, table
from xnpu.bench.published import FIGURES, TOLERANCE, Run, derived_from, runs_needed
from xnpu.machines import Machine

STYLE = "reference"
"""The published figures are simulated as the reference compiler runs its kernels:
grid=(1,), one program of BLOCK = N, tiled by the compiler (docs/results.md)."""


def simulate(
    machine: Machine, progress: Progress | None = None, runs: list[Run] | None = None
) -> dict[Run, float]:
    """Simulated µs of every run the published figures need (or of `runs`)."""
    microseconds = {}
    for kernel_name, level, elements in runs or runs_needed():
        if progress:
            progress.step(f"{kernel_name} {level} on {elements:,}")
        m = measure(bench_kernel(kernel_name, STYLE), Variant.of(level), elements, machine)
        microseconds[kernel_name, level, elements] = m.microseconds
    return microseconds


def run(machine: Machine, progress: Progress) -> dict:
    return compare(simulate(machine, progress), machine)


def compare(microseconds: dict, machine: Machine) -> dict:
    """The published figures beside those computed from `microseconds` (simulate's)."""
    rows = []
    for figure in FIGURES:
        simulated = figure.simulated(microseconds)
        error = figure.relative_error(microseconds)
        rows.append({
            "figure": figure.name,
            "kernel": figure.kernel,
            "level": figure.level,
            "over": figure.over,
            "elements": figure.elements,
            "source": figure.source,
            "derived": derived_from(figure) is not None,
            "unit": "speedup" if figure.over else "us",
            "published": figure.value,
            "simulated": simulated,
            "relative_error": error,
            "within_tolerance": abs(error) <= TOLERANCE,
        })  # fmt: skip
    return {
        "command": "paper",
        "machine": machine.name,
        "clock_mhz": machine.clock_mhz,
        "launch_style": STYLE,
        "tolerance": TOLERANCE,
        "rows": rows,
    }


def _value(row: dict, key: str) -> str:
    return f"{row[key]:,.2f}x" if row["over"] else f"{row[key]:,.0f}"


def render(result: dict) -> str:
    rows = [
        [r["figure"], r["source"], _value(r, "published"), _value(r, "simulated"),
         f"{100 * r['relative_error']:+.1f}%", "ok" if r["within_tolerance"] else "OUTSIDE"]
        for r in result["rows"]
    ]  # fmt: skip
    missed = sum(not r["within_tolerance"] for r in result["rows"])
    verdict = (
        f"all {len(rows)} figures within ±{percent(result['tolerance'])}"
        if not missed
        else f"{missed} of {len(rows)} figures outside ±{percent(result['tolerance'])}"
    )
    return "\n".join([
        f"The published figures beside the simulation, {STYLE}-style launch (grid=(1,), "
        f"BLOCK=N), machine {result['machine']}; 1M = 1,048,576 elements unless a figure says",
        table(["figure", "source", "published", "simulated", "error", ""], rows),
        verdict,
    ])  # fmt: skip


def failed(result: dict) -> bool:
    """Whether a figure is outside the tolerance."""
    return not all(r["within_tolerance"] for r in result["rows"])


def plot(result: dict, path) -> None:
    """Relative error of each figure, with the tolerance band."""
    plt = pyplot()
    rows = result["rows"]
    figure, axes = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.5))
    errors = [100 * r["relative_error"] for r in rows]
    colors = ["tab:green" if r["within_tolerance"] else "tab:red" for r in rows]
    axes.barh(range(len(rows)), errors, color=colors)
    band = 100 * result["tolerance"]
    axes.axvspan(-band, band, color="0.9", zorder=0)
    labels = [f"{r['figure']} ({r['source']})" for r in rows]  # two papers, one quantity
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("simulated vs published (%)")
    axes.set_title(f"Published figures reproduced on {result['machine']} (band: ±{band:.0f}%)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
