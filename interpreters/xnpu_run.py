"""
`xnpu-run`: xDSL's runner with xnpu's interpreter functions and timing.

    xnpu-run gelu.mlir --args randn:4096,zeros:4096,4096 --grid 4
    xnpu-run kernel.ttir.mlir --args ... --grid ... --machine edge-npu --json
    xnpu-run gelu.ttir.mlir --level vec+mt+db --args ... --grid 1024 --trace gelu.json

The input is a lowered module, or a `tt` module, which is lowered first at `--level`
(default scalar).
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
from xdsl.context import Context
from xdsl.dialects.builtin import MemRefType
from xdsl.interpreter import Interpreter
from xdsl.tools.xdsl_run import xDSLRunMain
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException

from xnpu.dialects import tt
from xnpu.interpreters.runner import entry_function, register_xnpu_functions, run
from xnpu.interpreters.trace import ExecutionState, InterpreterError
from xnpu.interpreters.values import numpy_dtype
from xnpu.machines import DEFAULT_MACHINE, MachineError, available_machines, load_machine
from xnpu.transforms.pipelines import lower

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


def make_argument(spec: str, type, rng: np.random.Generator):
    """One argument from its spec, shaped for a parameter of `type`."""
    spec = spec.strip()
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


class XnpuRunMain(xDSLRunMain):
    """xdsl-run with xnpu's interpreter functions, arguments and cycle report."""

    def __init__(self, args: Sequence[str] | None = None):
        # xDSLRunMain's set-up, with a parser that lets xnpu redefine --args and --symbol
        self.available_frontends = {}
        self.ctx = Context()
        self.register_all_dialects()
        self.register_all_frontends()
        arg_parser = argparse.ArgumentParser(
            description="Run a kernel on the simulated NPU and report its cycles.",
            epilog=__doc__.split("\n\n", 2)[2],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            conflict_handler="resolve",
        )
        self.register_all_arguments(arg_parser)
        self.args = arg_parser.parse_args(args=args)
        self.ctx.allow_unregistered = self.args.allow_unregistered_dialect

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser):
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--symbol", default=None, help="function to run (default: the module's only one)"
        )
        arg_parser.add_argument(
            "--args",
            default="",
            help="the kernel's arguments, comma-separated: randn:N, rand:N, zeros:N, "
            "ones:N, arange:N (N or ROWSxCOLS) or FILE.npy for pointers; numbers for scalars",
        )
        arg_parser.add_argument(
            "--grid", required=True, help="programs per grid axis, e.g. 1024 or 64,2"
        )
        arg_parser.add_argument(
            "--machine",
            default=DEFAULT_MACHINE,
            help=f"machine model: a name ({', '.join(available_machines())}) or a .toml path",
        )
        arg_parser.add_argument("--seed", type=int, default=0, help="seed for randn/rand arguments")
        arg_parser.add_argument("--json", action="store_true", help="print the report as JSON")
        arg_parser.add_argument(
            "--save", metavar="FILE.npz", help="save every array argument after the run"
        )
        arg_parser.add_argument(
            "--level",
            default="scalar",
            help="for tt input: the level to lower to: scalar, vec, vec+mt, vec+mt+db, or "
            "any mechanisms joined by + (default: scalar); an already lowered module runs as is",
        )
        arg_parser.add_argument(
            "--trace",
            metavar="FILE.json",
            help="write the timeline in Chrome trace format (open it in ui.perfetto.dev)",
        )

    def register_implementations(self, interpreter: Interpreter):
        register_xnpu_functions(interpreter, ExecutionState(load_machine(self.args.machine)))

    def run(self) -> int:
        try:
            input, extension = self.get_input_stream()
            try:
                module = self.parse_chunk(input, extension)
            finally:
                if input is not sys.stdin.buffer:
                    input.close()
            if module is None:
                raise InterpreterError("the input holds no module")
            machine = load_machine(self.args.machine)
            if any(isinstance(op, tt.FuncOp) for op in module.body.block.ops):
                module = lower(module, self.args.level, machine)
            entry = entry_function(module, self.args.symbol)
            grid = tuple(_shape(self.args.grid.replace(",", "x")))
            types = entry.function_type.inputs.data
            specs = [s for s in self.args.args.split(",") if s.strip()] if self.args.args else []
            rng = np.random.default_rng(self.args.seed)
            arguments = [make_argument(s, t, rng) for s, t in zip(specs, types)]
            report = run(
                module, *arguments, grid=grid, machine=machine, function=entry.sym_name.data
            )
        except (
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
        print(report.to_json() if self.args.json else report)
        if self.args.trace:
            report.save_trace(self.args.trace)
            print(f"timeline written to {self.args.trace}", file=sys.stderr)
        if self.args.save:
            arrays = {f"arg{i}": a for i, a in enumerate(arguments) if isinstance(a, np.ndarray)}
            np.savez(self.args.save, **arrays)
        return 0


def main(args: Sequence[str] | None = None) -> int:
    return XnpuRunMain(args).run()


if __name__ == "__main__":
    sys.exit(main())
