"""
`python -m xnpu.fuzz`: generative differential fuzzing of xnpu against Triton's own
interpreter. See xnpu/fuzz/__init__.py and the README's "Fuzzing" section.

    python -m xnpu.fuzz --seed 1 --cases 200 --jobs 2      # counts by outcome and category
    python -m xnpu.fuzz --replay 1:31                      # print case 31 of seed 1, rerun it
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from pathlib import Path

from xnpu.cli import CommandError, check_output_file, command, write_text
from xnpu.fuzz.campaign import campaign
from xnpu.fuzz.generate import generate
from xnpu.fuzz.oracle import Oracle
from xnpu.fuzz.runner import LADDER, OPTION_VARIANTS, run_case, variant_name


def _case(text: str) -> tuple[int, int]:
    try:
        seed, index = text.split(":")
        return int(seed), int(index)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a case is SEED:INDEX, e.g. 1:31, not {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parser(prog: str = "python -m xnpu.fuzz") -> argparse.ArgumentParser:
    variants = ", ".join(variant_name(*v) for v in [*LADDER, *OPTION_VARIANTS])
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Random Triton kernels from a seed, each run by Triton's interpreter (the oracle) "
            "and by xnpu at every level and option variant; every run is a match, a refusal "
            "with a named error, or a defect (raw exception, run-time error, silent mismatch, "
            "hang, or a failed run that changed an argument). Exits 1 when any case is a defect."
        ),
        epilog=f"Variants: {variants}.",
    )
    p.add_argument("--seed", type=int, default=0, help="the generator's seed (default %(default)s)")
    p.add_argument(
        "--cases", type=_positive, default=100, help="cases to run (default %(default)s)"
    )
    p.add_argument(
        "--start", type=int, default=0, help="index of the first case (default %(default)s)"
    )
    p.add_argument("--replay", type=_case, metavar="SEED:INDEX",
                   help="print one case's kernel and launches, rerun it, and show every run")  # fmt: skip
    p.add_argument(
        "--jobs", type=_positive, default=1, help="worker processes (default %(default)s)"
    )
    p.add_argument(
        "--variants",
        choices=("ladder", "sample", "all"),
        default="sample",
        help="ladder: the four levels; sample: those and two option variants drawn per case; "
        "all: every variant (default %(default)s)",
    )
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds a case may take before it counts as a hang (default %(default)s)")  # fmt: skip
    p.add_argument("--out", type=Path, help="write every case's result as a JSON line to this file")
    p.add_argument("--table", type=Path,
                   help="also write the table, headed by the command that made it, to this file")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def replay(seed: int, index: int, which: str) -> int:
    kernel = generate(seed, index)
    print(f"# case {kernel.case_id}: {json.dumps(kernel.features)}")
    print(kernel.source)
    for number, launch in enumerate(kernel.launches):
        shown = {
            name: (f"{value.dtype}[{value.elements}]{' written' if value.written else ''}"
                   if hasattr(value, "elements") else value)
            for name, value in launch.values.items()
        }  # fmt: skip
        print(f"# launch {number}: grid {launch.grid}, constexprs {kernel.constexprs}, {shown}")
    with Oracle() as oracle:
        result = run_case(kernel, oracle, which)
    for run in result.runs:
        detail = f" [{run.kind}]" if run.kind else ""
        print(f"{run.variant:50} {run.status}{detail}")
        if run.message:
            print("    " + run.message.replace("\n", "\n    "))
    print(f"# {result.status}")
    return 1 if result.status == "defect" else 0


@command("python -m xnpu.fuzz")
def main(
    argv: list[str] | None = None, prog: str = "python -m xnpu.fuzz", **defaults: object
) -> int:
    """The command; `prog` and `defaults` (option name to value) let a script be the
    same command with other defaults."""
    argv = sys.argv[1:] if argv is None else argv
    options = parser(prog)
    options.set_defaults(**defaults)
    arguments = options.parse_args(argv)
    try:
        if arguments.replay:
            return replay(*arguments.replay, arguments.variants)
        for path, option in ((arguments.out, "--out"), (arguments.table, "--table")):
            if path is not None:
                check_output_file(path, option)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill keeps what was done
        summary = campaign(
            arguments.seed,
            range(arguments.start, arguments.start + arguments.cases),
            jobs=arguments.jobs,
            variants=arguments.variants,
            timeout=arguments.timeout,
            out=arguments.out,
            progress=None if arguments.quiet else sys.stderr,
        )
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.table())
    if arguments.table:
        write_text(arguments.table, f"$ {prog} {shlex.join(argv)}\n{summary.table()}\n")
    return 1 if summary.defects else 0


if __name__ == "__main__":
    sys.exit(main())
