"""
Capturing the Triton kernels PyTorch Inductor generates for a function on CPU tensors.

With `cpu_backend="triton"`, Inductor writes Triton kernels for CPU tensors but asks
Triton's active driver for a target first, and stock Triton has no CPU driver. While
capturing, a stand-in driver reports the front end's target and Inductor's kernel
compilation is intercepted: each kernel's source is kept with its signature, its
constexpr values (from Inductor's first launch configuration) and the size arguments
of its launch. Nothing is executed, so the function's outputs are not computed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import tempfile
import unittest.mock
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xnpu.frontend.triton import DEFAULT_TARGET
from xnpu.frontend.ttir import TritonFrontendError


@dataclass(frozen=True)
class InductorKernel:
    """One Triton kernel Inductor generated, ready for `from_triton(*k.from_triton_args())`."""

    name: str
    source: str
    """The `@triton.jit` function as Inductor wrote it (decorators of its own removed)."""
    signature: dict[str, str]
    constexprs: dict[str, object]
    sizes: dict[str, int] = field(default_factory=dict)
    """The integer arguments of its launch (xnumel, r0_numel, ...), by parameter name."""
    grid: tuple[int, ...] | None = None
    """The launch grid, when Inductor's grid type is one xnpu knows (Grid1D)."""
    jit_function: object = None

    def from_triton_args(self) -> tuple[object, dict[str, str], dict[str, object]]:
        return self.jit_function, self.signature, self.constexprs


class _CaptureDriver:
    """Stands in for Triton's active driver while Inductor generates code."""

    def __init__(self, target):
        self.target = target

    def get_current_target(self):
        return self.target

    def get_active_torch_device(self):
        import torch

        return torch.device("cpu")

    def get_current_device(self):
        return 0

    def get_current_stream(self, device=None):
        return 0

    def get_device_capability(self, device=None):
        return (self.target.arch // 10, self.target.arch % 10)


_JIT_FUNCTION = re.compile(r"^@triton\.jit\b.*", re.MULTILINE | re.DOTALL)


def jit_function_source(module_source: str) -> str:
    """The `@triton.jit` function at the end of a module Inductor generated."""
    match = _JIT_FUNCTION.search(module_source)
    if match is None:
        raise TritonFrontendError("no @triton.jit function in Inductor's kernel source")
    return match.group(0).rstrip() + "\n"


def _load_autotuner(name: str, source: str, directory: Path):
    """Runs Inductor's kernel module (its decorators make a CachingAutotuner)."""
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"xnpu_captured_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not find an active CPU backend")
        spec.loader.exec_module(module)
    return getattr(module, name)


def _grid(
    grid_type: str | None, sizes: dict[str, int], constexprs: dict[str, object]
) -> tuple[int, ...] | None:
    if grid_type == "Grid1D" and "xnumel" in sizes and isinstance(constexprs.get("XBLOCK"), int):
        xblock = constexprs["XBLOCK"]
        return (-(-sizes["xnumel"] // xblock),)
    return None


@contextlib.contextmanager
def _capturing(target) -> Iterator[list[tuple[str, str, tuple]]]:
    """Inductor set to write Triton for the CPU, with kernel compilation recorded."""
    import torch
    import torch._inductor.config as inductor_config
    from torch._inductor.async_compile import AsyncCompile
    from triton.runtime import driver

    captured: list[tuple[str, str, tuple]] = []

    class RecordedLaunch:
        def __init__(self, name: str, source: str):
            self.name, self.source = name, source

        def run(self, *args, **kwargs):
            captured.append((self.name, self.source, args))

    def record(self, kernel_name, source_code, device_str="cpu", **kwargs):
        return RecordedLaunch(kernel_name, source_code)

    previous_driver = driver._active  # pyright: ignore[reportPrivateUsage]
    torch._dynamo.reset()
    try:
        driver.set_active(_CaptureDriver(target))
        with (
            inductor_config.patch(
                cpu_backend="triton", force_disable_caches=True, compile_threads=1
            ),
            unittest.mock.patch.object(AsyncCompile, "triton", record),
        ):
            yield captured
    finally:
        driver._active = previous_driver  # pyright: ignore[reportPrivateUsage]
        torch._dynamo.reset()


def capture_inductor_kernels(
    function: Callable,
    *example_inputs,
    dynamic: bool | None = None,
    target: tuple[str, int, int] = DEFAULT_TARGET,
) -> list[InductorKernel]:
    """
    The Triton kernels Inductor generates for `function(*example_inputs)` on CPU
    tensors, in launch order, each with its signature, constexprs, sizes and grid.
    """
    import torch
    from triton.backends.compiler import GPUTarget

    if not any(isinstance(x, torch.Tensor) for x in example_inputs):
        raise TritonFrontendError("capture_inductor_kernels needs at least one example tensor")
    if any(isinstance(x, torch.Tensor) and x.device.type != "cpu" for x in example_inputs):
        raise TritonFrontendError("capture_inductor_kernels takes CPU tensors")
    with _capturing(GPUTarget(*target)) as launches:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="dynamo_pgo force disabled")
                torch.compile(function, dynamic=dynamic, fullgraph=True)(*example_inputs)
        except Exception as error:  # Inductor raises many kinds; say what failed
            raise TritonFrontendError(
                f"Inductor could not compile {getattr(function, '__name__', function)}: "
                f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
            ) from None
    if not launches:
        raise TritonFrontendError(
            f"Inductor generated no Triton kernel for {getattr(function, '__name__', function)} "
            "(a function with no tensor computation, or one Inductor sends to ATen)"
        )
    kernels = []
    with tempfile.TemporaryDirectory(prefix="xnpu-inductor-") as directory:
        for name, source, args in launches:
            autotuner = _load_autotuner(name, source, Path(directory))
            signature = dict(autotuner.triton_meta["signature"])
            constexprs = dict(autotuner.configs[0].kwargs) if autotuner.configs else {}
            constexprs |= dict(autotuner.triton_meta.get("constants", {}))
            parameters = list(autotuner.fn.arg_names)
            sizes = {
                p: a
                for p, a in zip(parameters, args)
                if isinstance(a, int) and not isinstance(a, bool)
            }
            kernels.append(
                InductorKernel(
                    name=name,
                    source=jit_function_source(source),
                    signature=signature,
                    constexprs=constexprs,
                    sizes=sizes,
                    grid=_grid(autotuner.inductor_meta.get("grid_type"), sizes, constexprs),
                    jit_function=autotuner.fn,
                )
            )
    return kernels
