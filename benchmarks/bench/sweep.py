"""
What a design-space sweep covers: kernels x sizes x levels x compiler options x machine
values, from a TOML spec or the command line, as a list of `Point`s, each with a stable
id (so that a store knows which points a sweep has done).

    # sweep.toml                               # xnpu-bench explore --spec sweep.toml
    kernels = ["gelu", "softmax"]               # corpus kernels, or workload files (workload.py)
    sizes = ["64K", "1M"]                       # elements (matmul: n; flash_attention: length)
    levels = ["vec+mt", "vec+mt+db"]
    machine = "edge-npu"                        # the base model (a name or .toml path)
    [set]                                       # machine values: any machine-file key
    "ddr.bytes_per_cycle" = [2.4, 4.77, 9.54]
    scratchpad.capacity_bytes = [1048576, 8388608]
    [options]                                   # the passes' options (xnpu.lower)
    contexts = [1, 2, 4]
    writeback = ["async", "sync"]               # for levels with db only

An option a level's passes do not read (writeback at "vec+mt") is dropped from that
level's points, so the grid holds each distinct compile once.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xnpu.bench.measure import (
    MATRIX_KERNELS,
    BenchError,
    bench_kernel,
    matrix_problem,
    problem,
)
from xnpu.bench.mt_scaling import parse_sizes
from xnpu.bench.workload import fingerprint, is_workload, load_workload
from xnpu.machines import DEFAULT_MACHINE, Machine, MachineError, load_machine
from xnpu.transforms.pipelines import OPTION_MECHANISM, mechanisms_of, passes_for
from xnpu.triton.compiler import LaunchOptionError
from xnpu.triton.options import check_known

SWEPT_OPTIONS = tuple(
    name
    for name in inspect.signature(passes_for).parameters
    if name not in ("level", "machine", "programs")  # programs is the launch's own grid
)
"""The compiler options a sweep may vary: the passes' (see xnpu.lower)."""

LARGEST_MATRIX_SIZE = 4096
"""A matrix kernel's size is a dimension (matmul's n, attention's length): 4096 is a
4096^3 product, minutes a point at vec; a sweep's element counts (64K...) would be
hours."""


def level_reads(level: str, option: str) -> bool:
    """Whether a level's passes read `option` (writeback is db's; contexts, buffers and
    budget cut the tiles at every level)."""
    return OPTION_MECHANISM.get(option) in (None, *mechanisms_of(level))


@dataclass(frozen=True)
class Point:
    """One run of a sweep: a kernel at a size, lowered at a level with options, on the
    base machine with some values changed."""

    kernel: str
    size: int
    level: str
    options: tuple[tuple[str, object], ...] = ()
    machine_values: tuple[tuple[str, float], ...] = ()
    style: str = "grid"
    seed: int = 0

    def compile_key(self) -> tuple:
        """Equal for points that differ only in size: one task runs them, sharing the
        worker's compiled and lowered modules."""
        return (self.kernel, self.style, self.level, self.options, self.machine_values)

    def identity(self, machine: Machine) -> str:
        """A stable id: the same point on the same base machine has the same id in
        every run of every sweep."""
        kernel = (
            [self.kernel, fingerprint(self.kernel)] if is_workload(self.kernel) else self.kernel
        )
        text = json.dumps(
            [kernel, self.style, self.size, self.level, self.options,
             self.machine_values, self.seed, machine.fingerprint()],
            default=str,
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def describe(self) -> str:
        parts = [f"{self.kernel} {self.size:,} {self.level}"]
        parts += [f"{k}={v}" for k, v in self.options + self.machine_values]
        return " ".join(parts)


@dataclass
class SweepSpec:
    """The axes of a sweep; `points()` is their product."""

    kernels: list[str]
    sizes: list[int]
    levels: list[str]
    options: dict[str, list] = field(default_factory=dict)
    machine_values: dict[str, list[float]] = field(default_factory=dict)
    styles: list[str] = field(default_factory=lambda: ["grid"])
    machine: str = DEFAULT_MACHINE
    name: str = ""

    def base_machine(self) -> Machine:
        return load_machine(self.machine)

    def identities(self, points: Sequence[Point] | None = None) -> dict[str, Point]:
        """The points (default: all of the sweep's) by their ids on the base machine."""
        base = self.base_machine()
        return {
            point.identity(base): point for point in (self.points() if points is None else points)
        }

    def check(self) -> None:
        """Fails (BenchError), naming the axis and value, on anything no point could run."""
        if not (self.kernels and self.sizes and self.levels and self.styles):
            raise BenchError("a sweep needs at least one kernel, size and level")
        for kernel in self.kernels:
            launches = self.launch_styles(kernel)
            if not launches:  # no style the kernel launches in: say why for the first
                bench_kernel(kernel, self.styles[0])
                raise BenchError(f"{kernel} launches as it says: styles are for the corpus")
            if is_workload(kernel):
                load_workload(kernel)  # BenchError saying what the file lacks
            else:
                bench_kernel(kernel, launches[0])  # BenchError naming the kernels there are
        for level in self.levels:
            try:
                mechanisms_of(level)
            except ValueError as error:
                raise BenchError(str(error)) from None
        unknown = [name for name in self.options if name not in SWEPT_OPTIONS]
        if unknown:
            raise BenchError(
                f"unknown compiler option {unknown[0]!r}: the options are {', '.join(SWEPT_OPTIONS)}"
            )
        for name, values in self.options.items():
            for value in values:
                try:  # the one check of an option's type and choices (launch keywords')
                    check_known({name: value}, "option")
                except LaunchOptionError as error:
                    raise BenchError(str(error)) from None
        for name, values in {**self.options, **self.machine_values, "sizes": self.sizes}.items():
            if not values:
                raise BenchError(f"{name} has no values")
        try:
            machine = self.base_machine()
            for key in self.machine_values:
                machine.value(key)  # a key the machine file has
        except MachineError as error:
            raise BenchError(f"machine values: {error}") from None
        for key, values in self.machine_values.items():
            wrong = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)]
            if wrong:
                raise BenchError(f"machine value {key} = {wrong[0]!r} is not a number")
        # a value out of its range, or at odds with another, makes its points "invalid"
        for size in self.sizes:
            if not isinstance(size, int) or size < 1:
                raise BenchError(f"a size is a positive number of elements, not {size!r}")
        matrix = [k for k in self.kernels if k in MATRIX_KERNELS]
        if matrix and max(self.sizes) > LARGEST_MATRIX_SIZE:
            example = problem(matrix[0], matrix_problem(matrix[0], LARGEST_MATRIX_SIZE))
            raise BenchError(
                f"{matrix[0]}'s size is one dimension of its problem ({example} for "
                f"{LARGEST_MATRIX_SIZE}), so {max(self.sizes):,} would run for hours: sweep "
                f"the matrix kernels on their own, with sizes up to {LARGEST_MATRIX_SIZE}"
            )

    def launch_styles(self, kernel: str) -> list[str]:
        """The sweep's styles `kernel` can launch in: a row kernel runs grid style only,
        a workload as it launches itself (counted as grid)."""
        if is_workload(kernel):
            return [s for s in self.styles if s == "grid"]
        known = []
        for style in self.styles:
            try:
                bench_kernel(kernel, style)
                known.append(style)
            except BenchError:
                pass
        return known

    def left_out(self) -> list[str]:
        """The kernel-and-style pairs the product skips, each with why."""
        return [
            f"{kernel} in {style} style (it launches in {', '.join(self.launch_styles(kernel))} only)"
            for kernel in self.kernels
            for style in self.styles
            if style not in self.launch_styles(kernel)
        ]

    def points(self) -> list[Point]:
        """Every distinct point of the product of the axes, in a stable order (the
        styles a kernel cannot launch in are left out: `left_out`)."""
        self.check()
        machine_axes = [[(key, value) for value in values]
                        for key, values in sorted(self.machine_values.items())]  # fmt: skip
        found: dict[Point, None] = {}
        pairs = [(kernel, style) for kernel in self.kernels for style in self.launch_styles(kernel)]
        for (kernel, style), level in itertools.product(pairs, self.levels):
            applying = {name: values for name, values in sorted(self.options.items())
                        if level_reads(level, name)}  # fmt: skip
            option_axes = [[(name, value) for value in values] for name, values in applying.items()]
            for options in itertools.product(*option_axes):
                for values in itertools.product(*machine_axes):
                    for size in self.sizes:
                        point = Point(kernel, size, level, options, values, style)
                        found.setdefault(point, None)
        return list(found)


def _flatten(table: Mapping, prefix: str = "") -> dict[str, object]:
    """{"ddr": {"bytes_per_cycle": [..]}} and {"ddr.bytes_per_cycle": [..]} alike."""
    flat = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _as_list(value, what: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise BenchError(f"{what} has no values")
    return values


SPEC_KEYS = ("name", "machine", "kernels", "sizes", "levels", "styles", "set", "options")


def load_spec(path: Path, parse_size) -> SweepSpec:
    """A spec file (see the module docstring); `parse_size` reads "64K"-style sizes."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise BenchError(f"cannot read the sweep spec {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise BenchError(f"{path}: not valid TOML: {error}") from None
    unknown = [key for key in data if key not in SPEC_KEYS]
    if unknown:
        raise BenchError(f"{path}: unknown key {unknown[0]!r}; a spec has {', '.join(SPEC_KEYS)}")
    sizes = []
    for size in _as_list(data.get("sizes", []), "sizes"):
        sizes.extend(parse_size(size) if isinstance(size, str) else [size])
    return SweepSpec(
        kernels=_as_list(data.get("kernels", []), "kernels"),
        sizes=sizes,
        levels=_as_list(data.get("levels", ["vec+mt+db"]), "levels"),
        options={k: _as_list(v, k) for k, v in _flatten(data.get("options", {})).items()},
        machine_values={k: _as_list(v, k) for k, v in _flatten(data.get("set", {})).items()},
        styles=_as_list(data.get("styles", ["grid"]), "styles"),
        machine=data.get("machine", DEFAULT_MACHINE),
        name=data.get("name", path.stem),
    )


def parse_value(text: str) -> object:
    """A value given on the command line: an integer (64K and 8M are 2^10 and 2^20
    multiples), a number, or a word."""
    for convert in (int, float, lambda t: parse_sizes(t)[0] if "," not in t else None):
        try:
            value = convert(text)
        except ValueError:
            continue
        if value is not None:
            return value
    return text


def parse_assignments(items: Sequence[str], what: str) -> dict[str, list]:
    """["ddr.bytes_per_cycle=2.4,4.77"] -> {"ddr.bytes_per_cycle": [2.4, 4.77]}."""
    found: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        parsed = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not parsed:
            raise BenchError(f"{what} '{item}' is not KEY=VALUE[,VALUE...]")
        found[key.strip()] = parsed
    return found
