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

Every other field of hexagon-mlir's HexagonOptions is accepted (reference_options.py);
one without a counterpart warns once per kernel, at the user's launch line, when its
value is not hexagon-mlir's default.

A launch's keywords override the innermost session's, which override the outer ones'.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field

from xdsl.utils.exceptions import PassFailedException

from xnpu.machines import Machine, MachineError, load_machine
from xnpu.transforms import check_option_types
from xnpu.transforms.pipelines import OPTION_MECHANISM, mechanisms_of, passes_for
from xnpu.triton.compiler import LaunchOptionError
from xnpu.triton.reference_options import BY_NAME as REFERENCE

DEFAULT_LEVEL = "vec+mt+db"
"""The level of a launch that names none: every mechanism, as a compiler would."""

PASS_OPTIONS = tuple(
    p for p in inspect.signature(passes_for).parameters if p not in ("level", "machine", "programs")
)
"""xnpu's pass options a launch may give (`programs` is the launch's own grid)."""

XNPU_KEYWORDS = ("level", "machine", *PASS_OPTIONS)

LEVEL_SWITCHES = {name: o.mechanism for name, o in REFERENCE.items() if o.mechanism}
"""hexagon-mlir's keywords that name mechanisms, and the mechanism each switches on."""

LAUNCH_KEYWORDS = (*XNPU_KEYWORDS, *(name for name, o in REFERENCE.items() if o.read))
"""The keywords a launch reads (from its compiled metadata)."""


def check_known(options: Mapping[str, object], where: str) -> None:
    unknown = sorted(set(options) - {*XNPU_KEYWORDS, *REFERENCE})
    if unknown:
        raise LaunchOptionError(
            f"{where}: unknown option {', '.join(map(repr, unknown))}; xnpu's options are "
            f"{', '.join(XNPU_KEYWORDS)}; the reference compiler's are the fields of "
            "hexagon-mlir's HexagonOptions (docs/launching.md)"
        )
    for name in sorted(set(options) & set(REFERENCE)):
        if not _has_type(options[name], REFERENCE[name].kind):
            expected = _TYPE_NAMES[REFERENCE[name].kind]
            raise LaunchOptionError(f"{where}: {name} takes {expected}, not {options[name]!r}")
    if "level" in options:
        try:
            mechanisms_of(options["level"])
        except ValueError as error:
            raise LaunchOptionError(f"{where}: {error}") from None
    machine = options.get("machine")
    if machine is not None and not isinstance(machine, str | Machine):
        raise LaunchOptionError(
            f"{where}: machine takes a machine name, a machine file's path or a Machine, "
            f"not {machine!r:.60}"
        )


_TYPE_NAMES = {bool: "True or False", int: "a whole number", str: "a string", tuple: "a tuple"}


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
    checked: the machine loads and every option has its pass's type."""
    level, machine, pass_options = DEFAULT_LEVEL, "edge-npu", {}
    for layer in layers:
        level = layer.level() or level
        machine = layer.options.get("machine", machine)
        pass_options |= layer.pass_options()
    where = layers[-1].where
    try:
        machine_model = load_machine(machine)
    except MachineError as error:
        raise LaunchOptionError(f"{where}: {error}") from None
    for needed in {OPTION_MECHANISM.get(option) for option in pass_options} - {None}:
        if needed not in mechanisms_of(level):
            named = [o for o in pass_options if OPTION_MECHANISM.get(o) == needed]
            raise LaunchOptionError(
                f"{where}: {', '.join(named)} is for {needed}, which level '{level}' does not include"
            )
    try:
        for module_pass in passes_for(level, machine_model, **pass_options):
            check_option_types(module_pass)
    except PassFailedException as error:
        raise LaunchOptionError(f"{where}: {error}") from None
    return LaunchSettings(level, machine, pass_options)
