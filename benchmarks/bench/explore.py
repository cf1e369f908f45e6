"""
`xnpu-bench explore`: a sweep over kernels x sizes x levels x compiler options x machine
values, run on Ray (or in this process), every output checked against PyTorch, each
result written to a DuckDB store as it arrives. Run the same command again and it
does only the points the store does not hold: a killed sweep resumes where it stopped.

    xnpu-bench explore --spec sweep.toml --store results.duckdb
    xnpu-bench explore --kernel gelu softmax --sizes 64K,1M --level vec+mt vec+mt+db \\
        --set ddr.bytes_per_cycle=2.4,4.77,9.54 --option contexts=1,2,4 \\
        --store results.duckdb --plot figures/ [--address ray://head:10001]

Afterwards: the points by outcome, each kernel's fastest point and its Pareto front
(time vs scratchpad bytes vs contexts), and the plots (sensitivity, DB gain, Pareto).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from xnpu.bench.engine import Engine, code_fingerprint, evaluate, tasks_for
from xnpu.bench.output import Progress, table
from xnpu.bench.store import FIXED_COLUMNS, ResultStore
from xnpu.bench.sweep import Point, SweepSpec
from xnpu.transforms.pipelines import OPTION_MECHANISM

PARETO_OBJECTIVES = ("cycles", "scratchpad_bytes", "contexts_used")
"""What a Pareto front trades: time, scratchpad held, contexts used (all minimized)."""


@dataclass
class SweepRun:
    """What one invocation did: points asked for, found done in the store, run now."""

    sweep: str
    points: int
    already_done: int
    ran: int
    seconds: float
    other_code: int = 0
    """Points found in the store that other xnpu code measured (kept, not rerun)."""
    ids: list[str] = field(default_factory=list)
    """The sweep's points' ids, to read its rows back (store.rows)."""

    @property
    def points_per_second(self) -> float:
        return self.ran / self.seconds if self.seconds else 0.0


WRITE_EVERY = 1.0
"""Seconds between the store's writes: a write (a commit) costs several milliseconds, a
task often less than a tenth of a second; `kill -9` loses at most this much work, which
the next run redoes."""


class StopRequest:
    """Ctrl-C or `kill` during a sweep, inside `with StopRequest() as stop:` the task in
    hand finishes and is stored, then the sweep stops (KeyboardInterrupt) at a point
    where the store holds whole results; a second Ctrl-C stops at once, `kill -9` too."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        # only a second Ctrl-C is urgent: Ray's own handler passes a SIGTERM on twice
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            # None: a handler installed outside Python (Ray's), which cannot be put back
            signal.signal(number, signal.SIG_DFL if handler is None else handler)

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


def run_sweep(
    spec: SweepSpec,
    store: ResultStore,
    engine: Engine,
    progress: Progress | None = None,
    points: Sequence[Point] | None = None,
    stop: StopRequest | None = None,
) -> SweepRun:
    """Runs the spec's points (or `points` of it) the store does not hold yet,
    writing the rows of the tasks finished every WRITE_EVERY seconds and when the sweep
    ends or stops (after the task in hand, when `stop` is requested)."""
    ids = spec.identities(points)
    done = store.done(list(ids))
    other_code = store.measured_by_other_code(done, code_fingerprint())
    todo = [point for i, point in ids.items() if i not in done]
    progress = progress or Progress(len(todo), enabled=False)
    progress.total = len(todo)
    started = time.perf_counter()
    tasks = [(task, spec.machine, spec.name) for task in tasks_for(todo)]
    pending: list[dict] = []
    ran, flushed = 0, time.perf_counter()
    try:
        for rows in engine.run(evaluate, tasks):
            pending += rows
            progress.advance(len(rows), _short(rows[-1]))
            if time.perf_counter() - flushed >= WRITE_EVERY:
                ran += store.add(pending)
                pending, flushed = [], time.perf_counter()
            if stop is not None:
                stop.check()
    finally:  # finished points are kept however the sweep ends, but by kill -9
        ran += store.add(pending)
    progress.finish()
    seconds = time.perf_counter() - started
    return SweepRun(spec.name, len(ids), len(done), ran, seconds, other_code, list(ids))


def _short(row: dict) -> str:
    return f"{row['kernel']} {row['size']:,} {row['level']} {row['status']}"


def pareto_front(records: Sequence[dict], objectives: Sequence[str] = PARETO_OBJECTIVES):
    """The records no other record beats: at most as much of every objective, less of
    one, in whole units (cycles a float's rounding apart are a tie). Records with an
    objective missing are left out."""
    scored = [r for r in records if all(r.get(o) is not None for o in objectives)]
    whole = {id(r): [round(r[o]) for o in objectives] for r in scored}

    def dominates(a: dict, b: dict) -> bool:
        pairs = list(zip(whole[id(a)], whole[id(b)]))
        return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)

    front = [r for r in scored if not any(dominates(other, r) for other in scored)]
    unique = {tuple(whole[id(r)]): r for r in front}  # ties: one of them
    return sorted(unique.values(), key=lambda r: tuple(r[o] for o in objectives))


def fastest(records: Sequence[dict]) -> dict:
    """The fastest record; among ties in whole cycles, the one holding the least
    scratchpad, then using the fewest contexts."""
    return min(records, key=lambda r: (round(r["cycles"]), r["scratchpad_bytes"],
                                       r["contexts_used"]))  # fmt: skip


def swept_columns(records: Sequence[dict]) -> list[str]:
    """The level, style, option and machine-value columns the records vary over."""
    names = dict.fromkeys(name for r in records for name in r)
    candidates = ["level", "style", *(n for n in names if n not in FIXED_COLUMNS)]
    return [c for c in candidates if len({r.get(c) for r in records}) > 1]


def _setting(record: dict, columns: Sequence[str]) -> str:
    shown = [f"{c}={record[c]}" for c in columns if record.get(c) is not None]
    return " ".join(shown) or "(defaults)"


def _by_problem(failed: Sequence[dict]) -> list[tuple[str, int, str]]:
    """Failed records grouped by status and the first clause of their message: (status,
    how many, an example message), the commonest first."""
    groups: dict[tuple, list[str]] = {}
    for r in failed:
        groups.setdefault((r["status"], (r["message"] or "").split(":")[0]), []).append(
            r["message"] or ""
        )
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    return [(status, len(messages), messages[0]) for (status, _), messages in ordered]


def summary(records: Sequence[dict], run: SweepRun, store_path, where: str) -> str:
    """The sweep's outcome counts, its failures by kind, and per kernel and size its
    fastest point and Pareto front (`records`: the sweep's rows)."""
    lines = [
        f"sweep '{run.sweep}' in {store_path}: {run.points:,} points; {run.already_done:,} were "
        f"in the store, {run.ran:,} ran now on {where} in {run.seconds:.1f} s "
        f"({run.points_per_second:.1f} points/s)"
    ]
    if run.other_code:
        lines.append(
            f"  note: {run.other_code:,} of the points in the store were measured by other xnpu "
            f"code than this (its `code` column); a new --store measures them again"
        )
    counts: dict[str, int] = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append("  by outcome: " + ", ".join(f"{s} {n:,}" for s, n in sorted(counts.items())))
    for status, count, example in _by_problem([r for r in records if r["status"] != "ok"])[:5]:
        lines.append(f"  {status} ({count:,}), e.g.: {example[:300]}")
    ok = [r for r in records if r["status"] == "ok"]
    varying = swept_columns(ok)
    rows = []
    for (kernel, size), group in sorted(by_kernel_and_size(ok).items()):
        best = fastest(group)
        slowest = max(r["cycles"] for r in group)
        rows.append([
            kernel, f"{size:,}", f"{len(group):,}", f"{best['cycles']:,.0f}",
            f"{slowest / best['cycles']:.2f}x", str(len(pareto_front(group))),
            _setting(best, varying),
        ])  # fmt: skip
    if rows:
        headers = ["kernel", "size", "points", "fastest cycles", "slowest/fastest",
                   "Pareto points", "fastest point"]  # fmt: skip
        lines += ["", table(headers, rows)]
    return "\n".join(lines)


def by_kernel_and_size(records: Sequence[dict]) -> dict[tuple, list[dict]]:
    """The records grouped by (kernel, size)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["kernel"], r["size"]), []).append(r)
    return groups


def front_text(records: Sequence[dict]) -> str:
    """The Pareto front of one kernel's records at one size, as a table."""
    ok = [r for r in records if r["status"] == "ok"]
    varying = swept_columns(ok)
    rows = [
        [f"{r['cycles']:,.0f}", f"{r['scratchpad_bytes']:,}", str(r["contexts_used"]),
         _setting(r, varying)]
        for r in pareto_front(ok)
    ]  # fmt: skip
    kernel, size = ok[0]["kernel"], ok[0]["size"]
    return f"Pareto front of {kernel} at {size:,} (time vs scratchpad vs contexts):\n" + table(
        ["cycles", "scratchpad bytes", "contexts", "point"], rows
    )


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Swing:
    """How far one parameter alone moves a kernel's time: slowest over fastest, the
    median and the largest over every setting of the other parameters."""

    median: float
    largest: float

    def __str__(self) -> str:
        return f"{self.median:.2f}x (max {self.largest:.2f}x)"


def sensitivity(records: Sequence[dict], columns: Sequence[str]) -> dict[str, dict[str, Swing]]:
    """kernel -> column -> its Swing (1: the kernel does not care)."""
    found: dict[str, dict[str, Swing]] = {}
    for column in columns:
        # a level's points hold no value for the options only other levels read
        held = [c for c in columns if column != "level" or c not in OPTION_MECHANISM]
        others = [c for c in dict.fromkeys((*held, "size", "style")) if c != column]
        groups: dict[tuple, list[float]] = {}
        for r in records:
            key = (r["kernel"], *(r.get(c) for c in others))
            groups.setdefault(key, []).append(r["cycles"])
        swings: dict[str, list[float]] = {}
        for key, cycles in groups.items():
            if len(cycles) > 1:
                swings.setdefault(key[0], []).append(max(cycles) / min(cycles))
        for kernel, values in swings.items():
            found.setdefault(kernel, {})[column] = Swing(median(values), max(values))
    return found


def db_gains(records: Sequence[dict], columns: Sequence[str], base_level: str = "vec+mt"):
    """For every point at `base_level` + db, the time of the same point at
    `base_level` over its own (DB's speedup); as (record with db, gain) pairs."""
    db_level = base_level + "+db"
    matched = [c for c in dict.fromkeys((*columns, "size", "style"))
               if OPTION_MECHANISM.get(c) != "db" and c != "level"]  # fmt: skip
    bases = {
        (r["kernel"], *(r.get(c) for c in matched)): r["cycles"]
        for r in records
        if r["level"] == base_level
    }
    pairs = []
    for r in records:
        if r["level"] == db_level:
            base = bases.get((r["kernel"], *(r.get(c) for c in matched)))
            if base is not None:
                pairs.append((r, base / r["cycles"]))
    return pairs


def sensitivity_text(records: Sequence[dict], columns: Sequence[str]) -> str:
    found = sensitivity(records, columns)
    shown = [c for c in columns if any(c in by for by in found.values())]
    rows = [[kernel, *(str(by[c]) if c in by else "-" for c in shown)]
            for kernel, by in sorted(found.items())]  # fmt: skip
    heading = (
        "sensitivity: slowest/fastest as one parameter alone moves, the median and the largest\n"
        "over every setting of the others:\n"
    )
    return heading + table(["kernel", *shown], rows)
