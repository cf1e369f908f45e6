"""
Reading Triton IR text into the `tt` dialect.

Triton prints `loc(#locN)` on every op and defines the `#locN` aliases after the
module, where xDSL's parser (which wants an alias defined before its use) cannot see
them. `parse_ttir` resolves every alias first, blanks their definitions out (so line
and column numbers in diagnostics still point into the text as given), and parses
with the aliases known: the Python source locations stay on the ops.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, Operation
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException

from xnpu.dialects import xnpu_context
from xnpu.dialects.location import describe_location


class TritonFrontendError(ValueError):
    """Triton source or IR that xnpu cannot read; the message says what and where."""


_ALIAS_DEFINITION = re.compile(r"^(#[A-Za-z_][\w$.-]*)\s*=\s*(loc\(.*\))\s*$", re.MULTILINE)
_ALIAS_USE = re.compile(r"#[A-Za-z_][\w$.-]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_OP_LOCATION = re.compile(r"loc\((#[A-Za-z_][\w$.-]*)\)\s*$")


def _resolve_aliases(text: str, context: Context, name: str) -> dict[str, Attribute]:
    """Every `#alias = loc(...)` definition in `text`, resolved in dependency order."""
    bodies = {m.group(1): m.group(2) for m in _ALIAS_DEFINITION.finditer(text)}
    resolved: dict[str, Attribute] = {}

    def resolve(alias: str, pending: tuple[str, ...]) -> Attribute:
        if alias in resolved:
            return resolved[alias]
        if alias in pending:
            raise TritonFrontendError(
                f"{name}: location aliases refer to each other: {' -> '.join(pending + (alias,))}"
            )
        if alias not in bodies:
            raise TritonFrontendError(f"{name}: location alias {alias} is used but never defined")
        body = bodies[alias]
        for used in _ALIAS_USE.findall(_STRING.sub('""', body)):
            resolve(used, pending + (alias,))
        parser = Parser(context, body, name)
        parser.attribute_aliases.update(resolved)
        try:
            location = parser.parse_optional_location()
        except ParseError as error:
            raise TritonFrontendError(f"{name}: bad location alias {alias}:\n{error}") from None
        assert location is not None
        resolved[alias] = location
        return location

    for alias in bodies:
        resolve(alias, ())
    return resolved


_ASSUMPTION = re.compile(r"^[ \t]*llvm\.intr\.assume [^\n]*$", re.MULTILINE)
"""`tl.assume(cond)` in Triton IR (Inductor's templates assume their program ids are
not negative): a hint to LLVM that nothing in xnpu reads."""


def _blank_alias_definitions(text: str) -> str:
    """`text` with the alias definitions and `tl.assume` hints replaced by empty lines
    (line numbers kept)."""
    return _ASSUMPTION.sub("", _ALIAS_DEFINITION.sub("", text))


def _source_location_of_line(text: str, line: int, aliases: dict[str, Attribute]) -> str | None:
    """The Python source location Triton recorded for the op on `line` (1-based)."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    match = _OP_LOCATION.search(lines[line - 1])
    return describe_location(aliases.get(match.group(1))) if match else None


def _failing_op(module: ModuleOp) -> tuple[Operation, VerifyException] | None:
    """The innermost op whose own verifier fails, and its error."""
    for op in reversed(list(module.walk())):
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException as error:
            return op, error
    return None


def parse_ttir(text: str, name: str = "<ttir>", context: Context | None = None) -> ModuleOp:
    """
    Parse and verify Triton IR text (with or without `loc` debug info) into a module
    of the `tt`, `arith`, `math` and `scf` dialects. Raises `TritonFrontendError`
    naming the op and where it is, in the text and in the kernel's Python source.
    """
    context = context or xnpu_context()
    aliases = _resolve_aliases(text, context, name)
    parser = Parser(context, _blank_alias_definitions(text), name)
    parser.attribute_aliases.update(aliases)
    try:
        module = parser.parse_module()
    except VerifyException as error:  # an op the parser builds checks its own types
        line = text[: parser.pos].rstrip().count("\n") + 1  # the line of the op just read
        statement = text.splitlines()[line - 1].strip() if text else ""
        source = _source_location_of_line(text, line, aliases)
        from_source = f"\n(from the kernel's source at {source})" if source is not None else ""
        raise TritonFrontendError(
            f"{name}:{line}: `{statement}`: an operand or result type does not fit the op "
            f"({error}){from_source}"
        ) from None
    except ParseError as error:
        where = error.span.get_location()
        message = str(error).strip()
        if "is not registered" in message:
            message += "\nxnpu reads the subset of Triton IR listed in docs/tt-dialect.md."
        source = _source_location_of_line(text, where.line, aliases)
        if source is not None:
            message += f"\n(from the kernel's source at {source})"
        raise TritonFrontendError(message) from None
    try:
        module.verify()
    except VerifyException as error:
        failing = _failing_op(module)
        if failing is None:
            raise TritonFrontendError(f"{name}: {error}") from None
        op, op_error = failing
        where = describe_location(op.location)
        at = f" at {where}" if where else ""
        raise TritonFrontendError(f"{name}: invalid '{op.name}'{at}: {op_error}") from None
    return module


def module_text(module: ModuleOp) -> str:
    """The module as xDSL prints it (what `xdsl-opt` reads), ending in a newline."""
    stream = io.StringIO()
    Printer(stream=stream).print_op(module)
    return stream.getvalue().rstrip("\n") + "\n"


def read_ttir_file(path: str | Path, context: Context | None = None) -> ModuleOp:
    """Parse a `.ttir`/`.mlir` file as Triton's cache or MLIR_ENABLE_DUMP writes it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TritonFrontendError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise TritonFrontendError(f"{path} is not UTF-8 text (byte {error.start})") from None
    return parse_ttir(text, str(path), context)
