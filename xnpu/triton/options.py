"""
Launch options: what a launch keyword, a `xnpu.session(...)` or torch.compile's
`options=` may say, and how they combine into the level and pass options a launch is
lowered with.

Two ways to name a level: xnpu's `level="vec+mt+db"`, or the reference compiler's
switches (hexagon-mlir's launch keywords, with its defaults for those not given):

    enableVectorization=True         -> vec              (npu-vectorize)
    enableMultiThreading, enableSCFThreading, enableThreadedDispatch=True
                                     -> mt               (npu-multithread)
    enableDoubleBuffering=True       -> db               (npu-double-buffer, 2 buffers)
    enableHexagonmemCopyToDMA=True   -> db with buffers=1 (tile copies by DMA, no overlap)
    num_threads=N -> contexts=N;  scratch=N (N > 0) -> budget=N

Every other field of hexagon-mlir's HexagonOptions is accepted (keywords.py);
one without a counterpart warns once per kernel, at the user's launch line, when its
value is not hexagon-mlir's default.

A launch's keywords override the innermost session's, which override the outer ones'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches

from xnpu.machines import Machine, MachineError, load_machine
from xnpu.transforms.pipelines import OPTION_MECHANISM, mechanisms_of
from xnpu.triton.compiler import LaunchOptionError
from xnpu.triton.keywords import BY_NAME as REFERENCE
from xnpu.triton.keywords import XNPU_BY_NAME, XNPU_KEYWORDS, XnpuKeyword

DEFAULT_LEVEL = "vec+mt+db"
"""The level of a launch that names none: every mechanism, as a compiler would."""

PASS_OPTIONS = tuple(k.name for k in XNPU_KEYWORDS if k.name not in ("level", "machine"))
"""xnpu's pass options a launch may give (`programs` is the launch's own grid)."""

LEVEL_SWITCHES = {name: o.mechanism for name, o in REFERENCE.items() if o.mechanism}
"""hexagon-mlir's keywords that name mechanisms, and the mechanism each switches on."""

LAUNCH_KEYWORDS = (*XNPU_BY_NAME, *(name for name, o in REFERENCE.items() if o.read))
"""The keywords a launch reads (from its compiled metadata)."""


def check_known(options: Mapping[str, object], where: str, launch: bool = False) -> None:
    """Fails, naming `where`, unless every option is a launch keyword (keywords.py) with a
    value of its type and among its choices, and a level that parses. The one check of
    a set of options, where they enter: a session, torch.compile's `options=`, a launch's
    keywords (`launch`: Triton keeps those as text, so the machine is a name or path)."""
    unknown = sorted(set(options) - {*XNPU_BY_NAME, *REFERENCE})
    if unknown:
        close = [m for k in unknown for m in get_close_matches(k, [*XNPU_BY_NAME, *REFERENCE], 1)]
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise LaunchOptionError(
            f"{where}: unknown option {', '.join(map(repr, unknown))}{hint}; xnpu's options "
            f"are {', '.join(XNPU_BY_NAME)}; the reference compiler's are the fields of "
            "hexagon-mlir's HexagonOptions (docs/launching.md)"
        )
    for name, value in options.items():
        if name in REFERENCE:
            _check_type(where, name, value, (REFERENCE[name].kind,))
        elif name == "machine" and isinstance(value, Machine):
            if launch:
                raise LaunchOptionError(
                    f"{where}: the launch keyword machine takes a machine's name or a machine "
                    "file's path (Triton stores launch keywords as text), not a Machine; a "
                    "Machine object goes to xnpu.session(machine=...)"
                )
        elif value is not None:
            _check_xnpu_keyword(where, XNPU_BY_NAME[name], value)
    if options.get("level") is not None:
        try:
            mechanisms_of(options["level"])
        except ValueError as error:
            raise LaunchOptionError(f"{where}: {error}") from None


def _check_xnpu_keyword(where: str, keyword: XnpuKeyword, value: object) -> None:
    _check_type(where, keyword.name, value, keyword.kinds)
    if keyword.choices and value not in keyword.choices:
        raise LaunchOptionError(
            f"{where}: {keyword.name} is one of {', '.join(map(repr, keyword.choices))}, "
            f"not {value!r}"
        )
    if keyword.positive and value < 1:
        raise LaunchOptionError(f"{where}: {keyword.name} must be at least 1, not {value!r}")


_TYPE_NAMES = {bool: "True or False", int: "a whole number", str: "a string", tuple: "a tuple"}


def _check_type(where: str, name: str, value: object, kinds: tuple[type, ...]) -> None:
    if not any(_has_type(value, kind) for kind in kinds):
        expected = " or ".join(_TYPE_NAMES[kind] for kind in kinds)
        raise LaunchOptionError(f"{where}: {name} takes {expected}, not {value!r:.60}")


def _has_type(value: object, kind: type) -> bool:
    if kind is int:  # not a bool
        return type(value) is int
    if kind is tuple:
        return isinstance(value, tuple | list)
    return isinstance(value, kind)


@dataclass(frozen=True)
class Layer:
    """The options one place gives (a session, or a launch's keywords)."""

    options: dict[str, object]
    where: str

    def level(self) -> str | None:
        given = [k for k in LEVEL_SWITCHES if k in self.options]
        if "level" in self.options and given:
            raise LaunchOptionError(
                f"{self.where}: level={self.options['level']!r} and {', '.join(given)} both "
                "name the level; give one or the other"
            )
        if "level" in self.options:
            return str(self.options["level"])
        if not given:
            return None
        switched = {k: self.options.get(k, REFERENCE[k].default) for k in LEVEL_SWITCHES}
        mechanisms = {LEVEL_SWITCHES[k] for k, on in switched.items() if on}
        return "+".join(m for m in ("vec", "mt", "db") if m in mechanisms) or "scalar"

    def pass_options(self) -> dict[str, object]:
        """xnpu's pass options this layer gives, its reference keywords translated."""
        chosen = {k: v for k, v in self.options.items() if k in PASS_OPTIONS}
        for name, value in self.options.items():
            option = REFERENCE[name].option if name in REFERENCE else None
            if option is None or (name == "scratch" and value == 0):  # 0: no external scratch
                continue
            if option in chosen:
                raise LaunchOptionError(
                    f"{self.where}: {name}={value!r} and {option}={chosen[option]!r} both set "
                    f"xnpu's {option}; give one or the other"
                )
            chosen[option] = value
        if self.dma_without_overlap() and "buffers" not in chosen:
            chosen["buffers"] = 1
        return chosen

    def ignored(self) -> dict[str, str]:
        """Reference keywords given here that change nothing in xnpu, each with why."""
        notices = {}
        for name, value in self.options.items():
            option = REFERENCE.get(name)
            if option is None or option.mechanism or option.option or value == option.default:
                continue
            why = option.always or "xnpu has no counterpart (docs/launching.md)"
            notices[name] = f"{name}={value!r} has no effect: {why}"
        return notices

    def dma_without_overlap(self) -> bool:
        """hexagon-mlir's copy-to-DMA without its double buffering: one buffer."""
        return bool(self.options.get("enableHexagonmemCopyToDMA")) and not self.options.get(
            "enableDoubleBuffering", False
        )


@dataclass(frozen=True)
class LaunchSettings:
    """What a launch is lowered and run with."""

    level: str
    machine: str | Machine
    pass_options: dict[str, object] = field(default_factory=dict)

    def key(self) -> tuple:
        machine = self.machine if isinstance(self.machine, str) else self.machine.fingerprint()
        return (self.level, machine, tuple(sorted(self.pass_options.items())))


def resolve(layers: list[Layer]) -> LaunchSettings:
    """The settings of a launch from its layers, outermost first (the launch last),
    checked where layers meet: the machine loads, and an option for a mechanism comes
    with a level that has it (each layer's own options were checked as they entered)."""
    level, machine, pass_options = DEFAULT_LEVEL, "edge-npu", {}
    for layer in layers:
        level = layer.level() or level
        machine = layer.options.get("machine", machine)
        pass_options |= layer.pass_options()
    where = layers[-1].where
    try:
        load_machine(machine)
    except MachineError as error:
        raise LaunchOptionError(f"{where}: {error}") from None
    for needed in {OPTION_MECHANISM.get(option) for option in pass_options} - {None}:
        if needed not in mechanisms_of(level):
            named = [o for o in pass_options if OPTION_MECHANISM.get(o) == needed]
            raise LaunchOptionError(
                f"{where}: {', '.join(named)} is for {needed}, which level '{level}' does not include"
            )
    return LaunchSettings(level, machine, pass_options)
