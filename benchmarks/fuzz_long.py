"""
The fuzzer's long run: many cases of one seed at every level, its table (outcomes by
category, defects with their replay commands, the commonest refusals) printed and
kept in docs/results/fuzz.txt. Hours, not minutes: CI runs a fixed-seed slice of it
(test/test_fuzz.py).

    python benchmarks/fuzz_long.py [--seed 2027] [--cases 20000] [--jobs 2] [--variants ladder]
                                   [--out docs/results/fuzz.txt] [--jsonl results/fuzz.jsonl]

Each case's result streams to --jsonl as it arrives. Ctrl-C or a kill (SIGTERM)
finishes the cases under way and writes the table of what was done; `--start`
continues from there (the new table counts only the new cases).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from xnpu.cli import check_output_file, write_text
from xnpu.fuzz.campaign import campaign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--variants", choices=("ladder", "sample", "all"), default="ladder")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=Path("docs/results/fuzz.txt"))
    parser.add_argument("--jsonl", type=Path)
    arguments = parser.parse_args()
    for path, option in ((arguments.out, "--out"), (arguments.jsonl, "--jsonl")):
        if path is not None:
            check_output_file(path, option)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill: keep what was done
    summary = campaign(
        arguments.seed,
        range(arguments.start, arguments.start + arguments.cases),
        jobs=arguments.jobs,
        variants=arguments.variants,
        timeout=arguments.timeout,
        out=arguments.jsonl,
        progress=sys.stderr,
    )
    command = (
        f"python benchmarks/fuzz_long.py --seed {arguments.seed} --start {arguments.start} "
        f"--cases {arguments.cases} --jobs {arguments.jobs} --variants {arguments.variants}"
    )
    text = f"$ {command}\n{summary.table()}\n"
    print(text)
    write_text(arguments.out, text)
    return 1 if summary.defects else 0


if __name__ == "__main__":
    sys.exit(main())
