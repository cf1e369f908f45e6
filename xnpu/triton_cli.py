"""
`xnpu-triton`: a Triton kernel as `tt` dialect IR that `xdsl-opt` reads.

    xnpu-triton kernels.py:add --signature 'x=*fp32,y=*fp32,n=i32' --constexpr BLOCK=1024
    xnpu-triton cached.ttir -o add.mlir        # Triton's own TTIR (loc info accepted)
    xnpu-triton corpus:gelu | xdsl-opt         # a kernel of xnpu's corpus
    xnpu-triton --corpus build/corpus          # every corpus kernel, with a summary
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from xnpu.cli import (
    CommandError,
    check_output_directory,
    check_output_file,
    command,
    write_text,
)
from xnpu.frontend.triton import from_triton
from xnpu.frontend.ttir import TritonFrontendError, module_text
from xnpu.kernels import corpus, corpus_kernel, corpus_names


def _parse_pairs(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise TritonFrontendError(f"{what} entry '{item}' is not NAME=VALUE")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _constexpr_value(text: str) -> object:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text in ("True", "False"):
        return text == "True"
    raise TritonFrontendError(f"constexpr value '{text}' is not a number or True/False")


def _load_python_kernel(spec: str):
    path_text, _, name = spec.rpartition(":") if ":" in spec else (spec, "", "")
    path = Path(path_text)
    if not path.is_file():
        raise TritonFrontendError(f"no such file: {path}")
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        raise TritonFrontendError(
            f"importing {path} failed: {type(error).__name__}: {error}"
        ) from None
    from triton.runtime.jit import JITFunction

    kernels = {n: v for n, v in vars(module).items() if isinstance(v, JITFunction)}
    if name:
        if name not in kernels:
            raise TritonFrontendError(
                f"{path} has no @triton.jit function '{name}'; it has {', '.join(kernels) or 'none'}"
            )
        return kernels[name]
    if len(kernels) != 1:
        raise TritonFrontendError(
            f"{path} has {len(kernels)} @triton.jit functions ({', '.join(kernels)}): "
            f"name one as {path}:NAME"
        )
    return next(iter(kernels.values()))


def load_source(source: str, signature: str | None, constexprs: list[str]) -> ModuleOp:
    """The module for a SOURCE argument of the command line."""
    if source.startswith("corpus:"):
        try:
            return corpus_kernel(source.removeprefix("corpus:")).to_tt()
        except ValueError as error:
            raise TritonFrontendError(str(error)) from None
    path = (
        source.rpartition(":")[0]
        if source.count(":") == 1 and not Path(source).exists()
        else source
    )
    if path.endswith(".py"):
        kernel = _load_python_kernel(source)
        constexpr_values = {
            name: _constexpr_value(value)
            for item in constexprs
            for name, value in _parse_pairs(item, "--constexpr")
        }
        named: dict[str, str] | list[str] = {}
        if signature:
            if "=" in signature:
                named = dict(_parse_pairs(signature, "--signature"))
            else:  # positional: the types of the non-constexpr parameters, in order
                named = [t.strip() for t in signature.split(",") if t.strip()]
        return from_triton(kernel, named, constexpr_values)
    if signature or constexprs:
        raise TritonFrontendError("--signature and --constexpr apply to a .py kernel, not to IR")
    if source == "-":
        return from_triton(sys.stdin.read())
    return from_triton(Path(source))


def _write_corpus(directory: Path) -> None:
    """Every corpus kernel as DIRECTORY/NAME.mlir, written once all have compiled."""
    rows, texts = [], {}
    for kernel in corpus():
        module = kernel.to_tt()
        texts[directory / f"{kernel.name.replace('/', '_')}.mlir"] = module_text(module)
        counts = Counter(op.name for op in module.walk())
        tt_ops = ", ".join(
            f"{n.removeprefix('tt.')}×{c}" for n, c in sorted(counts.items()) if n.startswith("tt.")
        )
        rows.append(f"{kernel.name:<22} {kernel.origin:<13} {sum(counts.values()):>4}  {tt_ops}")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        write_text(path, text)
    print(f"{'kernel':<22} {'origin':<13} {'ops':>4}  tt ops")
    print("\n".join(rows))
    print(f"wrote {len(texts)} kernels to {directory}/", file=sys.stderr)


@command("xnpu-triton")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="xnpu-triton",
        description="Compile a Triton kernel to Triton IR (on a CPU-only machine) and print it "
        "in xnpu's `tt` dialect, ready for xdsl-opt.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source",
        nargs="?",
        help="FILE.py[:KERNEL] (a @triton.jit function), a .ttir/.mlir file, "
        "corpus:NAME, or - for TTIR on standard input",
    )
    parser.add_argument(
        "-s",
        "--signature",
        help="parameter types in Triton's form, by name ('x=*fp32,n=i32') or in order "
        "('*fp32,i32'); constexpr parameters may be left out",
    )
    parser.add_argument(
        "-c",
        "--constexpr",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a tl.constexpr parameter (repeatable, or comma-separated)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="write the IR here instead of standard output"
    )
    parser.add_argument(
        "--corpus", type=Path, metavar="DIR", help="write every corpus kernel to DIR and summarize"
    )
    parser.add_argument(
        "--list-corpus", action="store_true", help="list the corpus kernels and exit"
    )
    args = parser.parse_args(argv)
    if not (args.list_corpus or args.corpus or args.source):
        parser.error("give a SOURCE, --corpus DIR or --list-corpus")
    try:
        if args.list_corpus:
            print("\n".join(corpus_names()))
            return 0
        if args.corpus:
            check_output_directory(args.corpus, "--corpus")
            _write_corpus(args.corpus)
            return 0
        if args.output:
            check_output_file(args.output, "-o")
        module = load_source(args.source, args.signature, args.constexpr)
        text = module_text(module)
        if args.output:
            write_text(args.output, text)
    except (TritonFrontendError, CommandError) as error:
        print(f"xnpu-triton: error: {error}", file=sys.stderr)
        return 1
    if not args.output:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
