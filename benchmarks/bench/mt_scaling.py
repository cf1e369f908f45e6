"""
`xnpu-bench mt-scaling`: one context (vec) against several (vec+mt with MT forced on)
over problem sizes, launched reference-style (one program of BLOCK = N, MT inside the
program), and the crossover: the size below which multi-threading loses, because
forking and joining the contexts costs more than splitting the work saves. Beside
each size, npu-multithread's own decision (its profitability model) and its time.
"""

from __future__ import annotations

from xnpu.bench.measure import Variant, bench_kernel, measure
from xnpu.bench.output import Progress, pyplot, table

STYLE = "reference"

DEFAULT_SIZES = tuple(2**k for k in range(10, 25))
"""1K to 16M elements, doubling."""


def parse_sizes(text: str) -> list[int]:
    """ "4K,8K,1M,3000" -> element counts (K = 1024, M = 1024**2)."""
    sizes = []
    for item in text.split(","):
        item = item.strip()
        scale = {"K": 2**10, "M": 2**20}.get(item[-1:].upper(), 1)
        digits = item[:-1] if scale > 1 else item
        if not digits.isdigit() or int(digits) == 0:
            raise ValueError(
                f"bad size '{item}': use positive counts like 4096, 4K or 16M, separated by commas"
            )
        sizes.append(int(digits) * scale)
    return sorted(set(sizes))


def size_name(elements: int) -> str:
    for unit, scale in (("M", 2**20), ("K", 2**10)):
        if elements % scale == 0:
            return f"{elements // scale}{unit}"
    return f"{elements:,}"


def run(kernels: list[str], sizes: list[int], contexts: int, machine, progress: Progress) -> dict:
    one, forced, chosen = (
        Variant.of("vec"),
        Variant.of("vec+mt", f"vec+mt ({contexts} contexts)", contexts=contexts, decide="always"),
        Variant.of("vec+mt", "vec+mt (model)", contexts=contexts),
    )
    rows = []
    for kernel_name in kernels:
        kernel = bench_kernel(kernel_name, STYLE)
        for elements in sizes:
            reports = []
            for variant in (one, forced, chosen):
                progress.step(f"{kernel_name} {size_name(elements)} {variant.name}")
                reports.append(measure(kernel, variant, elements, machine).report)
            single, multi, model = reports
            decision = next((r for r in model.remarks if "npu-multithread" in r), "")
            rows.append({
                "kernel": kernel_name,
                "elements": elements,
                "contexts": contexts,
                "one_context_us": round(single.microseconds, 3),
                "multi_context_us": round(multi.microseconds, 3),
                "speedup": single.cycles / multi.cycles,
                "mt_wins": multi.cycles < single.cycles,
                "model_applies_mt": "kept on one context" not in decision,
                "model_us": round(model.microseconds, 3),
                "model_decision": decision.split("npu-multithread: ", 1)[-1],
            })  # fmt: skip
    return {
        "command": "mt-scaling",
        "machine": machine.name,
        "kernels": list(kernels),
        "contexts": contexts,
        "fork_cycles": machine.threads.fork_cycles,
        "join_cycles": machine.threads.join_cycles,
        "crossover_elements": {
            k: crossover([r for r in rows if r["kernel"] == k]) for k in kernels
        },
        "rows": rows,
    }


def crossover(rows: list[dict]) -> int | None:
    """The smallest size from which MT wins at every larger size measured (None when
    it loses at the largest)."""
    found = None
    for row in sorted(rows, key=lambda r: r["elements"], reverse=True):
        if not row["mt_wins"]:
            break
        found = row["elements"]
    return found


def describe_crossover(rows: list[dict], size: int | None) -> str:
    if size is None:
        return "multi-threading loses at the largest size measured"
    if size == rows[0]["elements"]:
        return f"multi-threading wins at every size measured (from {size_name(size)}); the crossover lies below"
    below = max(r["elements"] for r in rows if r["elements"] < size)
    return f"crossover: multi-threading loses up to {size_name(below)} elements and wins from {size_name(size)} on"


def render(result: dict) -> str:
    lines = []
    for kernel in result["kernels"]:
        rows = [r for r in result["rows"] if r["kernel"] == kernel]
        lines += [
            f"{kernel}, {STYLE}-style launch: 1 context (vec) against {result['contexts']} "
            f"(vec+mt), machine {result['machine']}, "
            f"fork {result['fork_cycles']:,} + join {result['join_cycles']:,} cycles",
            table(
                ["size", "elements", "1 context µs", f"{result['contexts']} contexts µs", "speedup", "",
                 "model decides", "model µs"],
                [[size_name(r["elements"]), f"{r['elements']:,}", f"{r['one_context_us']:,.1f}",
                  f"{r['multi_context_us']:,.1f}", f"{r['speedup']:.2f}x", "MT wins" if r["mt_wins"] else "MT loses",
                  "MT" if r["model_applies_mt"] else "one context", f"{r['model_us']:,.1f}"]
                 for r in rows],
            ),
            describe_crossover(rows, result["crossover_elements"][kernel]),
            "",
        ]  # fmt: skip
    return "\n".join(lines).rstrip()


def plot(result: dict, path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.4))
    sizes = sorted({r["elements"] for r in result["rows"]})
    for kernel, color in zip(
        result["kernels"], ("tab:blue", "tab:orange", "tab:green", "tab:purple")
    ):
        rows = [r for r in result["rows"] if r["kernel"] == kernel]
        axes.plot(
            [r["elements"] for r in rows],
            [r["speedup"] for r in rows],
            marker="o",
            color=color,
            label=kernel,
        )
        size = result["crossover_elements"][kernel]
        if size is not None and size != rows[0]["elements"]:
            axes.axvline(
                size,
                color=color,
                linestyle="--",
                linewidth=1,
                label=f"{kernel}: MT wins from {size_name(size)}",
            )
    axes.axhline(1, color="black", linewidth=0.8)
    axes.axhline(
        result["contexts"], color="0.6", linestyle=":", linewidth=1, label="linear scaling"
    )
    axes.set_xscale("log", base=2)
    axes.set_xticks(sizes, [size_name(s) for s in sizes], rotation=45, fontsize=8)
    axes.set_xlabel("elements")
    axes.set_ylabel(f"speedup of {result['contexts']} contexts (vec+mt) over 1 (vec)")
    axes.set_title(f"MT scaling on {result['machine']}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
