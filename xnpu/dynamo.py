"""
`torch.compile(fn, backend="xnpu")`: Inductor's Triton kernels run on the simulated NPU.

The backend (registered through torch's `torch_dynamo_backends` entry point) has
Inductor compile the graph with its CPU-Triton code generator. Inductor asks Triton
for the backend named "cpu": while an xnpu-compiled graph compiles or runs, that name
is xnpu's (a separately installed triton-cpu is set aside meanwhile and put back
after). Each call then launches its kernels through xnpu's Triton driver:

    compiled = torch.compile(fn, backend="xnpu", options={"level": "vec+mt"})
    y = compiled(x)                  # what eager PyTorch returns
    print(xnpu.last_report())        # every kernel with its cycles, the total, ATen's ops

Matrix products become Inductor's Triton templates (autotuned by simulated time) and
attention is decomposed into products and a softmax, so both run on the NPU. A kernel
xnpu cannot lower runs on the host (Triton's interpreter) with a warning naming it and
why; operators Inductor still leaves to ATen are listed as such.
"""

from __future__ import annotations

import contextlib
import unittest.mock
import warnings
from collections.abc import Iterator

import triton.backends
from torch.utils._python_dispatch import TorchDispatchMode
from triton.backends import Backend
from triton.backends.compiler import GPUTarget

from xnpu.triton.compiler import XnpuBackend
from xnpu.triton.driver import XnpuDriver
from xnpu.triton.launch import (
    LaunchError,
    Session,
    driver_active,
    launching,
    session,
    set_last_report,
    simulated_benchmark,
)
from xnpu.triton.options import check_known

INDUCTOR_TARGET = "cpu"
"""The Triton backend name Inductor's CPU-Triton code asks for."""


class InductorBackend(XnpuBackend):
    """xnpu's compiler under the name Inductor's CPU-Triton path asks for."""

    @staticmethod
    def supports_target(target: GPUTarget) -> bool:
        return target.backend == INDUCTOR_TARGET


class InductorDriver(XnpuDriver):
    """xnpu's driver under the name Inductor's CPU-Triton path asks for."""

    target_name = INDUCTOR_TARGET


@contextlib.contextmanager
def providing_cpu_backend() -> Iterator[None]:
    """Triton's "cpu" backend, and the active driver, are xnpu's while inside; the ones
    before are put back after."""
    backends = triton.backends.backends
    previous_backend = backends.get(INDUCTOR_TARGET)
    backends[INDUCTOR_TARGET] = Backend(compiler=InductorBackend, driver=InductorDriver)
    try:
        with driver_active(InductorDriver):  # Inductor asks the active driver for its target
            yield
    finally:
        if previous_backend is None:
            backends.pop(INDUCTOR_TARGET, None)
        else:
            backends[INDUCTOR_TARGET] = previous_backend


_BOOKKEEPING = frozenset({"empty", "empty_strided", "empty_like", "detach", "alias", "lift_fresh"})


class HostOperators(TorchDispatchMode):
    """Records the ATen operators a compiled graph runs outside xnpu's launches (what
    Inductor left to ATen), but allocations and views."""

    def __init__(self, recorded: Session):
        super().__init__()
        self.recorded = recorded

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if not launching() and not func.is_view and name not in _BOOKKEEPING:
            self.recorded.host_ops.append(f"aten.{name}")
        return func(*args, **(kwargs or {}))


class SimulatedBenchmarker:
    """Inductor's benchmarker while an xnpu-compiled graph runs: each trial launch is
    timed by the machine model (and left out of the call's report), so Inductor's
    autotuner picks the configuration the simulated NPU runs fastest."""

    @staticmethod
    def benchmark(fn, device=None, **kwargs) -> float:
        return simulated_benchmark(fn)


@contextlib.contextmanager
def simulated_autotuning() -> Iterator[None]:
    """Inductor's benchmarks timed by the machine model while inside: the pointwise
    autotuner's (triton_heuristics) and the template autotuner's (its shared
    benchmarker's CPU timing, which select_algorithm uses for a Triton mm template's
    configurations), each a simulated launch instead of wall-clock repetitions."""
    from torch._inductor.runtime import benchmarking, triton_heuristics

    def simulated(fn, *args, **kwargs) -> float:
        try:
            return simulated_benchmark(fn)
        except LaunchError:  # a configuration neither xnpu nor the host can run: never picked
            return float("inf")

    with (
        unittest.mock.patch.object(triton_heuristics, "benchmarker", SimulatedBenchmarker),
        unittest.mock.patch.object(benchmarking.benchmarker, "benchmark_cpu", simulated),
    ):
        yield


_INDUCTOR_CONFIG = {
    "cpu_backend": "triton",
    # matrix products as Inductor's Triton templates (mm, bmm, addmm with their
    # epilogues), autotuned by simulated time, rather than ATen calls on the host
    "max_autotune_gemm": True,
    "max_autotune_gemm_backends": "TRITON",
    # timing a template with its epilogue fused writes a harness module whose CPU
    # imports torch 2.13 indents wrongly (IndentationError); epilogues are still fused
    "benchmark_epilogue_fusion": False,
    "compile_threads": 1,  # the "cpu" backend is xnpu's in this process only
    "fx_graph_cache": False,
    "fx_graph_remote_cache": False,
    "autotune_local_cache": False,  # Inductor's autotuning picks by simulated time here
    "autotune_remote_cache": False,
}


def _decompositions() -> dict:
    """Inductor's own decompositions, and attention's: on the CPU, Inductor leaves
    `scaled_dot_product_attention` to ATen as one fused operator; decomposed (PyTorch's
    math form: q @ k^T, scale, mask, softmax, @ v), its products become Triton mm
    templates and its softmax a Triton kernel, all on the NPU."""
    import torch
    from torch._decomp import get_decompositions
    from torch._inductor.decomposition import select_decomp_table

    attention = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
    return {**select_decomp_table(), **get_decompositions([attention])}


def xnpu_backend(
    graph_module, example_inputs, options: dict | None = None, mode: str | None = None
):
    """The torch.compile backend: Inductor's CPU-Triton code, run on xnpu's NPU.
    `options` are a launch's (level, machine, contexts, ..., or the reference
    compiler's switches) and apply to every kernel of the graph. torch.compile's `mode`
    has no effect here (the options choose the pipeline), and a warning says so."""
    from torch._inductor import config as inductor_config
    from torch._inductor.compile_fx import compile_fx

    if mode is not None:
        warnings.warn(
            f'torch.compile(mode={mode!r}) has no effect with backend="xnpu": pass xnpu\'s '
            "options (level, contexts, ...) as options=",
            stacklevel=2,
        )
    options = dict(options or {})
    check_known(options, 'torch.compile(..., backend="xnpu", options=...)')
    with (
        providing_cpu_backend(),
        inductor_config.patch(_INDUCTOR_CONFIG),
        # templates autotuned at the level asked; a configuration xnpu cannot lower is
        # not run on the host but scored inf (simulated_autotuning), so never picked
        session(**options),
        simulated_autotuning(),
    ):
        compiled = compile_fx(graph_module, example_inputs, decompositions=_decompositions())

    def call(*args):
        with (
            providing_cpu_backend(),
            inductor_config.patch(_INDUCTOR_CONFIG),
            session(fallback_to_host=True, **options) as recorded,
            simulated_autotuning(),
        ):
            with HostOperators(recorded):
                result = compiled(*args)
        set_last_report(recorded)
        return result

    return call
