"""
The fuzzer's long run: `python -m xnpu.fuzz` with the long run's defaults (seed 2027,
20,000 cases at the four levels on two workers, the table kept in
docs/results/fuzz.txt). Hours, not minutes: CI runs a fixed-seed slice of it
(test/test_fuzz.py). Every option of `python -m xnpu.fuzz` applies:

    python benchmarks/fuzz_long.py [--seed 2027] [--start 0] [--cases 20000] [--jobs 2]
                                   [--variants ladder] [--table docs/results/fuzz.txt]
                                   [--out results/fuzz.jsonl]

Each case's result streams to --out as it arrives. Ctrl-C or a kill (SIGTERM) finishes
the cases under way and writes the table of what was done; `--start` continues from
there (the new table counts only the new cases).
"""

from __future__ import annotations

import sys
from pathlib import Path

from xnpu.fuzz.__main__ import main as fuzz

if __name__ == "__main__":
    sys.exit(
        fuzz(
            prog="python benchmarks/fuzz_long.py",
            seed=2027,
            cases=20000,
            jobs=2,
            variants="ladder",
            table=Path("docs/results/fuzz.txt"),
        )
    )
