"""
`xnpu-bench ladder`: the ablation ladder scalar -> vec -> vec+mt -> vec+mt+db per
kernel, with the variants that take DB apart:

    vec+mt, DMA without overlap   db with one buffer: every copy a DMA started and
                                  waited for at once (what DMA alone buys)
    vec+mt+db, sync write-back    loads prefetched, each write-back waited for at once
                                  (as the reference compiler does it)
    vec+mt+db                     loads prefetched, write-backs waited for only when
                                  their buffer comes round again

vector_add and the other element-wise kernels run in both launch styles: reference
style (one program of BLOCK = N, as hexagon-mlir's tests launch them) and grid style
(BLOCK as written, 1,024 or Inductor's XBLOCK); the others run grid style. Inductor's
fixed-shape kernels run on the shape they were captured for (128 x 512), and the
matrix kernels (matmul, flash attention) on theirs (measure.MATRIX_SHAPES).

Per row: cycles, µs, the speedup over the rung below (variants: over vec+mt) and over
scalar, DDR and DMA bytes, the share of DMA time hidden under compute, and the
fraction of the roofline bound reached.
"""

from __future__ import annotations

import math

from xnpu.bench.measure import (
    ELEMENTWISE,
    FIXED_SHAPE,
    MATRIX_SHAPES,
    Roofline,
    Variant,
    bench_kernel,
    measure,
    problem,
)
from xnpu.bench.output import Progress, percent, pyplot, table, times
from xnpu.interpreters.simulator.report import whole
from xnpu.kernels.inductor import COLS, ROWS
from xnpu.machines import Machine

VARIANTS = (
    Variant.of("scalar"),
    Variant.of("vec", baseline="scalar"),
    Variant.of("vec+mt", baseline="vec"),
    Variant.of("vec+mt+db", "vec+mt, DMA without overlap", baseline="vec+mt", buffers=1),
    Variant.of("vec+mt+db", "vec+mt+db, sync write-back", baseline="vec+mt", writeback="sync"),
    Variant.of("vec+mt+db", baseline="vec+mt"),
)
RUNGS = ("scalar", "vec", "vec+mt", "vec+mt+db")
"""The ladder's four rungs (the other variants sit beside vec+mt+db)."""

DEFAULT_KERNELS = ("vector_add", "gelu")


def launches(kernels: list[str], styles: list[str]) -> list[tuple[str, str]]:
    """(kernel, style) pairs: element-wise kernels in every style asked, the others in
    the grid style they were written for."""
    return [
        (kernel, style)
        for kernel in kernels
        for style in (styles if kernel in ELEMENTWISE else ["grid"])
    ]  # fmt: skip


def run(
    kernels: list[str], elements: int, machine: Machine, progress: Progress,
    styles: list[str] = ("reference", "grid"),
) -> dict:  # fmt: skip
    rows, labels, sizes = [], [], {}
    for kernel_name, style in launches(kernels, list(styles)):
        kernel = bench_kernel(kernel_name, style)
        label = f"{kernel_name} ({style} style)"
        size = FIXED_SHAPE_ELEMENTS if kernel_name in FIXED_SHAPE else elements
        size = MATRIX_SHAPES.get(kernel_name, size)
        measured = {}
        for variant in VARIANTS:
            progress.step(f"{label} {variant.name}")
            measured[variant.name] = measure(kernel, variant, size, machine)
        grid = measured["vec+mt"].report.grid
        described = problem(kernel_name, size)
        rows += [row | {"style": style, "elements": size, "problem": described, "grid": list(grid)}
                 for row in _rows(label, measured, machine)]  # fmt: skip
        labels.append(label)
        sizes[label] = (size, grid)
    return {
        "command": "ladder",
        "machine": machine.name,
        "clock_mhz": machine.clock_mhz,
        "elements": elements,
        "kernels": labels,
        "launch": {label: {"elements": n, "grid": list(g)} for label, (n, g) in sizes.items()},
        "rows": rows,
    }


FIXED_SHAPE_ELEMENTS = ROWS * COLS
"""The Inductor kernels captured for one shape run on it."""


def _rows(kernel: str, measured: dict, machine: Machine) -> list[dict]:
    vec = measured["vec"].report
    roofline = Roofline.of(vec, machine)
    scalar_cycles = measured["scalar"].report.cycles
    rows = []
    for variant in VARIANTS:
        report = measured[variant.name].report
        baseline = measured[variant.baseline].report.cycles if variant.baseline else None
        rows.append({
            "kernel": kernel,
            "variant": variant.name,
            "level": variant.level,
            "options": dict(variant.options),
            "rung": variant.name in RUNGS,
            "cycles": whole(report.cycles),
            "microseconds": round(report.microseconds, 3),
            "step_over": variant.baseline,
            "step_speedup": baseline / report.cycles if baseline else None,
            "speedup_over_scalar": scalar_cycles / report.cycles,
            "ddr_bytes": report.ddr_bytes,
            "dma_bytes": report.timeline.dma_bytes,
            "dma_busy_cycles": whole(report.dma_busy),
            "overlap_cycles": whole(report.overlap_cycles),
            "overlap_fraction": report.overlap_cycles / report.dma_busy if report.dma_busy else None,
            "roofline_cycles": whole(roofline.cycles),
            "roofline_bound": roofline.bound,
            "roofline_fraction": roofline.fraction(report.cycles),
            "output": "matches PyTorch",
            "remarks": report.remarks,
        })  # fmt: skip
    return rows


def render(result: dict) -> str:
    blocks = []
    for kernel in result["kernels"]:
        rows = [r for r in result["rows"] if r["kernel"] == kernel]
        bound = rows[0]
        grid = "x".join(map(str, bound["grid"]))
        blocks.append(
            f"{kernel}, {bound['problem']}, grid {grid}, machine {result['machine']} "
            f"({result['clock_mhz']:g} MHz); roofline {bound['roofline_cycles'] / result['clock_mhz']:,.1f} µs "
            f"({bound['roofline_bound']}-bound)"
        )
        blocks.append(
            table(
                [
                    "variant",
                    "cycles",
                    "µs",
                    "step",
                    "vs scalar",
                    "DDR MiB",
                    "DMA MiB",
                    "DMA hidden",
                    "roofline",
                ],
                [
                    [
                        r["variant"] if r["rung"] else f"  {r['variant']}",
                        f"{r['cycles']:,.0f}",
                        f"{r['microseconds']:,.1f}",
                        times(r["step_speedup"]),
                        times(r["speedup_over_scalar"]),
                        f"{r['ddr_bytes'] / 2**20:,.1f}",
                        f"{r['dma_bytes'] / 2**20:,.1f}",
                        percent(r["overlap_fraction"]),
                        percent(r["roofline_fraction"]),
                    ]
                    for r in rows
                ],
            )
        )
        blocks += _slower(rows)
        blocks.append("")
    blocks.append(
        "step: over the rung below (indented variants: over vec+mt); DMA hidden: share of DMA "
        "busy time under compute; roofline: bound / time, bound = max(DDR bytes / DDR bandwidth, "
        "vector work / vector units, multiply-accumulates at the matrix unit's peak). Every output "
        "matched PyTorch."
    )
    return "\n".join(blocks)


def _slower(rows: list[dict]) -> list[str]:
    """A line for every variant slower than its baseline, with the passes' remarks."""
    lines = []
    for r in rows:
        if r["step_speedup"] is not None and r["step_speedup"] < 1:
            lines.append(
                f"  slower: {r['variant']} takes {1 / r['step_speedup']:.2f}x the time of "
                f"{r['step_over']}; what the passes said:"
            )
            lines += [f"    {remark}" for remark in r["remarks"]] or ["    (nothing)"]
    return lines


def plot(result: dict, path) -> None:
    """Per kernel, one bar per variant (µs, log axis), labelled with its speedup over scalar."""
    plt = pyplot()
    kernels = result["kernels"]
    figure, axes = plt.subplots(1, len(kernels), figsize=(5.5 * len(kernels), 4.6), squeeze=False)
    colors = {
        "scalar": "tab:gray",
        "vec": "tab:blue",
        "vec+mt": "tab:orange",
        "vec+mt+db": "tab:green",
    }
    for ax, kernel in zip(axes[0], kernels):
        rows = [r for r in result["rows"] if r["kernel"] == kernel]
        bars = ax.bar(
            range(len(rows)),
            [r["microseconds"] for r in rows],
            color=[colors.get(r["level"], "tab:purple") for r in rows],
            hatch=None,
            edgecolor="black",
            linewidth=0.5,
        )
        for bar, row in zip(bars, rows):
            if not row["rung"]:
                bar.set_alpha(0.55)
                bar.set_hatch("//")
            ax.annotate(
                f"{row['speedup_over_scalar']:,.1f}x",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        roofline_us = rows[0]["roofline_cycles"] / result["clock_mhz"]
        roofline = ax.axhline(roofline_us, color="black", linestyle=":", linewidth=1)
        ax.set_yscale("log")
        # bars start a decade below the fastest run, so the last rungs are bars, not slivers
        lowest = min([r["microseconds"] for r in rows] + [roofline_us])
        ax.set_ylim(bottom=10 ** math.floor(math.log10(lowest)))
        ax.set_xticks(
            range(len(rows)),
            [r["variant"].replace(", ", ",\n") for r in rows],
            rotation=35,
            ha="right",
            fontsize=8,
        )
        ax.set_ylabel("simulated µs (log)")
        ax.set_title(f"{kernel}, {rows[0]['problem']}", fontsize=9)
        taken_apart = plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch="//")
        ax.legend(
            [roofline, taken_apart], ["roofline bound", "DB taken apart (not a rung)"], fontsize=8
        )
    figure.suptitle(f"Ablation ladder on {result['machine']} (labels: speedup over scalar)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
