"""
Machine models: one TOML file per machine in machines/, loaded and
validated here. A missing or unknown key is an error naming the file and the key, so
a typo never silently falls back to a default.

    machine = load_machine("edge-npu")        # a name from machines/
    machine = load_machine("my-npu.toml")     # or a path
    machine.scalar["fp_add"], machine.ddr.bytes_per_cycle
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

MACHINES_DIR = Path(__file__).parent
DEFAULT_MACHINE = "edge-npu"

OP_COST_KEYS = (
    "int_alu", "int_mul", "int_div", "fp_add", "fp_mul", "fp_div", "fp_minmax",
    "compare", "select", "convert", "spm_load", "spm_store", "ddr_load", "ddr_store",
    "loop_iteration",
)  # fmt: skip
"""The cost classes every machine prices, for scalar and for vector operations (math
functions cost the ops their approximation evaluates: costs/ops.py)."""

VECTOR_ONLY_COST_KEYS = ("horizontal_reduce", "spm_gather")
SCALAR_ONLY_COST_KEYS = ("half_convert",)


class MachineError(ValueError):
    """A machine file that is missing, malformed or incomplete."""


@dataclass(frozen=True)
class Core:
    hardware_threads: int
    vector_contexts: int
    vector_bytes: int


@dataclass(frozen=True)
class Scratchpad:
    capacity_bytes: int
    granule_bytes: int
    tile_budget_bytes: int
    """What npu-tile lets one kernel's tiles take, every buffer and context counted."""

    def rounded(self, nbytes: int) -> int:
        """Bytes an allocation of `nbytes` really takes (rounded up to the granule)."""
        granule = self.granule_bytes
        return -(-nbytes // granule) * granule


@dataclass(frozen=True)
class Ddr:
    bytes_per_cycle: float
    core_bytes_per_cycle: float
    """What the cores' own loads and stores to DDR sustain, all contexts together."""


@dataclass(frozen=True)
class Dma:
    setup_cycles: int
    bytes_per_cycle: float
    max_descriptor_bytes: int
    engines: int


@dataclass(frozen=True)
class Threads:
    fork_cycles: int
    join_cycles: int


@dataclass(frozen=True)
class Matrix:
    """A matrix unit (HMX-like): it multiplies a tile of `tile_rows` rows of `tile_bytes`
    by another into a `tile_rows` x `tile_rows` accumulator, reading both from the
    scratchpad; its `units` are shared by every context, one product at a time each."""

    units: int
    tile_rows: int
    tile_bytes: int
    tile_cycles: float
    """Cycles of one tile product at the unit's steady rate."""
    setup_cycles: float
    """Per product issued: taking the unit, configuring it, filling its pipeline."""
    accumulator_cycles: float
    """Per result tile of a product: moving its accumulator between unit and scratchpad."""

    PRODUCTS = {"f16": ("f32", "f16"), "i8": ("i32",)}
    """Input element -> the result elements the unit accumulates it into (public: HMX
    multiplies fp16 on v73 and later, accumulating in fp32; 8-bit integers into int32,
    HexKL's `hexkl_micro_hmx_mm_u8i8`). Other types (fp32, bf16) it does not take."""

    def takes(self, inputs: str, result: str) -> bool:
        """Whether the unit multiplies `inputs` elements into `result` ones (MLIR names)."""
        return result in self.PRODUCTS.get(inputs, ())

    def depth(self, element_bytes: int) -> int:
        """The k extent one tile product covers for inputs of `element_bytes`."""
        return max(1, self.tile_bytes // (self.tile_rows * element_bytes))

    def peak_macs_per_cycle(self, element_bytes: int) -> float:
        """Multiply-accumulates a cycle, every unit at its steady rate."""
        return self.units * self.tile_rows**2 * self.depth(element_bytes) / self.tile_cycles


@dataclass(frozen=True)
class Machine:
    """A validated machine model (see machines/*.toml for the sources)."""

    name: str
    description: str
    clock_mhz: float
    core: Core
    scratchpad: Scratchpad
    ddr: Ddr
    dma: Dma
    threads: Threads
    scalar: Mapping[str, float]
    vector: Mapping[str, float]
    source: str
    matrix: Matrix | None = None
    """None: the machine has no matrix unit (dots run on the vector unit)."""

    def microseconds(self, cycles: float) -> float:
        return cycles / self.clock_mhz

    def vector_elements(self, element_bytes: int) -> int:
        """Lanes of one vector register for elements of `element_bytes`."""
        return self.core.vector_bytes // element_bytes

    def value(self, key: str) -> float:
        """A parameter by its `section.name` in the machine file, e.g. "dma.setup_cycles"."""
        section, name = _split_key(self, key)
        table = getattr(self, section)
        return table[name] if isinstance(table, Mapping) else getattr(table, name)

    def values(self) -> dict[str, float]:
        """Every parameter by its `section.name` (see `value`)."""
        found: dict[str, float] = {"clock_mhz": self.clock_mhz}
        for section in (*_SECTIONS, *_OPTIONAL_SECTIONS, "scalar", "vector"):
            table = getattr(self, section)
            if table is None:
                continue
            items = table.items() if isinstance(table, Mapping) else (
                (f.name, getattr(table, f.name)) for f in fields(table))  # fmt: skip
            found.update({f"{section}.{name}": value for name, value in items})
        return found

    def fingerprint(self) -> tuple:
        """Equal for machines that price everything alike (a cache key)."""
        return (self.name, *sorted(self.values().items()))

    def with_values(self, values: Mapping[str, float]) -> Machine:
        """A copy with some parameters changed (keys as for `value`); the values are
        checked as the loader checks them."""
        machine = self
        for key, value in values.items():
            section, name = _split_key(machine, key)
            table = getattr(machine, section)
            where = f"{self.source} [{section}]"
            if isinstance(table, Mapping):
                changed = MappingProxyType({**table, name: _number(where, name, value, float)})
            else:
                kind = next(f for f in fields(table) if f.name == name).type
                changed = replace(
                    table, **{name: _number(where, name, value, int if kind == "int" else float)}
                )
            machine = replace(machine, **{section: changed})
        return _checked(machine)


def _split_key(machine: Machine, key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    known_sections = (*_SECTIONS, *_OPTIONAL_SECTIONS, "scalar", "vector")
    table = getattr(machine, section) if section in known_sections else None
    if isinstance(table, Mapping):
        known = set(table)
    else:
        known = {f.name for f in fields(table)} if table is not None else set()
    if name not in known:
        raise MachineError(
            f"{machine.name}: no parameter {key!r} (expected section.name, e.g. dma.setup_cycles)"
        )
    return section, name


_SECTIONS: dict[str, type] = {
    "core": Core,
    "scratchpad": Scratchpad,
    "ddr": Ddr,
    "dma": Dma,
    "threads": Threads,
}
_OPTIONAL_SECTIONS: dict[str, type] = {"matrix": Matrix}
_TOP_LEVEL = {"name": str, "description": str, "clock_mhz": float}


def _check_keys(where: str, table: Mapping[str, Any], expected: set[str]) -> None:
    missing = sorted(expected - table.keys())
    unknown = sorted(table.keys() - expected)
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(unknown)}")
    if problems:
        raise MachineError(f"{where}: {'; '.join(problems)}")


MAY_BE_ZERO = ("setup_cycles", "join_cycles", "accumulator_cycles")
"""Keys that may be 0 (a machine with no DMA setup or join cost); the others price
something that takes time or space."""

SENSIBLE = {int: (1, 1 << 40), float: (1e-3, 1e9)}
"""The range every value must lie in, by kind: a cost or rate below a thousandth of a
cycle or byte, or an amount beyond 10^9 cycles or 2^40 bytes, is a typo, and would
give times of 10^300 cycles or divide by next to nothing."""


def _number(where: str, key: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MachineError(f"{where}: {key} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise MachineError(f"{where}: {key} must be a finite number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise MachineError(f"{where}: {key} must be an integer, got {value!r}")
    low, high = SENSIBLE[kind]
    if value == 0 and key in MAY_BE_ZERO:
        return kind(value)
    if not low <= value <= high:
        zero = "0 or " if key in MAY_BE_ZERO else ""
        raise MachineError(
            f"{where}: {key} must be {zero}between {low:g} and {high:g}, got {value!r}"
        )
    return kind(value)


def _section(where: str, kind: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise MachineError(f"{where} must be a table")
    _check_keys(where, table, {f.name for f in fields(kind)})
    return kind(**{
        f.name: _number(where, f.name, table[f.name], int if f.type == "int" else float)
        for f in fields(kind)
    })  # fmt: skip


def _costs(where: str, table: Any, keys: tuple[str, ...]) -> Mapping[str, float]:
    if not isinstance(table, dict):
        raise MachineError(f"{where} must be a table")
    _check_keys(where, table, set(keys))
    return MappingProxyType({k: _number(where, k, table[k], float) for k in keys})


def machine_path(machine: str | Path) -> Path:
    """The file of a machine given by name (from machines/) or path."""
    path = Path(machine)
    if path.suffix == ".toml" or path.parent != Path("."):
        return path
    return MACHINES_DIR / f"{machine}.toml"


def available_machines() -> list[str]:
    return sorted(p.stem for p in MACHINES_DIR.glob("*.toml"))


def load_machine(machine: str | Path | Machine = DEFAULT_MACHINE) -> Machine:
    """Load and validate a machine model; a Machine passes through unchanged."""
    if isinstance(machine, Machine):
        return machine
    if not isinstance(machine, str | Path):
        raise MachineError(
            f"machine must be a name ({', '.join(available_machines())}), a .toml path or a "
            f"Machine, not {machine!r}"
        )
    path = machine_path(machine)
    if not path.is_file():
        raise MachineError(
            f"no machine model {str(machine)!r} (looked for {path}); "
            f"available: {', '.join(available_machines())}"
        )
    return _parsed(str(path), path.read_text())


@functools.lru_cache(maxsize=32)
def _parsed(where: str, text: str) -> Machine:
    """The Machine a file's text describes (kept: runs load their machine each time,
    and a Machine is immutable; an edited file is parsed afresh)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MachineError(f"{where}: {error}") from None
    optional = set(_OPTIONAL_SECTIONS) & data.keys()
    _check_keys(where, data, set(_TOP_LEVEL) | set(_SECTIONS) | optional | {"scalar", "vector"})
    for key, kind in _TOP_LEVEL.items():
        if kind is str and not isinstance(data[key], str):
            raise MachineError(f"{where}: {key} must be a string")
    sections = {
        name: _section(f"{where} [{name}]", kind, data[name])
        for name, kind in (*_SECTIONS.items(), *_OPTIONAL_SECTIONS.items())
        if name in data
    }
    machine_model = Machine(
        name=data["name"],
        description=data["description"],
        clock_mhz=_number(where, "clock_mhz", data["clock_mhz"], float),
        scalar=_costs(f"{where} [scalar]", data["scalar"], OP_COST_KEYS + SCALAR_ONLY_COST_KEYS),
        vector=_costs(f"{where} [vector]", data["vector"], OP_COST_KEYS + VECTOR_ONLY_COST_KEYS),
        source=where,
        **sections,
    )
    return _checked(machine_model)


def _checked(machine: Machine) -> Machine:
    """The checks that relate parameters of different sections."""
    core, ddr, pad = machine.core, machine.ddr, machine.scratchpad
    if core.vector_bytes < 4 or core.vector_bytes & (core.vector_bytes - 1):
        raise MachineError(
            f"{machine.source} [core]: vector_bytes must be a power of two of at least 4 "
            f"(one f32 lane), got {core.vector_bytes}"
        )
    if pad.granule_bytes > pad.capacity_bytes:
        raise MachineError(
            f"{machine.source} [scratchpad]: granule_bytes ({pad.granule_bytes}) exceeds "
            f"capacity_bytes ({pad.capacity_bytes})"
        )
    if core.vector_contexts > core.hardware_threads:
        raise MachineError(
            f"{machine.source} [core]: vector_contexts ({core.vector_contexts}) exceeds "
            f"hardware_threads ({core.hardware_threads})"
        )
    if ddr.core_bytes_per_cycle > ddr.bytes_per_cycle:
        raise MachineError(
            f"{machine.source} [ddr]: core_bytes_per_cycle ({ddr.core_bytes_per_cycle:g}) exceeds "
            f"what DDR itself moves (bytes_per_cycle = {ddr.bytes_per_cycle:g})"
        )
    return machine
