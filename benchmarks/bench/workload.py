"""
A user's own kernel in a sweep: a Python file that says how to make inputs of a size,
what to run on the NPU (Triton launches, `kernel[grid](...)`, or a function compiled
with `torch.compile(backend="xnpu")`) and PyTorch's answer. Sweeps name it by path:
`xnpu-bench explore --kernel my_scale.py --sizes 64K,1M ...`.

    # my_scale.py
    def inputs(size, seed):       # fresh inputs for a problem of `size`
        g = torch.Generator().manual_seed(seed)
        return (torch.randn(size, generator=g),)

    def run(x):                   # runs on the NPU; returns the output(s)
        y = torch.empty_like(x)
        scale[(triton.cdiv(x.numel(), 1024),)](x, y, x.numel(), BLOCK=1024)
        return y

    def reference(x):             # PyTorch's answer
        return 2 * x

    ATOL, RTOL = 1e-5, 1e-5       # optional tolerances (default 1e-4 each)

Every launch `run` makes is lowered at the point's level and options on its machine
(an `xnpu.session`); the point's time is theirs together, one after the other. A
launch xnpu cannot lower, or an operator run on the host, makes the point refused:
a sweep times the NPU only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

import xnpu
from xnpu.bench.measure import BenchError, WrongOutput
from xnpu.interpreters.simulator.report import Report
from xnpu.machines import Machine
from xnpu.triton.launch import LaunchError, driver_active

REQUIRED = ("inputs", "run", "reference")
DEFAULT_TOLERANCE = 1e-4


def is_workload(kernel: str) -> bool:
    """Whether a sweep's kernel names a workload file (a path ending in .py)."""
    return kernel.endswith(".py")


@dataclass(frozen=True)
class Workload:
    path: Path
    module: ModuleType

    @property
    def atol(self) -> float:
        return getattr(self.module, "ATOL", DEFAULT_TOLERANCE)

    @property
    def rtol(self) -> float:
        return getattr(self.module, "RTOL", DEFAULT_TOLERANCE)


_LOADED: dict[tuple[Path, str], Workload] = {}


def fingerprint(kernel: str) -> str:
    """The workload file's content hash: a changed file is a new kernel to a store."""
    try:
        return hashlib.sha256(Path(kernel).read_bytes()).hexdigest()[:16]
    except OSError as error:
        raise BenchError(f"cannot read the workload {kernel}: {error.strerror}") from None


def load_workload(kernel: str) -> Workload:
    """The workload file, imported once per content (BenchError naming what it lacks)."""
    path = Path(kernel).resolve()
    key = (path, fingerprint(kernel))
    if key in _LOADED:
        return _LOADED[key]
    name = f"xnpu_workload_{key[1]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BenchError(f"{kernel} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Triton reads a kernel's module to compile it
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise BenchError(f"{kernel} fails on import: {type(error).__name__}: {error}") from None
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        del sys.modules[name]
        raise BenchError(
            f"{kernel} defines no {', '.join(missing)}: a workload defines inputs(size, seed), "
            f"run(*inputs) and reference(*inputs) (see xnpu.bench.workload)"
        )
    _LOADED[key] = Workload(path, module)
    return _LOADED[key]


def _outputs(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [v for item in value for v in _outputs(item)]
    raise BenchError(f"a workload returns tensors (or tuples of them), not {type(value).__name__}")


def measure_workload(
    kernel: str, level: str, options: dict, size: int, machine: Machine, seed: int = 0
) -> list[Report]:
    """The reports of the launches `run` makes on fresh inputs of `size`, once its
    outputs match `reference`'s (WrongOutput otherwise)."""
    workload = load_workload(kernel)
    arguments = workload.module.inputs(size, seed)
    arguments = arguments if isinstance(arguments, tuple) else (arguments,)
    expected = _outputs(workload.module.reference(*(a.clone() if isinstance(a, torch.Tensor)
                                                     else a for a in arguments)))  # fmt: skip
    try:
        with driver_active(), xnpu.session(level=level, machine=machine, **options) as ran:
            actual = _outputs(workload.module.run(*arguments))
    except LaunchError as error:
        raise BenchError(f"{kernel} at {level}: {error}") from None
    if ran.host_ops:
        raise BenchError(
            f"{kernel}: {', '.join(ran.host_ops)} ran on the host, untimed: a sweep times "
            f"the NPU only"
        )
    if not ran.launches:
        raise BenchError(f"{kernel}: run() launched no kernel on the NPU")
    on_host = [launch.kernel for launch in ran.launches if launch.report is None]
    if on_host:
        raise BenchError(
            f"{kernel}: xnpu could not lower {', '.join(on_host)}, which ran on the host, "
            f"untimed: a sweep times the NPU only"
        )
    if len(actual) != len(expected):
        raise WrongOutput(f"{kernel}: run gave {len(actual)} outputs, reference {len(expected)}")
    for i, (got, want) in enumerate(zip(actual, expected)):
        if got.shape != want.shape or not torch.allclose(
            got.float(), want.float(), atol=workload.atol, rtol=workload.rtol, equal_nan=True
        ):
            worst = (
                (got.float() - want.float()).abs().max().item() if got.shape == want.shape else None
            )
            raise WrongOutput(
                f"{kernel} at {level}, size {size:,}: output {i} differs from PyTorch's "
                + (f"(largest difference {worst:.3g})" if worst is not None else
                   f"(shape {tuple(got.shape)}, expected {tuple(want.shape)})")
            )  # fmt: skip
    return [launch.report for launch in ran.launches]
