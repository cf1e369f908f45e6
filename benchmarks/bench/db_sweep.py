"""
`xnpu-bench db-sweep`: what double buffering gains as arithmetic intensity rises.
The kernels are one polynomial at rising degree (benchmarks/kernels/polynomial.py):
the bytes moved stay the same while the work per element grows, from memory-bound
to compute-bound.

For each degree and context count, three runs:

    without DB        vec (or vec+mt): core copies, no DMA
    DMA, no overlap   + db with one buffer: DMA started and waited for at once
    DB                + db: the next tiles' DMA runs under this tile's compute

and two gains: DB over "without DB" (the ladder's step) and DB over "DMA, no
overlap" (what the overlap alone buys). The x axis is compute / transfer: the
compute time of one context over the DMA engine's busy time, from the DB run.
"""

from __future__ import annotations

from xnpu.bench.measure import Variant, measure, polynomial_kernel
from xnpu.bench.output import Progress, pyplot, table
from xnpu.interpreters.simulator.report import whole

DEFAULT_DEGREES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
DEFAULT_ELEMENTS = 262_144


def variants(contexts: int) -> dict[str, Variant]:
    base = "vec" if contexts == 1 else "vec+mt"
    options = {} if contexts == 1 else {"contexts": contexts}
    return {
        "without_db": Variant.of(base, base, **options),
        "dma_no_overlap": Variant.of(f"{base}+db", "DMA, no overlap", buffers=1, **options),
        "db": Variant.of(f"{base}+db", "DB", **options),
    }


def run(
    degrees: list[int], elements: int, contexts: list[int], machine, progress: Progress
) -> dict:
    rows = []
    for degree in degrees:
        kernel = polynomial_kernel(degree)
        for count in contexts:
            reports = {}
            for key, variant in variants(count).items():
                progress.step(f"degree {degree}, {count} context(s), {variant.name}")
                reports[key] = measure(kernel, variant, elements, machine).report
            db = reports["db"]
            transfer = db.dma_busy
            compute = db.compute_cycles / count
            rows.append({
                "degree": degree,
                "contexts": count,
                "elements": elements,
                "without_db_us": round(reports["without_db"].microseconds, 3),
                "dma_no_overlap_us": round(reports["dma_no_overlap"].microseconds, 3),
                "db_us": round(db.microseconds, 3),
                "compute_per_context_cycles": whole(compute),
                "dma_busy_cycles": whole(transfer),
                "compute_over_transfer": compute / transfer if transfer else None,
                "db_gain": reports["without_db"].cycles / db.cycles,
                "overlap_gain": reports["dma_no_overlap"].cycles / db.cycles,
            })  # fmt: skip
    return {
        "command": "db-sweep",
        "machine": machine.name,
        "elements": elements,
        "degrees": list(degrees),
        "contexts": list(contexts),
        "peaks": {str(count): _peak(rows, count) for count in contexts},
        "rows": rows,
    }


def _peak(rows: list[dict], contexts: int) -> dict:
    """Where the overlap gain is largest, and how large it is at the two ends."""
    mine = [r for r in rows if r["contexts"] == contexts]
    best = max(mine, key=lambda r: r["overlap_gain"])
    return {
        "degree": best["degree"],
        "overlap_gain": best["overlap_gain"],
        "compute_over_transfer": best["compute_over_transfer"],
        "lowest_degree_gain": mine[0]["overlap_gain"],
        "highest_degree_gain": mine[-1]["overlap_gain"],
    }


def render(result: dict) -> str:
    lines = [
        f"DB against arithmetic intensity: polynomials of rising degree, {result['elements']:,} "
        f"elements, machine {result['machine']}"
    ]
    for count in result["contexts"]:
        rows = [r for r in result["rows"] if r["contexts"] == count]
        base = "vec" if count == 1 else "vec+mt"
        lines.append(f"{count} context(s): without DB = {base}")
        lines.append(
            table(
                [
                    "degree",
                    "compute/transfer",
                    f"{base} µs",
                    "DMA no overlap µs",
                    "DB µs",
                    "DB gain",
                    "overlap gain",
                ],
                [
                    [
                        str(r["degree"]),
                        f"{r['compute_over_transfer']:.2f}",
                        f"{r['without_db_us']:,.1f}",
                        f"{r['dma_no_overlap_us']:,.1f}",
                        f"{r['db_us']:,.1f}",
                        f"{r['db_gain']:.2f}x",
                        f"{r['overlap_gain']:.2f}x",
                    ]
                    for r in rows
                ],
            )
        )
        peak = result["peaks"][str(count)]
        lines.append(
            f"overlap gain peaks at degree {peak['degree']} ({peak['overlap_gain']:.2f}x, compute/transfer "
            f"{peak['compute_over_transfer']:.2f}); {peak['lowest_degree_gain']:.2f}x at the lowest degree, "
            f"{peak['highest_degree_gain']:.2f}x at the highest"
        )
        lines.append("")
    lines.append(
        "DB gain: over the level without DB; overlap gain: over DMA waited for at once (buffers=1)."
    )
    return "\n".join(lines)


def plot(result: dict, path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 4.6))
    for count, color in zip(result["contexts"], ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        rows = [r for r in result["rows"] if r["contexts"] == count]
        ratios = [r["compute_over_transfer"] for r in rows]
        base = "vec" if count == 1 else "vec+mt"
        axes.plot(
            ratios,
            [r["overlap_gain"] for r in rows],
            marker="o",
            color=color,
            label=f"{count} context(s): DB over DMA without overlap",
        )
        axes.plot(
            ratios,
            [r["db_gain"] for r in rows],
            marker="s",
            linestyle="--",
            color=color,
            alpha=0.7,
            label=f"{count} context(s): DB over {base}",
        )
        for r in rows:
            axes.annotate(
                f"d{r['degree']}",
                (r["compute_over_transfer"], r["overlap_gain"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(0, 5),
                ha="center",
            )
    axes.axhline(1, color="black", linewidth=0.8)
    axes.axvline(1, color="0.6", linestyle=":", linewidth=1)
    axes.set_xscale("log")
    axes.set_xlabel("compute / transfer (one context's compute over DMA busy time)")
    axes.set_ylabel("speedup from double buffering")
    axes.set_title(f"DB gain against arithmetic intensity on {result['machine']}")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
