"""
How results leave the runner: terminal tables, JSON, CSV, PNG plots, and the
progress bar. A result is a JSON-ready dict whose "rows" are flat (one CSV line each).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per step
    otherwise (CI logs); silent when disabled."""

    WIDTH = 24
    LOG_EVERY = 5.0
    """Seconds between `advance` lines when the stream is not a terminal."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.logged = 0.0

    def step(self, what: str) -> None:
        """Announces the step about to run."""
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            self._show(f"{self._bar()} {self.done + 1}/{self.total} {what} ({elapsed:.0f} s)")
        self.done += 1

    def advance(self, count: int, what: str) -> None:
        """Counts `count` finished steps, the last of which was `what`, with the rate and
        the time left at that rate; off a terminal, a line every LOG_EVERY seconds."""
        self.done += count
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate else 0.0
        line = (
            f"{self._bar()} {self.done}/{self.total} {rate:.1f}/s, {left:.0f} s left; last: {what}"
        )
        if (
            self.stream.isatty()
            or elapsed - self.logged >= self.LOG_EVERY
            or self.done >= self.total
        ):
            self._show(line)
            self.logged = elapsed

    def _bar(self) -> str:
        filled = self.WIDTH * self.done // max(self.total, 1)
        return "[" + "#" * filled + "." * (self.WIDTH - filled) + "]"

    def _show(self, line: str) -> None:
        """The line, redrawn in place (cut to the width) on a terminal, else its own line."""
        if self.stream.isatty():
            columns = shutil.get_terminal_size().columns - 1
            self.stream.write("\r\033[K" + line[:columns])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.stream.isatty():
            self.stream.write("\r\033[K")
            self.stream.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Columns padded to their widest cell: the first left-aligned, the rest right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells) -> str:
        padded = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return indent + "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def times(value: float | None) -> str:
    """A speedup as "41.3x" ("-" when there is none)."""
    return "-" if value is None else f"{value:,.2f}x"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=2) + "\n")


RUN_COLUMNS = ("command", "machine", "machine_file", "xnpu_version", "elements")
"""What every CSV row repeats from the run, so that a row read alone says what it is."""


def write_csv(result: dict, path: Path) -> None:
    run = {key: result[key] for key in RUN_COLUMNS if key in result}
    rows = [run | row for row in result["rows"]]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
            )


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported when first plotting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
