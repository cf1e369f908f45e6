"""
Launches on the simulated NPU: what xnpu's Triton driver does with
`kernel[grid](...)`, the sessions that collect their reports, and `last_report`.

A launch lowers the kernel's TTIR at its level and options (once: the lowering is kept
on the compiled kernel, by level, options, machine and program count), runs it on the
arguments in place, and records its report with every session open around it:

    with xnpu.session(level="vec+mt") as launches:       # options for every launch inside
        add_kernel[grid](x, y, out, n, BLOCK=1024)
        add_kernel[grid](x, y, out, n, BLOCK=1024, contexts=2)   # a launch's own win
    print(launches)                                       # each launch's cycles, and the total
"""

from __future__ import annotations

import contextlib
import math
import sys
import unittest.mock
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from triton.runtime import driver as triton_driver
from xdsl.utils.exceptions import DiagnosticException

from xnpu.dialects.remarks import is_scalar_work
from xnpu.frontend.ttir import TritonFrontendError, parse_ttir
from xnpu.interpreters.simulator.report import Report
from xnpu.interpreters.simulator.runner import entry_function, grid_rank, run
from xnpu.transforms.pipelines import lower, mechanisms_of
from xnpu.triton.driver import XnpuDriver
from xnpu.triton.options import LAUNCH_KEYWORDS, LaunchSettings, Layer, check_known, resolve


def warn_at_caller(message: str) -> None:
    """Warns at the user's line that led here: the innermost frame outside Triton,
    PyTorch and xnpu's own packages (a launch line, or a torch.compile'd call)."""
    internal = [*_package_directories("triton", "torch"),
                *(d for name, module in list(sys.modules.items())
                  if name.split(".")[0] == "xnpu" and name != "xnpu.kernels"
                  for d in _package_directories(name))]  # fmt: skip
    frame = sys._getframe(1)
    while frame.f_back is not None and (
        frame.f_code.co_filename.startswith(("<", *internal))
        or frame.f_code.co_filename.startswith(_STANDARD_LIBRARY)
    ):
        frame = frame.f_back
    warnings.warn_explicit(
        message,
        UserWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__"),
        registry=frame.f_globals.setdefault("__warningregistry__", {}),
    )


def _package_directories(*names: str) -> list[str]:
    modules = [sys.modules.get(name) for name in names]
    return [str(d) + "/" for module in modules for d in getattr(module, "__path__", ())]


_STANDARD_LIBRARY = str(Path(contextlib.__file__).parent) + "/"


class LaunchError(Exception):
    """A kernel that xnpu cannot lower or run for a launch, named with the reason."""


@dataclass
class Launch:
    """One kernel launch: where it ran, with what, and its report (None when the
    kernel fell back to the host)."""

    kernel: str
    grid: tuple[int, ...]
    level: str
    report: Report | None
    fallback: str | None = None
    """Why the kernel ran on the host (Triton's interpreter), untimed."""

    @property
    def cycles(self) -> float:
        return self.report.cycles if self.report is not None else 0.0


@dataclass
class Session:
    """The launches made while a session was open, and the options it gives them."""

    options: dict[str, object] = field(default_factory=dict)
    launches: list[Launch] = field(default_factory=list)
    fallback_to_host: bool = False
    """Run a kernel xnpu cannot lower on the host with a warning instead of failing
    (torch.compile's kernels: Inductor's, not the user's)."""
    isolated: bool = False
    """Keeps its launches from the sessions around it (a benchmark's trial launches)."""
    host_ops: list[str] = field(default_factory=list)
    """Operators that ran on the host, outside any Triton kernel (ATen's matmul...)."""

    @property
    def cycles(self) -> float:
        """The launches' cycles, one after the other on the NPU."""
        return sum(launch.cycles for launch in self.launches)

    @property
    def microseconds(self) -> float:
        return sum(
            launch.report.microseconds for launch in self.launches if launch.report is not None
        )

    def __str__(self) -> str:
        names = [launch.kernel for launch in self.launches] + self.host_ops
        width = max([40, *map(len, names)])

        def row(name: str, grid: str, where: str, cycles: str, microseconds: str) -> str:
            return f"{name:<{width}} {grid:>10} {where:>10} {cycles:>14} {microseconds:>12}"

        lines = [row("kernel", "grid", "level", "cycles", "µs")]
        for launch in self.launches:
            grid = "x".join(map(str, launch.grid))
            if launch.report is None:
                lines.append(row(launch.kernel, grid, "host", "-", "-"))
                reason = "\n    ".join(str(launch.fallback).splitlines())
                lines.append(f"  ran on the host, untimed: xnpu cannot lower it:\n    {reason}")
            else:
                report = launch.report
                lines.append(
                    row(launch.kernel, grid, launch.level, f"{report.cycles:,.0f}",
                        f"{report.microseconds:,.2f}")
                )  # fmt: skip
        lines += [row(op, "", "ATen", "-", "-") for op in self.host_ops]
        on_npu = [launch for launch in self.launches if launch.report is not None]
        host_kernels = [launch.kernel for launch in self.launches if launch.report is None]
        total = f"total ({len(on_npu)} NPU kernel(s), one after another)"
        lines.append(row(total, "", "", f"{self.cycles:,.0f}", f"{self.microseconds:,.2f}"))
        if host_kernels or self.host_ops:
            names = sorted({*host_kernels, *self.host_ops})
            lines.append(
                f"  not in the total: {len(host_kernels)} kernel(s) and {len(self.host_ops)} "
                f"ATen operator(s) ran on the host, untimed: {', '.join(names)}"
            )
        scalar = self.scalar_work
        if scalar:
            lines.append(f"  {len(scalar)} place(s) left scalar or moved element by element:")
            lines += [f"    {remark}" for remark in scalar]
        return "\n".join(lines)

    @property
    def remarks(self) -> list[str]:
        """Every remark of the launches' kernels (each once), as the passes made them."""
        found = [r for launch in self.launches if launch.report for r in launch.report.remarks]
        return list(dict.fromkeys(found))

    @property
    def scalar_work(self) -> list[str]:
        """The remarks of work left scalar or moved element by element."""
        return [remark for remark in self.remarks if is_scalar_work(remark)]


_SESSIONS: list[Session] = []
_LAST: list[Report | Session] = []
_LAUNCHING: list[str] = []
"""The kernel being launched (or "benchmark": a trial), while it is."""


def launching() -> bool:
    """Whether a launch is under way (its own tensor work is not the caller's)."""
    return bool(_LAUNCHING)


def last_report() -> Report | Session | None:
    """The report of the last launch (a Report), or of the last call of a function
    compiled with torch.compile(backend="xnpu") (a Session of its launches)."""
    return _LAST[-1] if _LAST else None


def set_last_report(report: Report | Session) -> None:
    _LAST[:] = [report]


@contextlib.contextmanager
def session(fallback_to_host: bool = False, isolated: bool = False, **options) -> Iterator[Session]:
    """Options for every launch inside (launch keywords override them), and the
    reports of those launches, collected in the `Session` it yields."""
    check_known(options, "xnpu.session")
    opened = Session(dict(options), fallback_to_host=fallback_to_host, isolated=isolated)
    _SESSIONS.append(opened)
    try:
        yield opened
    finally:
        _SESSIONS.remove(opened)


def _launch_keywords(metadata) -> dict[str, object]:
    """The xnpu and reference keywords a launch gave (compiled into its metadata; a
    keyword not given is None there)."""
    values = {name: getattr(metadata, name, None) for name in LAUNCH_KEYWORDS}
    return {name: value for name, value in values.items() if value is not None}


def _settings(kernel: str, metadata) -> LaunchSettings:
    keywords = _launch_keywords(metadata)  # checked as Triton compiled (compiler.py)
    layers = [*(Layer(s.options, "xnpu.session") for s in _SESSIONS),
              Layer(keywords, f"launch of {kernel}")]  # fmt: skip
    settings = resolve(layers)
    for layer in layers:
        for keyword, notice in layer.ignored().items():
            if (kernel, keyword) not in _WARNED:
                _WARNED.add((kernel, keyword))
                warn_at_caller(f"{layer.where}: {notice}")
    return settings


_WARNED: set[tuple[str, str]] = set()
"""(kernel, keyword) pairs warned about: once per kernel, whatever its autotune configs."""


def _kernel_arguments(src, args: tuple) -> list:
    """The arguments the TTIR function takes: those Triton did not make constexpr."""
    signature = getattr(src, "signature", None)
    if signature is None:  # an IR source: every argument is the kernel's
        return list(args)
    kinds = list(signature.values())
    if len(kinds) != len(args):
        raise LaunchError(f"expected {len(kinds)} arguments, got {len(args)}")
    if any(isinstance(kind, tuple) for kind in kinds):
        raise LaunchError("tuple arguments are not supported by xnpu")
    return [arg for kind, arg in zip(kinds, args) if kind != "constexpr"]


def _grid(kernel: str, module, grid: tuple[int, int, int]) -> tuple[int, ...]:
    rank = grid_rank(entry_function(module))
    kept, dropped = grid[: max(rank, 1)], grid[max(rank, 1) :]
    if any(g != 1 for g in dropped):
        raise LaunchError(
            f"{kernel} reads program ids of {rank} axis(es) but is launched on grid {grid}: "
            "launch the axes it does not read with size 1"
        )
    return kept


class Launcher:
    """What Triton calls to launch a compiled kernel (the driver's `launcher_cls`)."""

    def __init__(self, src, metadata):
        self.src = src
        self.metadata = metadata
        self.name = metadata.name

    def _lowered(self, binary, settings: LaunchSettings, programs: int):
        """The kernel lowered for `settings`, made once per level, options, machine and
        (for MT, whose profitability model weighs it) program count."""
        options = dict(settings.pass_options)
        if "mt" in mechanisms_of(settings.level):
            options["programs"] = programs
        key = (*settings.key(), options.get("programs"))
        if key not in binary.lowered:
            if binary.module is None:
                binary.module = parse_ttir(binary.ttir, f"<ttir of {self.name}>")
            binary.lowered[key] = lower(binary.module, settings.level, settings.machine, **options)
        return binary.lowered[key]

    def __call__(self, grid_x, grid_y, grid_z, stream, binary, packed_metadata,
                 launch_metadata, enter_hook, exit_hook, *args):  # fmt: skip
        if enter_hook is not None:
            enter_hook(launch_metadata)
        _LAUNCHING.append(self.name)
        try:
            self._record(self._launch((int(grid_x), int(grid_y), int(grid_z)), binary, args))
        finally:
            _LAUNCHING.pop()
        if exit_hook is not None:
            exit_hook(launch_metadata)

    def _launch(self, grid: tuple[int, int, int], binary, args: tuple) -> Launch:
        settings = _settings(self.name, self.metadata)
        arguments = _kernel_arguments(self.src, args)
        try:
            module = self._lowered(binary, settings, math.prod(grid))
        except (TritonFrontendError, DiagnosticException) as error:
            reason = str(error).strip()
            if not any(s.fallback_to_host for s in _SESSIONS):
                raise LaunchError(f"xnpu cannot lower {self.name}: {reason}") from None
            return self._run_on_host(grid, args, reason)
        grid = _grid(self.name, module, grid)
        report = run(module, *arguments, grid=grid, machine=settings.machine)
        return Launch(self.name, grid, settings.level, report)

    def _run_on_host(self, grid, args, reason: str) -> Launch:
        """Inductor's kernel run by Triton's interpreter on the host, with a warning."""
        from triton.runtime.interpreter import InterpretedFunction
        from triton.runtime.jit import JITFunction

        warn_at_caller(
            f"xnpu cannot lower {self.name}, so it ran on the host (Triton's interpreter, "
            f"untimed):\n{reason}"
        )
        # the kernel's @triton.jit helpers (Inductor's sort, welford...) run as Python too
        try:
            with (
                language_restored(),
                unittest.mock.patch.object(JITFunction, "__call__", _call_interpreted),
            ):
                InterpretedFunction(self.src.fn.fn)[grid](*args)  # every parameter, in order
        except Exception as error:  # Triton's interpreter raises what its ops raise
            raise LaunchError(
                f"xnpu cannot lower {self.name} ({reason.splitlines()[0]}), and Triton's "
                f"interpreter could not run it on the host either: {type(error).__name__}: "
                f"{error}"
            ) from None
        return Launch(self.name, grid, "host", None, fallback=reason)

    @staticmethod
    def _record(launch: Launch) -> None:
        for opened in reversed(_SESSIONS):
            opened.launches.append(launch)
            if opened.isolated:
                return
        if launch.report is not None:
            set_last_report(launch.report)


@contextlib.contextmanager
def driver_active(driver_class: type = XnpuDriver) -> Iterator[None]:
    """A Triton driver of exactly `driver_class` active inside (the one active already,
    if it is one; by default xnpu's, so launches run on the simulated NPU), and whatever
    was active before put back after."""
    previous = triton_driver._active  # pyright: ignore[reportPrivateUsage]
    if type(previous) is not driver_class:
        triton_driver.set_active(driver_class())
    try:
        yield
    finally:
        triton_driver._active = previous  # pyright: ignore[reportPrivateUsage]


@contextlib.contextmanager
def language_restored() -> Iterator[None]:
    """triton.language as it was before, whatever runs inside: Triton's interpreter
    patches the language's modules and classes to run a kernel, and a helper it calls
    (`InterpretedFunction.__call__`) patches them without undoing it, so a host run
    could leave the next compile of any kernel reading interpreter values."""
    import triton.language as tl

    owners = [tl, tl.core, tl.math, tl.core.tensor, tl.core.tensor_descriptor_base]
    saved = [dict(vars(owner)) for owner in owners]
    try:
        yield
    finally:
        for owner, before in zip(owners, saved):
            now = vars(owner)
            for name in [n for n in now if n not in before]:
                delattr(owner, name)
            for name, value in before.items():
                if now.get(name, _ABSENT) is not value:
                    setattr(owner, name, value)


_ABSENT = object()


def _call_interpreted(jit_function, *args, **kwargs):
    """A @triton.jit helper called from a kernel Triton's interpreter runs."""
    from triton.runtime.interpreter import InterpretedFunction

    return InterpretedFunction(jit_function.fn)(*args, **kwargs)


def simulated_benchmark(kernel_call, quantiles=None, **kwargs):
    """The benchmarker of xnpu's driver (and Inductor's, under torch.compile): the
    simulated time (ms) of the launches one call makes, so that autotuners pick
    configurations by the machine model. A call that ran on the host scores inf."""
    _LAUNCHING.append("benchmark")  # the trial's own tensor work (cloned arguments)
    try:
        with session(isolated=True) as launches:
            kernel_call()
    finally:
        _LAUNCHING.pop()
    if any(launch.report is None for launch in launches.launches):
        return float("inf") if quantiles is None else [float("inf")] * len(quantiles)
    milliseconds = launches.microseconds / 1000
    if quantiles is not None:
        return [milliseconds] * len(quantiles)
    return milliseconds
