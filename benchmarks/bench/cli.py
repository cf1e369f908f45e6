"""
`xnpu-bench`: the paper's experiments on a simulated NPU. Every run's outputs are
compared with PyTorch before its timing is reported.

    xnpu-bench ladder [--kernel K ...] [--size N] [--machine M]
    xnpu-bench mt-scaling [--kernel gelu ...] [--sizes 4K,8K,...,16M] [--contexts 4]
    xnpu-bench db-sweep [--degrees 1,2,4,...] [--size N] [--contexts 1,4]
    xnpu-bench paper
    ... [--json FILE] [--csv FILE] [--plot FILE.png] [--out DIR] [--quiet]
    xnpu-bench explore [--spec FILE.toml] [--kernel K ...] [--sizes LIST] [--set KEY=V,V]
                       [--option NAME=V,V] [--store FILE] [--plot DIR] [--address ADDR]
    xnpu-bench search --kernel K [--size N] [--trials N] [--store FILE]
    xnpu-bench query STORE [SQL]
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import sys
import time
from pathlib import Path

from xnpu.bench import db_sweep, engine, explore, ladder, mt_scaling, paper, search, sweep
from xnpu.bench.explore_plots import write_plots
from xnpu.bench.measure import (
    ELEMENTWISE,
    FIXED_SHAPE,
    MATRIX_KERNELS,
    ROW_KERNELS,
    STYLES,
    BenchError,
)
from xnpu.bench.output import Progress, table, write_csv, write_json
from xnpu.bench.published import ELEMENTS, FIGURES, runs_needed
from xnpu.bench.store import ResultStore
from xnpu.cli import (
    CommandError,
    check_output_directory,
    check_output_file,
    command,
    write_file,
)
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.machines import (
    DEFAULT_MACHINE,
    MACHINES_DIR,
    MachineError,
    available_machines,
    load_machine,
)

EXPERIMENTS = {"ladder": ladder, "mt-scaling": mt_scaling, "db-sweep": db_sweep, "paper": paper}


def _sizes(text: str) -> list[int]:
    try:
        return mt_scaling.parse_sizes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _size(text: str) -> int:
    sizes = _sizes(text)
    if len(sizes) != 1:
        raise argparse.ArgumentTypeError(f"expected one size (e.g. 1048576 or 1M), got '{text}'")
    return sizes[0]


def _count(text: str) -> int:
    counts = _counts(text)
    if len(counts) != 1:
        raise argparse.ArgumentTypeError(f"expected one positive integer, got '{text}'")
    return counts[0]


def _counts(text: str) -> list[int]:
    try:
        counts = [int(item) for item in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, got '{text}'"
        )
    return sorted(set(counts))


def parser() -> argparse.ArgumentParser:
    kernels = ELEMENTWISE + ROW_KERNELS + FIXED_SHAPE + MATRIX_KERNELS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--machine",
        default=DEFAULT_MACHINE,
        help=f"machine model: a name ({', '.join(available_machines())}) or a .toml path "
        f"(default {DEFAULT_MACHINE})",
    )
    common.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    common.add_argument("--csv", type=Path, metavar="FILE", help="write the rows as CSV")
    common.add_argument("--plot", type=Path, metavar="FILE.png", help="draw the plot as a PNG")
    common.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write COMMAND.txt, .json, .csv and .png into DIR (created if needed)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    common.add_argument(
        "--remarks",
        action="store_true",
        help="after the table, what the passes did and left alone in every run, and why",
    )

    top = argparse.ArgumentParser(
        prog="xnpu-bench",
        description="The paper's experiments (arXiv 2602.20204) on a simulated edge NPU: every output is "
        "checked against PyTorch, then timed on the machine model.",
        epilog="Sizes are element counts; K = 1024, M = 1024**2.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "ladder",
        parents=[common],
        help="scalar -> vec -> vec+mt -> vec+mt+db, and DB's parts",
        description=ladder.__doc__,
    )
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--kernel",
        nargs="+",
        choices=kernels,
        default=list(ladder.DEFAULT_KERNELS),
        metavar="K",
        help=f"kernels to run (default: {' '.join(ladder.DEFAULT_KERNELS)}; choose from {', '.join(kernels)})",
    )
    p.add_argument(
        "--size",
        type=_size,
        default=ELEMENTS,
        metavar="N",
        help=f"elements per kernel (default {ELEMENTS:,}, as in the paper)",
    )
    p.add_argument(
        "--style",
        nargs="+",
        choices=STYLES,
        default=list(STYLES[::-1]),
        help="launch styles of the element-wise kernels: reference (one program of BLOCK = N, "
        "as hexagon-mlir launches them) and grid (BLOCK as written); default both",
    )

    p = commands.add_parser(
        "mt-scaling",
        parents=[common],
        help="1 context against several, over sizes; crossover",
        description=mt_scaling.__doc__,
    )
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--kernel",
        nargs="+",
        choices=kernels,
        default=["gelu"],
        metavar="K",
        help="kernels, each its own curve (default gelu)",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=list(mt_scaling.DEFAULT_SIZES),
        metavar="LIST",
        help="comma-separated sizes (default 1K,2K,4K,...,16M)",
    )
    p.add_argument(
        "--contexts",
        type=_count,
        default=None,
        metavar="N",
        help="contexts for vec+mt (default: the machine's vector contexts)",
    )

    p = commands.add_parser(
        "db-sweep",
        parents=[common],
        help="DB's gain against arithmetic intensity",
        description=db_sweep.__doc__,
    )
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--degrees",
        type=_counts,
        default=list(db_sweep.DEFAULT_DEGREES),
        metavar="LIST",
        help=f"polynomial degrees (default {','.join(map(str, db_sweep.DEFAULT_DEGREES))})",
    )
    p.add_argument(
        "--size",
        type=_size,
        default=db_sweep.DEFAULT_ELEMENTS,
        metavar="N",
        help=f"elements per run (default {db_sweep.DEFAULT_ELEMENTS:,})",
    )
    p.add_argument(
        "--contexts",
        type=_counts,
        default=None,
        metavar="LIST",
        help="context counts to sweep (default: 1 and the machine's vector contexts)",
    )

    commands.add_parser(
        "paper",
        parents=[common],
        help="the published figures beside the simulated ones",
        description=paper.__doc__,
    )
    _explorer_parsers(commands, kernels)
    return top


DEFAULT_STORE = Path("xnpu-explore.duckdb")


def _explorer_parsers(commands, kernels: list[str]) -> None:
    """explore, search and query: runs that go to a result store (store.py)."""
    runs = argparse.ArgumentParser(add_help=False)
    runs.add_argument(
        "--machine",
        default=None,
        help=f"the base machine model, whose values --set changes: a name "
        f"({', '.join(available_machines())}) or a .toml path (default {DEFAULT_MACHINE})",
    )
    runs.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=V[,V...]",
        help="machine values (any machine-file key, section.name), e.g. "
        "--set ddr.bytes_per_cycle=2.4,4.77 (repeatable)",
    )
    runs.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"the DuckDB result store, created if missing (default {DEFAULT_STORE})",
    )
    runs.add_argument(
        "--name",
        help="the sweep's name in the store (explore: default the spec's, or 'explore'; "
        "search: the prefix of each kernel's, default 'search')",
    )
    runs.add_argument(
        "--engine",
        choices=engine.BACKENDS,
        default="ray",
        help="ray: Ray tasks, on this machine's cores or the cluster at --address (default); "
        "local: one by one in this process",
    )
    runs.add_argument(
        "--address", help="a Ray cluster's address (ray://HOST:10001 or auto); default: a local Ray"
    )
    runs.add_argument(
        "--jobs", type=_count, default=None, help="cores a local Ray uses (default: all)"
    )
    runs.add_argument("--quiet", action="store_true", help="no progress bar on stderr")

    p = commands.add_parser(
        "explore",
        parents=[runs],
        help="a sweep of kernels x sizes x levels x options x machine values, into a store",
        description=explore.__doc__,
    )
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--spec", type=Path, metavar="FILE.toml", help="the sweep, as a TOML file "
                   "(the options below add to it)")  # fmt: skip
    p.add_argument("--kernel", nargs="+", default=[], metavar="K",
                   help=f"corpus kernels ({', '.join(kernels)}) or workload files (FILE.py: "
                   "inputs, run and reference; see xnpu.bench.workload)")  # fmt: skip
    p.add_argument("--sizes", type=_sizes, default=[], metavar="LIST",
                   help="sizes, comma-separated (64K,1M: elements; matmul: n; "
                   "flash_attention: length)")  # fmt: skip
    p.add_argument("--level", nargs="+", default=[], metavar="L",
                   help="levels (default vec+mt+db)")  # fmt: skip
    p.add_argument("--style", nargs="+", choices=STYLES, default=[], help="launch styles "
                   "(default grid)")  # fmt: skip
    p.add_argument("--option", action="append", default=[], metavar="NAME=V[,V...]",
                   help=f"compiler options ({', '.join(sweep.SWEPT_OPTIONS)}), e.g. "
                   "--option contexts=1,2,4 (repeatable)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="say how many points there are and how many the store holds; run none")  # fmt: skip
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="write sensitivity.png, db_gain.png and pareto.png into DIR")  # fmt: skip
    p.add_argument("--parquet", type=Path, metavar="FILE", help="also export the sweep's rows "
                   "as Parquet")  # fmt: skip

    p = commands.add_parser(
        "search",
        parents=[runs],
        help="each kernel's fastest compiler options, by Optuna over simulated time",
        description=search.__doc__,
    )
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--kernel", required=True, nargs="+", metavar="K",
                   help=f"corpus kernels ({', '.join(kernels)}) or workload files (FILE.py): "
                   "a search each")  # fmt: skip
    p.add_argument("--size", type=_size, default=1 << 20, metavar="N",
                   help="its size (default 1M elements)")  # fmt: skip
    p.add_argument("--level", nargs="+", default=["vec+mt+db"], metavar="L",
                   help="levels the search may pick (default vec+mt+db)")  # fmt: skip
    p.add_argument("--trials", type=_count, default=60, help="points to try (default 60)")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default 0)")

    p = commands.add_parser(
        "query",
        help="SQL over a result store (default: what it holds, by sweep)",
        description="Runs SQL over a result store's table `points` (columns: store.py) and "
        "prints the rows; without SQL, the sweeps it holds.",
    )
    p.add_argument("store", type=Path, help="the DuckDB result store")
    p.add_argument("sql", nargs="?", help="the query (table: points)")
    p.add_argument("--parquet", type=Path, metavar="FILE", help="export every row as Parquet")


def _check_outputs(args) -> None:
    """Fails before any run when an output could not be written afterwards."""
    for option in ("json", "csv", "plot"):
        path = getattr(args, option)
        if path is None:
            continue
        check_output_file(path, f"--{option}")
        if option == "plot" and path.suffix.lower() != ".png":
            raise CommandError(f"--plot {path}: plots are PNG files; name it *.png")
    if args.out is not None:
        check_output_directory(args.out, "--out")


def _check_contexts(counts: list[int], machine) -> None:
    limit = machine.core.hardware_threads
    if max(counts) > limit:
        raise BenchError(
            f"--contexts {max(counts)}: machine {machine.name} has {limit} hardware threads"
        )


def steps(args, machine) -> int:
    """How many measurements `args` asks for (the progress bar's length)."""
    match args.command:
        case "ladder":
            pairs = ladder.launches(list(dict.fromkeys(args.kernel)), args.style)
            return len(pairs) * len(ladder.VARIANTS)
        case "mt-scaling":
            return 3 * len(set(args.kernel)) * len(args.sizes)
        case "db-sweep":
            return 3 * len(args.degrees) * len(_sweep_contexts(args, machine))
    return len(runs_needed(FIGURES))


def _sweep_contexts(args, machine) -> list[int]:
    return args.contexts or sorted({1, machine.core.vector_contexts})


def run(args, machine, progress: Progress) -> dict:
    """Runs the experiment `args` names; returns its result."""
    match args.command:
        case "ladder":
            result = ladder.run(
                list(dict.fromkeys(args.kernel)), args.size, machine, progress, args.style
            )
        case "mt-scaling":
            contexts = args.contexts or machine.core.vector_contexts
            _check_contexts([contexts], machine)
            result = mt_scaling.run(
                list(dict.fromkeys(args.kernel)), args.sizes, contexts, machine, progress
            )
        case "db-sweep":
            contexts = _sweep_contexts(args, machine)
            _check_contexts(contexts, machine)
            result = db_sweep.run(args.degrees, args.size, contexts, machine, progress)
        case _:
            result = paper.run(machine, progress)
    source = Path(machine.source)
    bundled = source.parent.resolve() == MACHINES_DIR.resolve()
    result["machine_file"] = f"machines/{source.name}" if bundled else str(source)
    result["xnpu_version"] = importlib.metadata.version("xnpu")
    return result


def remarks_text(result: dict) -> str:
    """The passes' remarks of every run that kept them, a block per run."""
    lines = ["remarks (what the passes did, and what they left alone and why):"]
    for row in result["rows"]:
        if "remarks" in row:
            lines.append(f"  {row.get('kernel', '')} {row.get('variant', '')}".rstrip() + ":")
            lines += [f"    {remark}" for remark in row["remarks"]] or ["    (none)"]
    return "\n".join(lines)


def write_outputs(args, result: dict, text: str) -> list[str]:
    """Writes what the options ask for, each file whole or not at all; returns the
    paths written."""
    experiment = EXPERIMENTS[args.command]
    outputs = {".json": args.json, ".csv": args.csv, ".png": args.plot}
    writers = {".json": write_json, ".csv": write_csv, ".png": experiment.plot}
    jobs = []
    if args.out:
        stem = args.out / args.command
        outputs = {suffix: path or stem.with_suffix(suffix) for suffix, path in outputs.items()}
        jobs.append((stem.with_suffix(".txt"), lambda path: path.write_text(text + "\n")))
    for suffix, path in outputs.items():
        if path:
            jobs.append((path, functools.partial(writers[suffix], result)))
    for path, write in jobs:
        write_file(path, write)
    return [str(path) for path, _ in jobs]


def explore_spec(args) -> sweep.SweepSpec:
    """The sweep the spec file and the command line describe together: the command
    line's kernels, sizes, levels and styles add to the file's; its options and
    machine values replace the file's for the same key."""
    if args.spec:
        spec = sweep.load_spec(args.spec, mt_scaling.parse_sizes)
    else:
        spec = sweep.SweepSpec([], [], [], name="explore")
    spec.kernels = list(dict.fromkeys(spec.kernels + args.kernel))
    spec.sizes = list(dict.fromkeys(spec.sizes + args.sizes))
    spec.levels = list(dict.fromkeys(spec.levels + args.level)) or ["vec+mt+db"]
    spec.styles = list(dict.fromkeys(spec.styles + args.style)) if args.style else spec.styles
    spec.options |= sweep.parse_assignments(args.option, "--option")
    spec.machine_values |= sweep.parse_assignments(args.set, "--set")
    spec.machine = args.machine or spec.machine
    spec.name = args.name or spec.name
    return spec


def _explore(args, started: float) -> int:
    spec = explore_spec(args)
    points = spec.points()
    for note in spec.left_out():
        print(f"xnpu-bench explore: left out {note}", file=sys.stderr)
    if args.parquet:
        check_output_file(args.parquet, "--parquet")
    if args.plot:
        check_output_directory(args.plot, "--plot")
    store_path = args.store or DEFAULT_STORE
    with ResultStore(store_path) as store:
        if args.dry_run:
            done = store.done(list(spec.identities(points)))
            print(
                f"sweep '{spec.name}': {len(points):,} points, {len(done):,} of them in {store_path}"
            )
            return 0
        # the stop handlers after Ray's start: they replace its own, which ends the process
        with (
            engine.Engine(args.engine, args.address, args.jobs) as runner,
            explore.StopRequest() as stop,
        ):
            progress = Progress(len(points), enabled=not args.quiet)
            try:
                result = explore.run_sweep(spec, store, runner, progress, stop=stop)
            except KeyboardInterrupt:
                progress.finish()
                kept = len(store.done(list(spec.identities(points))))
                print(
                    f"xnpu-bench explore: interrupted; {kept:,} of the {len(points):,} points "
                    f"are in {store_path}: run the same command to do the rest",
                    file=sys.stderr,
                )
                raise
            where = runner.where()
        records = list(store.rows(result.ids).values())  # whichever sweep measured them
        print(explore.summary(records, result, store_path, where))
        ok = [r for r in records if r["status"] == "ok"]
        columns = explore.swept_columns(ok)
        if ok and columns:
            print("\n" + explore.sensitivity_text(ok, columns))
        written = []
        if args.plot:
            written += [str(p) for p in write_plots(ok, columns, args.plot)]
        if args.parquet:
            store.export_parquet(args.parquet, result.ids)
            written.append(str(args.parquet))
    if written:
        print(f"wrote {', '.join(written)}", file=sys.stderr)
    print(f"wall time {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _search(args, started: float) -> int:
    fixed = sweep.parse_assignments(args.set, "--set")
    several = [key for key, values in fixed.items() if len(values) > 1]
    if several:
        raise BenchError(f"--set {several[0]}: a search runs on one machine; give one value")
    kernels = list(dict.fromkeys(args.kernel))
    sweep.SweepSpec(kernels, [args.size], list(args.level)).check()  # names what is wrong
    machine = args.machine or DEFAULT_MACHINE
    with (
        ResultStore(args.store or DEFAULT_STORE) as store,
        engine.Engine(args.engine, args.address, args.jobs) as runner,
    ):
        for kernel in kernels:
            name = f"{args.name or 'search'} {kernel} {args.size}"
            progress = Progress(args.trials, enabled=not args.quiet)
            result = search.search(
                kernel, args.size, args.level, args.trials, machine,
                {k: v[0] for k, v in fixed.items()}, store, runner, name, args.seed, progress,
            )  # fmt: skip
            print(search.render(result, store.path) + "\n")
    print(f"wall time {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _query(args) -> int:
    with ResultStore(args.store, read_only=True) as store:
        sql = args.sql or (
            "SELECT sweep, count(*) AS points, count_if(status = 'ok') AS ok, "
            "min(finished) AS first, max(finished) AS last FROM points GROUP BY sweep ORDER BY first"
        )
        names, rows = store.query(sql)
        if names:
            print(table(names, [[_cell(v) for v in row] for row in rows]))
            print(f"({len(rows):,} rows)", file=sys.stderr)
        if args.parquet:
            check_output_file(args.parquet, "--parquet")
            store.export_parquet(args.parquet)
            print(f"wrote {args.parquet}", file=sys.stderr)
    return 0


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return "NULL" if value is None else str(value)


EXPLORER = {"explore": _explore, "search": _search}


@command("xnpu-bench")
def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    if args.command in (*EXPLORER, "query"):
        try:
            return (
                _query(args) if args.command == "query" else EXPLORER[args.command](args, started)
            )
        except (BenchError, CommandError, MachineError) as error:
            print(f"xnpu-bench {args.command}: error: {error}", file=sys.stderr)
            return 1
    try:
        _check_outputs(args)
        machine = load_machine(args.machine)
        progress = Progress(steps(args, machine), enabled=not args.quiet)
        try:
            result = run(args, machine, progress)
        finally:
            progress.finish()
    except (BenchError, CommandError, MachineError, InterpreterError) as error:
        print(f"xnpu-bench {args.command}: error: {error}", file=sys.stderr)
        return 1
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    text = EXPERIMENTS[args.command].render(result)
    if args.remarks:
        text += "\n\n" + remarks_text(result)
    print(text)
    try:
        written = write_outputs(args, result, text)
    except CommandError as error:
        print(f"xnpu-bench {args.command}: error: {error}", file=sys.stderr)
        return 1
    if written:
        print(f"wrote {', '.join(written)}", file=sys.stderr)
    print(f"wall time {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.command == "paper" and paper.failed(result):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
