"""
What xnpu's commands share: output paths checked before any work starts, files
written whole or not at all, input read with named errors, and a quiet end when the
reader of standard output goes away (`xnpu-run ... | head`).

    check_output_file(Path("out/ladder.json"), "--json")   # before running
    write_text(Path("out/ladder.txt"), text)
    write_file(Path("out/ladder.png"), figure.savefig)
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


class CommandError(Exception):
    """A user error a command reports in one line, without a traceback."""


def check_output_file(path: Path, option: str) -> None:
    """Fails unless `path` can be written: it is not a directory, and a file can be
    made beside it (tried, not guessed: permissions, read-only mounts, /proc)."""
    if path.is_dir():
        raise CommandError(f"{option} {path}: is a directory; name a file in it")
    if not path.parent.is_dir():
        raise CommandError(f"{option} {path}: directory {path.parent} does not exist")
    _probe(path.parent, option, path)


def check_output_directory(path: Path, option: str) -> None:
    """Makes `path` a directory if it is none yet, and fails unless files can be made
    in it."""
    if path.exists() and not path.is_dir():
        raise CommandError(f"{option} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"{option} {path}: cannot make it: {error.strerror}") from None
    _probe(path, option, path)


def _probe(directory: Path, option: str, path: Path) -> None:
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise CommandError(f"{option} {path}: cannot write there: {error.strerror}") from None


def write_file(path: Path, write: Callable[[Path], None]) -> None:
    """Calls `write` on a temporary file beside `path`, then moves it over `path`: a
    failing write leaves whatever was there before."""
    temporary = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """`text` into `path`, whole or not at all (see write_file)."""
    write_file(path, lambda temporary: temporary.write_text(text))


def read_text(source: str, what: str = "input") -> tuple[str, str]:
    """The text of `source` (a path, or - for standard input) and a name for it."""
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise CommandError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{what} {path}: is a directory") from None
    except UnicodeDecodeError as error:
        raise CommandError(
            f"{what} {path}: not UTF-8 text (byte {error.start} is 0x{error.object[error.start]:02x})"
        ) from None
    except OSError as error:
        raise CommandError(f"{what} {path}: {error.strerror}") from None


def command(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Wraps a command's `main`: a closed standard output ends it quietly (exit 1), as
    does Ctrl-C (exit 130)."""

    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def wrapped(*args, **kwargs) -> int:
            try:
                code = main(*args, **kwargs)
                sys.stdout.flush()
                return code
            except BrokenPipeError:
                # the reader left: stop writing, and keep Python from complaining at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 1
            except KeyboardInterrupt:
                print(f"{name}: interrupted", file=sys.stderr)
                return 130

        return wrapped

    return wrap
