"""
A fuzz campaign: many cases over worker processes, each with its own oracle; a case
that outlives the timeout is a hang (its worker is killed and replaced); results are
counted by outcome and by category, and streamed as JSON lines.

    summary = campaign(seed=1, indices=range(1000), jobs=2)
    print(summary.table())
"""

from __future__ import annotations

import json
import multiprocessing
import re
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import TextIO

from xnpu.fuzz.generate import generate
from xnpu.fuzz.oracle import Oracle
from xnpu.fuzz.runner import CaseResult, Run, describe_traceback, run_case

OUTCOMES = ("match", "refused", "defect", "invalid", "hang")


def _work(connection, variants: str) -> None:
    """A worker: runs the cases it is sent and answers each with its result."""
    warnings.filterwarnings("ignore")
    with Oracle() as oracle:
        while True:
            task = connection.recv()
            if task is None:
                return
            seed, index = task
            started = time.perf_counter()
            try:
                result = run_case(generate(seed, index), oracle, variants)
            except Exception as error:  # the fuzzer's own failure: report it, go on
                run = Run("fuzzer", "defect", "exception", describe_traceback(error))
                result = CaseResult(f"{seed}:{index}", {}, "defect", [run])
            result.seconds = time.perf_counter() - started
            connection.send(result)


@dataclass
class _Worker:
    process: multiprocessing.Process
    connection: object
    task: tuple[int, int] | None = None
    started: float = 0.0


@dataclass
class Summary:
    results: list[CaseResult] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    """Interrupted: the cases under way finished, no more started."""

    @property
    def defects(self) -> list[CaseResult]:
        return [r for r in self.results if r.status in ("defect", "hang")]

    def table(self) -> str:
        """Cases by outcome, overall and by category value; the defects, each with its
        replay command."""
        outcomes = Counter(r.status for r in self.results)
        runs = Counter(
            run.status for r in self.results for run in r.runs if run.variant != "oracle"
        )
        lines = [
            ("stopped early: " if self.stopped else "")
            + f"{len(self.results)} cases in {self.seconds:.0f} s: "
            + ", ".join(f"{outcomes[o]} {o}" for o in OUTCOMES)
            + f"; {sum(runs.values())} runs: "
            + ", ".join(f"{runs[s]} {s}" for s in ("match", "refused", "defect")),
            "",
            f"{'category':24} {'value':22} " + " ".join(f"{o:>8}" for o in OUTCOMES),
        ]
        by_value: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for result in self.results:
            for category, value in result.features.items():
                by_value[category, value][result.status] += 1
        for (category, value), counts in sorted(by_value.items()):
            lines.append(
                f"{category:24} {value:22} " + " ".join(f"{counts[o]:>8}" for o in OUTCOMES)
            )
        kinds = Counter(run.kind for r in self.results for run in r.runs if run.status == "defect")
        if self.defects:
            lines += ["", "defects by kind: " + ", ".join(f"{n} {k}" for k, n in kinds.items())]
            for result in self.defects:
                first = next((run for run in result.runs if run.status == "defect"), None)
                what = f"{first.variant}: {first.kind}: {first.message}" if first else "hang"
                lines.append(f"  {result.case}  {what.splitlines()[0][:160]}")
                lines.append(f"      python -m xnpu.fuzz --replay {result.case}")
        refusals = Counter(
            _first_line(run.message)
            for r in self.results
            for run in r.runs
            if run.status == "refused"
        )
        if refusals:
            lines += ["", "refusals, most common first:"]
            lines += [f"  {n:6}  {text}" for text, n in refusals.most_common(12)]
        return "\n".join(lines)


def _first_line(message: str) -> str:
    """A refusal's message without its kernel-specific names and numbers."""
    text = message.splitlines()[0] if message else ""
    text = re.sub(r"@fuzz_\d+_\d+|fuzz_\d+_\d+\.py:\d+:\d+|\d+", "N", text)
    return text[:150]


def campaign(
    seed: int,
    indices: range,
    jobs: int = 1,
    variants: str = "sample",
    timeout: float = 300.0,
    out: Path | None = None,
    progress: TextIO | None = None,
) -> Summary:
    """Runs cases `indices` of `seed` on `jobs` workers (see the module docstring)."""
    context = multiprocessing.get_context("spawn")
    pending = [(seed, index) for index in reversed(indices)]
    workers: list[_Worker] = []
    summary = Summary()
    started = time.perf_counter()
    sink = out.open("w") if out else None
    terminal = progress is not None and progress.isatty()

    def start() -> _Worker:
        parent, child = context.Pipe()
        process = context.Process(target=_work, args=(child, variants), daemon=True)
        process.start()
        return _Worker(process, parent)

    def record(result: CaseResult) -> None:
        summary.results.append(result)
        if sink:
            sink.write(json.dumps(result.to_json()) + "\n")
            sink.flush()
        if progress:
            if result.status in ("defect", "hang"):
                progress.write(f"\r{result.status}: python -m xnpu.fuzz --replay {result.case}\n")
            done = len(summary.results)
            if terminal or done == len(indices) or done % 100 == 0:
                counts = Counter(r.status for r in summary.results)
                rate = done / max(1e-9, time.perf_counter() - started)
                shown = " ".join(f"{o} {counts[o]}" for o in OUTCOMES if counts[o])
                line = f"{done}/{len(indices)} cases ({rate:.2f}/s): {shown}"
                progress.write(f"\r{line}  " if terminal else f"{line}\n")
            progress.flush()

    try:
        workers = [start() for _ in range(min(jobs, len(indices)))]
        while (pending and not summary.stopped) or any(w.task for w in workers):
            for worker in workers:
                if worker.task is None and pending and not summary.stopped:
                    worker.task = pending.pop()
                    worker.started = time.perf_counter()
                    worker.connection.send(worker.task)
            busy = [w for w in workers if w.task]
            try:
                ready = wait([w.connection for w in busy], timeout=1.0)
            except KeyboardInterrupt:  # finish the cases under way, start no more
                summary.stopped = True
                continue
            for worker in busy:
                if worker.connection in ready:
                    try:
                        record(worker.connection.recv())
                        worker.task = None
                        continue
                    except EOFError:  # the worker died with the case
                        status, message = "defect", "the worker process died"
                elif time.perf_counter() - worker.started > timeout:
                    status, message = "hang", f"no answer in {timeout:.0f} s"
                else:
                    continue
                case = f"{worker.task[0]}:{worker.task[1]}"
                result = CaseResult(case, _features(*worker.task), status,
                                    [Run("all", "defect", status, message)])  # fmt: skip
                record(result)
                worker.process.kill()
                worker.process.join()
                replacement = start()
                worker.process, worker.connection, worker.task = (
                    replacement.process, replacement.connection, None)  # fmt: skip
    finally:
        for worker in workers:
            if worker.process.is_alive():
                try:
                    worker.connection.send(None)
                except OSError:
                    pass
                worker.process.join(timeout=5)
                if worker.process.is_alive():
                    worker.process.kill()
        if sink:
            sink.close()
        if progress and terminal:
            progress.write("\n")
    summary.seconds = time.perf_counter() - started
    return summary


def _features(seed: int, index: int) -> dict[str, str]:
    return dict(generate(seed, index).features)
