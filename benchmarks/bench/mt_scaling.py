"""
`xnpu-bench mt-scaling`: one context (vec) against several (vec+mt) over problem
sizes, and the crossover: the size below which multi-threading loses, because
forking and joining the contexts costs more than splitting the work saves.
"""

from __future__ import annotations

from xnpu.bench.measure import Variant, bench_kernel, measure
from xnpu.bench.output import Progress, pyplot, table

DEFAULT_SIZES = tuple(2**k for k in range(10, 25))
"""1K to 16M elements, doubling."""


def parse_sizes(text: str) -> list[int]:
    """"4K,8K,1M,3000" -> element counts (K = 1024, M = 1024**2)."""
    sizes = []
    for item in text.split(","):
        item = item.strip()
        scale = {"K": 2**10, "M": 2**20}.get(item[-1:].upper(), 1)
        digits = item[:-1] if scale > 1 else item
        if not digits.isdigit() or int(digits) == 0:
            raise ValueError(f"bad size '{item}': use positive counts like 4096, 4K or 16M, separated by commas")
        sizes.append(int(digits) * scale)
    return sorted(set(sizes))


def size_name(elements: int) -> str:
    for unit, scale in (("M", 2**20), ("K", 2**10)):
        if elements % scale == 0:
            return f"{elements // scale}{unit}"
    return f"{elements:,}"


def run(kernel_name: str, sizes: list[int], contexts: int, machine, progress: Progress) -> dict:
    kernel = bench_kernel(kernel_name)
    one, many = Variant.of("vec"), Variant.of("vec+mt", f"vec+mt ({contexts} contexts)", contexts=contexts)
    rows = []
    for elements in sizes:
        progress.step(f"{kernel_name} {size_name(elements)} vec")
        single = measure(kernel, one, elements, machine).report
        progress.step(f"{kernel_name} {size_name(elements)} vec+mt")
        multi = measure(kernel, many, elements, machine).report
        rows.append({
            "kernel": kernel_name,
            "elements": elements,
            "contexts": contexts,
            "one_context_us": single.microseconds,
            "multi_context_us": multi.microseconds,
            "speedup": single.cycles / multi.cycles,
            "mt_wins": multi.cycles < single.cycles,
        })  # fmt: skip
    return {
        "command": "mt-scaling",
        "machine": machine.name,
        "kernel": kernel_name,
        "contexts": contexts,
        "fork_cycles": machine.threads.fork_cycles,
        "join_cycles": machine.threads.join_cycles,
        "crossover_elements": crossover(rows),
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


def describe_crossover(result: dict) -> str:
    rows, size = result["rows"], result["crossover_elements"]
    if size is None:
        return "multi-threading loses at every size measured, up to the largest"
    if size == rows[0]["elements"]:
        return f"multi-threading wins at every size measured (from {size_name(size)}); the crossover lies below"
    below = max(r["elements"] for r in rows if r["elements"] < size)
    return f"crossover: multi-threading loses up to {size_name(below)} elements and wins from {size_name(size)} on"


def render(result: dict) -> str:
    rows = [
        [size_name(r["elements"]), f"{r['elements']:,}", f"{r['one_context_us']:,.1f}",
         f"{r['multi_context_us']:,.1f}", f"{r['speedup']:.2f}x", "MT wins" if r["mt_wins"] else "MT loses"]
        for r in result["rows"]
    ]  # fmt: skip
    return "\n".join([
        f"{result['kernel']}: 1 context (vec) against {result['contexts']} (vec+mt), machine "
        f"{result['machine']}, fork {result['fork_cycles']:,} + join {result['join_cycles']:,} cycles",
        table(["size", "elements", "1 context µs", f"{result['contexts']} contexts µs", "speedup", ""], rows),
        describe_crossover(result),
    ])  # fmt: skip


def plot(result: dict, path) -> None:
    plt = pyplot()
    rows = result["rows"]
    figure, axes = plt.subplots(figsize=(7, 4.4))
    sizes = [r["elements"] for r in rows]
    axes.plot(sizes, [r["speedup"] for r in rows], marker="o", label=f"{result['contexts']} contexts over 1")
    axes.axhline(1, color="black", linewidth=0.8)
    axes.axhline(result["contexts"], color="0.6", linestyle=":", linewidth=1, label="linear scaling")
    if result["crossover_elements"] is not None and result["crossover_elements"] != sizes[0]:
        axes.axvline(result["crossover_elements"], color="tab:red", linestyle="--", linewidth=1,
                     label=f"crossover ({size_name(result['crossover_elements'])})")  # fmt: skip
    axes.set_xscale("log", base=2)
    axes.set_xticks(sizes, [size_name(s) for s in sizes], rotation=45, fontsize=8)
    axes.set_xlabel("elements")
    axes.set_ylabel("speedup of vec+mt over vec")
    axes.set_title(f"MT scaling, {result['kernel']} on {result['machine']}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
