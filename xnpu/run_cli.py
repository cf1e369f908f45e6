"""
`xnpu-run`: runs a kernel on the simulated NPU and prints its cycle report.

    xnpu-run gelu.mlir --args randn:4096,zeros:4096,4096 --grid 4
    xnpu-run kernel.ttir.mlir --args ... --grid ... --machine edge-npu --json
    xnpu-run gelu.ttir.mlir --level vec+mt+db --args ... --grid 1024 --trace gelu.json

The input is a lowered module, a `tt` module (or Triton's own .ttir), or a module at
the tile level (npu-lower-triton's output); the last two are lowered first at
`--level` (default scalar).
`--args` lists the kernel's arguments in order: for pointers `randn:N`, `rand:N`,
`zeros:N`, `ones:N` or `arange:N` (N may be `ROWSxCOLS`) or a `.npy` file; for
scalars a number. The grid sizes (`--grid 64` or `--grid 8,8`) fill the trailing
`index` arguments. Prints the cycle report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import SSAValue
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException

from xnpu.cli import CommandError, check_output_file, command, read_text, write_file
from xnpu.dialects import xnpu_context
from xnpu.frontend.ttir import TritonFrontendError, parse_ttir
from xnpu.interpreters.simulator.runner import entry_function, run
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.interpreters.simulator.values import UnsupportedType, numpy_dtype
from xnpu.machines import DEFAULT_MACHINE, MachineError, available_machines, load_machine
from xnpu.transforms.pipelines import lower, needs_lowering

GENERATORS = ("randn", "rand", "zeros", "ones", "arange")


class ArgumentSpecError(ValueError):
    pass


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ArgumentSpecError(f"'{text}' is not a size (N or ROWSxCOLS)") from None
    if any(s < 0 for s in shape):
        raise ArgumentSpecError(f"'{text}' has a negative size")
    return shape


def make_argument(spec: str, parameter: SSAValue, rng: np.random.Generator, position: int):
    """One argument from its spec, shaped for `parameter`; errors name the parameter."""
    try:
        return _make_argument(spec.strip(), parameter.type, rng)
    except (ArgumentSpecError, UnsupportedType) as error:
        name = parameter.name_hint or f"arg{position}"
        raise ArgumentSpecError(f"argument {position} ({name}): {error}") from None


def _make_argument(spec: str, type, rng: np.random.Generator):
    if isinstance(type, MemRefType):
        dtype = numpy_dtype(type)
        if spec.endswith(".npy"):
            if not Path(spec).is_file():
                raise ArgumentSpecError(f"no file {spec}")
            loaded = np.load(spec)
            if loaded.dtype != dtype:  # as xnpu.run: no silent conversion
                raise ArgumentSpecError(
                    f"{spec} holds {loaded.dtype}, but the parameter is {type}: save it as "
                    f"{dtype} (a.astype(np.{dtype}))"
                )
            return np.ascontiguousarray(loaded)
        kind, _, size = spec.partition(":")
        if kind not in GENERATORS or not size:
            raise ArgumentSpecError(
                f"'{spec}' is not an array: use {', '.join(g + ':N' for g in GENERATORS)} "
                "or a .npy file"
            )
        shape = _shape(size)
        match kind:
            case "randn":
                return rng.standard_normal(shape).astype(dtype)
            case "rand":
                return rng.random(shape).astype(dtype)
            case "zeros":
                return np.zeros(shape, dtype)
            case "ones":
                return np.ones(shape, dtype)
            case _:
                return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    try:
        return int(spec)
    except ValueError:
        try:
            return float(spec)
        except ValueError:
            raise ArgumentSpecError(f"'{spec}' is not a number (the parameter is {type})") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xnpu-run",
        description="Run a kernel on the simulated NPU and report its cycles.",
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", nargs="?", default="-", help="the module: a .mlir file, or - (default) for stdin"
    )
    parser.add_argument("--symbol", help="function to run (default: the module's only one)")
    parser.add_argument(
        "--args",
        default="",
        help="the kernel's arguments, comma-separated: randn:N, rand:N, zeros:N, "
        "ones:N, arange:N (N or ROWSxCOLS) or FILE.npy for pointers; numbers for scalars",
    )
    parser.add_argument("--grid", required=True, help="programs per grid axis, e.g. 1024 or 64,2")
    parser.add_argument(
        "--machine",
        default=DEFAULT_MACHINE,
        help=f"machine model: a name ({', '.join(available_machines())}) or a .toml path",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for randn/rand arguments")
    parser.add_argument(
        "--level",
        default="scalar",
        help="for tt or tile-level input: the level to lower to: scalar, vec, vec+mt, "
        "vec+mt+db, or any mechanisms joined by + (default: scalar); a module of loops "
        "runs as is",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="run every op through xDSL's own interpreter dispatch instead of xnpu's "
        "compiled blocks: slower, and the same values and cycles (to check the fast path)",
    )
    parser.add_argument(
        "--remarks",
        action="store_true",
        help="print what the passes did, and what they left alone and why",
    )
    parser.add_argument(
        "--save",
        type=Path,
        metavar="FILE.npz",
        help="save the array arguments after the run, by parameter name",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        metavar="FILE.json",
        help="write the timeline in Chrome trace format (open it in ui.perfetto.dev)",
    )
    return parser


def parse_module(text: str, name: str) -> ModuleOp:
    """The module in `text`: Triton's own TTIR (a .ttir file) or MLIR that xnpu reads."""
    if not text.strip():
        raise CommandError(f"{name} holds no operations")
    if name.endswith(".ttir"):
        return parse_ttir(text, name)
    module = Parser(xnpu_context(), text, name).parse_module()
    if not module.body.block.ops:
        raise CommandError(f"{name} holds no operations")
    return module


@command("xnpu-run")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for path, option in ((args.save, "--save"), (args.trace, "--trace")):
            if path is not None:
                check_output_file(path, option)
        text, name = read_text(args.input)
        module = parse_module(text, name)
        machine = load_machine(args.machine)
        if needs_lowering(module):
            module = lower(module, args.level, machine)
        entry = entry_function(module, args.symbol)
        grid = tuple(_shape(args.grid.replace(",", "x")))
        specs = [s for s in args.args.split(",") if s.strip()] if args.args else []
        rng = np.random.default_rng(args.seed)
        arguments = [
            make_argument(spec, parameter, rng, position)
            for position, (spec, parameter) in enumerate(zip(specs, entry.args))
        ]
        report = run(
            module,
            *arguments,
            grid=grid,
            machine=machine,
            function=entry.sym_name.data,
            reference=args.reference,
        )
        if args.trace:
            write_file(args.trace, report.save_trace)
        if args.save:
            arrays = {
                entry.args[i].name_hint or f"arg{i}": a
                for i, a in enumerate(arguments)
                if isinstance(a, np.ndarray)
            }
            write_file(args.save, lambda path: np.savez(path, **arrays))
    except (
        CommandError,
        TritonFrontendError,
        InterpreterError,
        MachineError,
        ArgumentSpecError,
        DiagnosticException,
        ParseError,
        VerifyException,
        ValueError,
    ) as error:
        print(f"xnpu-run: error: {error}", file=sys.stderr)
        return 1
    print(report.to_json() if args.json else report.describe(remarks=args.remarks))
    if report.remarks and not args.remarks and not args.json:
        print(
            f"{len(report.remarks)} remarks from the passes: --remarks shows them", file=sys.stderr
        )
    for path in (args.trace, args.save):
        if path is not None:
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
