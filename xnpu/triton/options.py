"""
Launch options: what a launch keyword, a `xnpu.session(...)` or torch.compile's
`options=` may say, and how they combine into the level and pass options a launch is
lowered with.

Two ways to name a level: xnpu's `level="vec+mt+db"`, or the reference compiler's
switches (hexagon-mlir's launch keywords, with its defaults for those not given):

    enableVectorization=True         -> vec              (npu-vectorize)
    enableMultiThreading=True        -> mt               (npu-multithread)
    enableDoubleBuffering=True       -> db               (npu-double-buffer, 2 buffers)
    enableHexagonmemCopyToDMA=True   -> db with buffers=1 (tile copies by DMA, no overlap)
    enableVTCMTiling, enableConvertToHexagonmem: no counterpart (xnpu always tiles to
        the scratchpad); False is accepted with a warning.

A launch's keywords override the innermost session's, which override the outer ones'.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from xdsl.utils.exceptions import PassFailedException

from xnpu.machines import Machine, MachineError, load_machine
from xnpu.transforms import check_option_types
from xnpu.transforms.pipelines import OPTION_MECHANISM, mechanisms_of, passes_for
from xnpu.triton.compiler import LaunchOptionError, XnpuOptions

DEFAULT_LEVEL = "vec+mt+db"
"""The level of a launch that names none: every mechanism, as a compiler would."""

PASS_OPTIONS = tuple(
    p for p in inspect.signature(passes_for).parameters if p not in ("level", "machine", "programs")
)
"""xnpu's pass options a launch may give (`programs` is the launch's own grid)."""

XNPU_KEYWORDS = ("level", "machine", *PASS_OPTIONS)

REFERENCE_KEYWORDS: dict[str, bool] = {
    f.name: f.metadata["reference_default"]
    for f in fields(XnpuOptions)
    if f.metadata.get("keyword") == "reference"
}
"""hexagon-mlir's launch keywords that xnpu reads, with hexagon-mlir's defaults (the
fields of XnpuOptions, which Triton needs to accept them at launch)."""

REFERENCE_MECHANISM = {"enableVectorization": "vec", "enableMultiThreading": "mt",
                       "enableDoubleBuffering": "db", "enableHexagonmemCopyToDMA": "db"}  # fmt: skip

WITHOUT_COUNTERPART = ("enableVTCMTiling", "enableConvertToHexagonmem")

LAUNCH_KEYWORDS = (*XNPU_KEYWORDS, *REFERENCE_KEYWORDS)


def check_known(options: Mapping[str, object], where: str) -> None:
    unknown = sorted(set(options) - set(LAUNCH_KEYWORDS))
    if unknown:
        raise LaunchOptionError(
            f"{where}: unknown option {', '.join(map(repr, unknown))}; xnpu's options are "
            f"{', '.join(XNPU_KEYWORDS)}; the reference compiler's are "
            f"{', '.join(REFERENCE_KEYWORDS)}"
        )
    for name in REFERENCE_KEYWORDS:
        if name in options and not isinstance(options[name], bool):
            raise LaunchOptionError(f"{where}: {name} takes True or False, not {options[name]!r}")
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


@dataclass(frozen=True)
class Layer:
    """The options one place gives (a session, or a launch's keywords)."""

    options: dict[str, object]
    where: str

    def level(self) -> str | None:
        given = [k for k in REFERENCE_KEYWORDS if k in self.options]
        if "level" in self.options and given:
            raise LaunchOptionError(
                f"{self.where}: level={self.options['level']!r} and {', '.join(given)} both "
                "name the level; give one or the other"
            )
        if "level" in self.options:
            return str(self.options["level"])
        if not given:
            return None
        switches = REFERENCE_KEYWORDS | {k: self.options[k] for k in given}
        mechanisms = {m for k, m in REFERENCE_MECHANISM.items() if switches[k]}
        for name in WITHOUT_COUNTERPART:
            if not switches[name]:
                warnings.warn(
                    f"{self.where}: {name}=False has no xnpu counterpart: xnpu always tiles "
                    "kernels to the scratchpad (npu-tile), so it is ignored",
                    stacklevel=4,
                )
        chosen = [m for m in ("vec", "mt", "db") if m in mechanisms]
        return "+".join(chosen) or "scalar"

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
        pass_options |= {k: v for k, v in layer.options.items() if k in PASS_OPTIONS}
        if layer.dma_without_overlap() and "buffers" not in layer.options:
            pass_options["buffers"] = 1
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
