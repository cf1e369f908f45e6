"""
`xnpu-bench search`: the compiler options that make one kernel fastest on one machine,
found by Optuna's TPE sampler over simulated time rather than by a grid. Trials run
in batches, as many at once as the engine has workers; each is a point like a sweep's,
checked against PyTorch and written to the store, so a point the store already holds
is read back, not run again (a repeated search resumes).

    xnpu-bench search --kernel softmax --size 1M --trials 60 --store results.duckdb

The space: contexts (1 .. the machine's hardware threads), buffers (1..4), budget
(64 KiB .. the scratchpad, powers of two), schedule and writeback (their choices),
and the levels given (default vec+mt+db). A trial the compiler refuses (tiles over
the scratchpad...) is a failed trial, named in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xnpu.bench.engine import Engine, evaluate
from xnpu.bench.explore import fastest, front_text
from xnpu.bench.output import Progress
from xnpu.bench.store import ResultStore
from xnpu.bench.sweep import Point, level_reads
from xnpu.machines import Machine, load_machine
from xnpu.triton.keywords import XNPU_BY_NAME

SEARCHED = ("contexts", "buffers", "budget", "schedule", "writeback")
"""The options a search draws (each only at the levels whose passes read it)."""
SMALLEST_BUDGET = 1 << 16
MOST_BUFFERS = 4


@dataclass
class SearchResult:
    sweep: str
    trials: int
    ran: int
    best: dict | None
    """The fastest row of the trials and the defaults (None: none ran correctly)."""
    default: dict | None
    """The row of the level's defaults (no option given), for comparison."""
    rows: list[dict]
    """Every trial's row."""


def suggest(trial, levels: Sequence[str], machine: Machine) -> tuple[str, tuple]:
    """A level and options drawn by `trial` (only the options that level reads)."""
    level = trial.suggest_categorical("level", list(levels))
    pad = machine.scratchpad.capacity_bytes
    budgets = [b for b in (SMALLEST_BUDGET << i for i in range(32)) if b <= pad]
    space = {  # SEARCHED's ranges
        "contexts": lambda: trial.suggest_int("contexts", 1, machine.core.hardware_threads),
        "buffers": lambda: trial.suggest_int("buffers", 1, MOST_BUFFERS),
        "budget": lambda: trial.suggest_categorical("budget", budgets),
        "schedule": lambda: trial.suggest_categorical(
            "schedule", list(XNPU_BY_NAME["schedule"].choices)),
        "writeback": lambda: trial.suggest_categorical(
            "writeback", list(XNPU_BY_NAME["writeback"].choices)),
    }  # fmt: skip
    options = {name: draw() for name, draw in space.items() if level_reads(level, name)}
    return level, tuple(sorted(options.items()))


def search(
    kernel: str,
    size: int,
    levels: Sequence[str],
    trials: int,
    machine: str,
    machine_values: dict[str, float],
    store: ResultStore,
    engine: Engine,
    sweep: str,
    seed: int = 0,
    progress: Progress | None = None,
) -> SearchResult:
    """`trials` points chosen by TPE on `machine` (a name or path) with
    `machine_values` changed, run in batches of the engine's width."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    base = load_machine(machine)
    searched = base.with_values(machine_values)  # MachineError: values it cannot hold
    values = tuple(sorted(machine_values.items()))
    progress = progress or Progress(trials, enabled=False)
    ran = 0
    seen: list[dict] = []
    asked = 0
    while asked < trials:
        batch = [study.ask() for _ in range(min(max(1, engine.workers), trials - asked))]
        asked += len(batch)
        points = [Point(kernel, size, *suggest(t, levels, searched), values) for t in batch]
        rows, count = _rows_for(points, base, machine, sweep, store, engine)
        ran += count
        for trial, point, row in zip(batch, points, rows):
            if row["status"] == "ok":
                study.tell(trial, row["cycles"])
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            seen.append(row)
            progress.advance(1, f"{point.describe()} {row['status']}")
    progress.finish()
    default = Point(kernel, size, levels[-1], (), values)
    (default_row,), count = _rows_for([default], base, machine, sweep, store, engine)
    ok = [r for r in (*seen, default_row) if r["status"] == "ok"]  # the defaults may win
    return SearchResult(
        sweep, trials, ran + count, fastest(ok) if ok else None,
        default_row if default_row["status"] == "ok" else None, [*seen, default_row],
    )  # fmt: skip


def _rows_for(points, base: Machine, machine: str, sweep: str, store, engine):
    """The store's row of each point, run now where the store has none; and how many ran."""
    ids = [point.identity(base) for point in points]
    done = store.done(ids)
    missing = list({i: p for i, p in zip(ids, points) if i not in done}.values())
    ran = 0
    for rows in engine.run(evaluate, [([p], machine, sweep) for p in missing]):
        ran += store.add(rows)
    found = store.rows(ids)
    return [found[i] for i in ids], ran


def render(result: SearchResult, store_path) -> str:
    """The best point found against the level's defaults, and the Pareto front of
    the points tried."""
    lines = [f"search '{result.sweep}': {result.trials} trials, {result.ran} points run now "
             f"(the rest were in {store_path})"]  # fmt: skip
    if result.best is None:
        return "\n".join([*lines, "  no trial ran correctly: see the store's messages"])
    best = result.best
    chosen = " ".join(f"{k}={best[k]}" for k in ("level", *SEARCHED) if best.get(k) is not None)
    lines.append(f"  fastest: {best['cycles']:,.0f} cycles with {chosen}")
    if result.default is not None:
        speedup = result.default["cycles"] / best["cycles"]
        lines.append(
            f"  the defaults at {result.default['level']}: {result.default['cycles']:,.0f} cycles "
            f"(the fastest is {speedup:.2f}x faster)"
        )
    lines.append("")
    lines.append(front_text(result.rows))
    return "\n".join(lines)
