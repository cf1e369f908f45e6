"""
The explorer's plots, drawn from a sweep's rows in the store (explore.py computes
what they show):

    sensitivity.png   each kernel's slowest/fastest time as one parameter moves
    db_gain.png       DB's speedup against a scratchpad axis, a line per DMA/DDR bandwidth
    pareto.png        time against scratchpad bytes, by contexts used; the front joined
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xnpu.bench.explore import by_kernel_and_size, db_gains, median, pareto_front, sensitivity
from xnpu.bench.output import pyplot
from xnpu.cli import write_file

SCRATCHPAD_AXES = ("scratchpad.capacity_bytes", "scratchpad.tile_budget_bytes", "budget")
BANDWIDTH_AXES = ("dma.bytes_per_cycle", "ddr.bytes_per_cycle", "dma.setup_cycles")
PARETO_PANELS = 8
"""At most this many kernel-and-size panels in pareto.png (the largest sizes first)."""


def _grid(count: int):
    plt = pyplot()
    columns = min(count, 4)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for extra in axes.flat[count:]:
        extra.set_visible(False)
    return plt, figure, list(axes.flat)


def _finished(plt, figure):
    """The figure laid out and let go by pyplot (it is saved by write_plots)."""
    figure.tight_layout()
    plt.close(figure)
    return figure


def _order(value) -> tuple:
    """Numbers by value, then words: legends in the order a reader expects."""
    return (0, value, "") if isinstance(value, int | float) else (1, 0, str(value))


def plot_sensitivity(records: Sequence[dict], columns: Sequence[str]):
    """Bars per kernel; None when no parameter moved alone (nothing to draw)."""
    found = sensitivity(records, columns)
    if not found:
        return None
    plt = pyplot()
    from matplotlib.ticker import ScalarFormatter  # after pyplot() chose the file backend

    shown = [c for c in columns if any(c in by for by in found.values())]
    figure, axis = plt.subplots(figsize=(max(6.0, 1.2 * len(shown) * len(found) ** 0.5), 4))
    width = 0.8 / len(found)
    for i, (kernel, by) in enumerate(sorted(found.items())):
        xs = [j + i * width for j in range(len(shown))]
        medians = [by[c].median if c in by else 1.0 for c in shown]
        bars = axis.bar(xs, medians, width, label=kernel)
        axis.scatter(xs, [by[c].largest if c in by else 1.0 for c in shown], marker="_", s=80,
                     color=bars.patches[0].get_facecolor())  # fmt: skip
    axis.set_xticks([j + 0.4 - width / 2 for j in range(len(shown))], shown, rotation=20,
                    ha="right", fontsize=8)  # fmt: skip
    axis.set_ylabel("slowest / fastest: median (bar), largest (tick)")
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(ScalarFormatter())
    axis.yaxis.set_minor_formatter(ScalarFormatter())
    axis.set_title("Sensitivity: how far one parameter alone moves the time")
    axis.legend(fontsize=7)
    return _finished(plt, figure)


def plot_db_gain(records: Sequence[dict], columns: Sequence[str]):
    """DB's speedup (vec+mt over vec+mt+db) against the first scratchpad axis swept, a
    line per value of the first bandwidth axis swept; False when the sweep has no
    vec+mt / vec+mt+db pairs."""
    pairs = db_gains(records, columns)
    if not pairs:
        return None
    x_key = next((c for c in SCRATCHPAD_AXES if c in columns), "size")
    line_key = next((c for c in BANDWIDTH_AXES if c in columns), None)
    kernels = sorted({r["kernel"] for r, _ in pairs})
    plt, figure, axes = _grid(len(kernels))
    for axis, kernel in zip(axes, kernels):
        lines: dict[object, dict[object, list[float]]] = {}
        for r, gain in pairs:
            if r["kernel"] == kernel:
                line = r.get(line_key) if line_key else "all"
                lines.setdefault(line, {}).setdefault(r.get(x_key), []).append(gain)
        for line, points in sorted(lines.items(), key=lambda item: _order(item[0])):
            xs = sorted(x for x in points if x is not None)
            label = f"{line_key} = {line}" if line_key else None
            axis.plot(xs, [median(points[x]) for x in xs], marker="o", label=label)
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set_xscale("log", base=2)
        axis.set_xlabel(x_key)
        axis.set_ylabel("DB speedup (median)")
        axis.set_title(kernel, fontsize=9)
        if line_key:
            axis.legend(fontsize=6)
    figure.suptitle("DB's gain: vec+mt time over vec+mt+db time")
    return _finished(plt, figure)


def plot_pareto(records: Sequence[dict]):
    """Time against scratchpad bytes per kernel and size, by contexts used, the Pareto
    front joined; False when no point ran."""
    groups = by_kernel_and_size(records)
    if not groups:
        return None
    shown = sorted(groups, key=lambda g: (-g[1], g[0]))[:PARETO_PANELS]
    plt, figure, axes = _grid(len(shown))
    for axis, key in zip(axes, sorted(shown)):
        group = groups[key]
        dots = axis.scatter(
            [r["scratchpad_bytes"] for r in group], [r["cycles"] for r in group],
            c=[r["contexts_used"] for r in group], cmap="viridis", s=12, alpha=0.7,
        )  # fmt: skip
        front = pareto_front(group)
        axis.scatter([r["scratchpad_bytes"] for r in front], [r["cycles"] for r in front],
                     color="red", marker="x", s=30, label="Pareto front (3 objectives)")  # fmt: skip
        flat = sorted(pareto_front(group, ("cycles", "scratchpad_bytes")),
                      key=lambda r: r["scratchpad_bytes"])  # fmt: skip
        axis.step([r["scratchpad_bytes"] for r in flat], [r["cycles"] for r in flat],
                  where="post", color="red", linewidth=0.8, label="time vs scratchpad")  # fmt: skip
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("scratchpad bytes held")
        axis.set_ylabel("cycles")
        axis.set_title(f"{key[0]}, {key[1]:,}", fontsize=9)
        used = sorted({r["contexts_used"] for r in group})
        figure.colorbar(dots, ax=axis, label="contexts used", ticks=used)
        axis.legend(fontsize=6)
    figure.suptitle("Time vs scratchpad vs contexts")
    return _finished(plt, figure)


def write_plots(records: Sequence[dict], columns: Sequence[str], directory: Path) -> list[Path]:
    """Every plot the sweep has data for, into `directory`, each file whole or not at
    all; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in (
        ("sensitivity.png", plot_sensitivity(records, columns)),
        ("db_gain.png", plot_db_gain(records, columns)),
        ("pareto.png", plot_pareto(records)),
    ):
        if figure is not None:
            write_file(directory / name, lambda path, figure=figure: figure.savefig(path, dpi=110))
            written.append(directory / name)
    return written
