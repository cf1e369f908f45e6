"""
One fuzz case: a generated kernel run by Triton's interpreter (the oracle) and by
xnpu at every level and option variant, each run classified.

    result = run_case(generate(seed, index), oracle)

A run is one of:

* match: every array xnpu leaves equals the oracle's (within the dtype's tolerance),
  inputs and untouched elements of outputs included;
* refused: xnpu declined the kernel with a named error (a front-end, lowering or
  pass diagnostic);
* defect: anything else: a raw exception, an invalid IR, a run-time error on a kernel
  whose accesses are in bounds by construction, a silent mismatch, or a failed run
  that changed an argument.

A case the oracle itself rejects is invalid: the generator's fault, counted apart.
"""

from __future__ import annotations

import random
import tempfile
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from xdsl.utils.exceptions import PassFailedException, VerifyException

import xnpu
from xnpu.costs.ops import UnpricedOp
from xnpu.frontend.ttir import TritonFrontendError
from xnpu.fuzz.generate import Buffer, FuzzKernel
from xnpu.fuzz.oracle import Oracle, OracleError, load_kernel, to_torch
from xnpu.interpreters.simulator.cycle_counter import CostError
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.interpreters.simulator.values import UnsupportedType
from xnpu.transforms.tt_values import LoweringError

LADDER = [("scalar", {}), ("vec", {}), ("vec+mt", {}), ("vec+mt+db", {})]
"""Every level, with the passes' defaults."""

OPTION_VARIANTS = [
    ("vec+mt", {"decide": "always"}),
    ("vec+mt+db", {"decide": "always"}),
    ("vec+mt+db", {"decide": "always", "buffers": 1}),
    ("vec+mt+db", {"decide": "always", "writeback": "sync"}),
    ("vec+mt+db", {"decide": "always", "buffers": 3}),
    ("vec+mt", {"decide": "always", "schedule": "cyclic", "contexts": 3}),
    ("vec+db", {}),
    ("mt+db", {"decide": "always"}),
    ("scalar", {"budget": 8192}),
    ("vec+mt+db", {"decide": "always", "budget": 16384}),
    ("vec", {"width": 8}),
]
"""Option variants: MT forced on (the model declines most small kernels), DB's
variants, small tile budgets (strip-mining at small sizes), a narrow vector."""

TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 4e-2, "i32": 0.0}
"""Relative error allowed per dtype, of an element and of the output's largest
magnitude (cancellation makes an element's own magnitude a poor scale)."""

MAX_MESSAGE = 600


def variants_of(kernel: FuzzKernel, which: str) -> list[tuple[str, dict]]:
    """The ladder plus, for "sample", two option variants drawn for the case; "all":
    every option variant; "ladder": the ladder alone."""
    if which == "ladder":
        return list(LADDER)
    if which == "all":
        return [*LADDER, *OPTION_VARIANTS]
    rng = random.Random(f"variants:{kernel.case_id}")
    return [*LADDER, *rng.sample(OPTION_VARIANTS, 2)]


def variant_name(level: str, options: dict) -> str:
    extra = " ".join(f"{k}={v}" for k, v in options.items())
    return f"{level} {extra}".strip()


@dataclass
class Run:
    variant: str
    status: str
    """match, refused or defect."""
    kind: str = ""
    """For a defect: mismatch, exception, interpreter error, invalid IR, changed data."""
    message: str = ""


@dataclass
class CaseResult:
    case: str
    features: dict[str, str]
    status: str
    """match, refused, defect, invalid (the oracle rejected the kernel) or hang."""
    runs: list[Run] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def arguments(kernel: FuzzKernel) -> list[dict]:
    """Each launch's arguments: arrays drawn from the case's seed (bf16 values held in
    float32), written buffers filled with values the kernel must leave where it does
    not store."""
    rng = np.random.default_rng([kernel.seed, kernel.index])
    launches = []
    for launch in kernel.launches:
        values = {}
        for name, value in launch.values.items():
            values[name] = _array(value, rng) if isinstance(value, Buffer) else value
        launches.append(values)
    return launches


def _array(buffer: Buffer, rng: np.random.Generator) -> np.ndarray:
    if buffer.dtype == "i32":
        return rng.integers(-50, 50, buffer.elements, dtype=np.int32)
    values = rng.standard_normal(buffer.elements).astype(np.float32)
    if buffer.dtype == "fp16":
        return values.astype(np.float16)
    if buffer.dtype == "bf16":
        return (values.view(np.uint32) & 0xFFFF0000).view(np.float32)  # bf16 values
    return values


REFUSALS = (
    TritonFrontendError,
    LoweringError,
    PassFailedException,
    UnsupportedType,
    UnpricedOp,
    CostError,
)
"""The errors that name what xnpu cannot do, and where."""


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def describe_traceback(error: BaseException) -> str:
    lines = traceback.format_exception(error)
    return "".join(lines[-6:])[-1500:]


HALF_ROUNDOFF = 2.0**-11
"""fp16's unit roundoff: a sum of n half-precision terms of magnitude about 1 may
differ by n of it from the same sum added in another order (see FuzzKernel.half_sum)."""


def compare(expected: np.ndarray, got: np.ndarray, dtype: str, half_sum: int = 0) -> str | None:
    """Why `got` is not `expected`, or None."""
    if expected.shape != got.shape:
        return f"shape {got.shape}, expected {expected.shape}"
    if dtype == "i32":
        wrong = np.flatnonzero(expected != got)
    else:
        e, g = expected.astype(np.float64), got.astype(np.float64)
        finite = np.isfinite(e)
        scale = float(np.max(np.abs(e[finite]), initial=1.0))
        tolerance = TOLERANCE[dtype]
        with np.errstate(invalid="ignore"):
            close = np.abs(e - g) <= tolerance * (np.abs(e) + scale) + HALF_ROUNDOFF * half_sum
        same = (np.isnan(e) & np.isnan(g)) | (np.isinf(e) & (e == g))
        wrong = np.flatnonzero(~(close | same))
    if not wrong.size:
        return None
    first = wrong[:4]
    pairs = ", ".join(f"[{i}] {got[i]!r} (expected {expected[i]!r})" for i in first)
    return f"{wrong.size} of {expected.size} elements differ: {pairs}"


def run_case(kernel: FuzzKernel, oracle: Oracle, which: str = "sample") -> CaseResult:
    """The case's kernel by the oracle and by xnpu at each variant (see the module
    docstring)."""
    result = CaseResult(kernel.case_id, dict(kernel.features), "match")
    inputs = arguments(kernel)
    try:
        expected = oracle.run(kernel, inputs)
    except OracleError as error:
        result.status = "invalid"
        result.runs.append(Run("oracle", "invalid", message=_describe(error)))
        return result
    with tempfile.TemporaryDirectory(prefix="xnpu-fuzz-") as directory:
        kernel_fn = load_kernel(kernel.source, kernel.name, Path(directory))
        try:
            module = xnpu.from_triton(kernel_fn, kernel.signature, kernel.constexprs)
        except REFUSALS as error:
            result.runs.append(Run("front end", "refused", message=_describe(error)))
            result.status = "refused"
            return result
        except Exception as error:
            result.runs.append(Run("front end", "defect", "exception", describe_traceback(error)))
            result.status = "defect"
            return result
    for level, options in variants_of(kernel, which):
        result.runs.append(_run_variant(kernel, module, level, options, inputs, expected))
    statuses = {run.status for run in result.runs}
    result.status = (
        "defect" if "defect" in statuses else "refused" if "refused" in statuses else "match"
    )
    return result


def _run_variant(kernel, module, level, options, inputs, expected) -> Run:
    name = variant_name(level, options)
    try:
        lowered = xnpu.lower(module, level, **options)
    except REFUSALS as error:
        return Run(name, "refused", message=_describe(error))
    except Exception as error:
        kind = "invalid IR" if isinstance(error, VerifyException) else "exception"
        return Run(name, "defect", kind, describe_traceback(error))
    for number, (launch, given, want) in enumerate(zip(kernel.launches, inputs, expected)):
        values = {p: to_torch(v, kernel.signature[p]) for p, v in given.items()}
        before = {p: v.clone() for p, v in values.items() if hasattr(v, "clone")}
        where = f" (launch {number}, grid {launch.grid})"
        try:
            xnpu.run(lowered, *values.values(), grid=launch.grid)
        except Exception as error:
            changed = [p for p, v in before.items() if not _same(v, values[p])]
            if changed:
                return Run(name, "defect", "changed data", f"a failed run changed {', '.join(changed)}"
                           f"{where}: {_describe(error)}")  # fmt: skip
            if isinstance(error, REFUSALS):
                return Run(name, "refused", message=_describe(error))
            kind = "interpreter error" if isinstance(error, InterpreterError) else "exception"
            text = _describe(error) if kind == "interpreter error" else describe_traceback(error)
            return Run(name, "defect", kind, text + where)
        for pointer, array in want.items():
            got = values[pointer]
            got = got.float().numpy() if str(got.dtype) == "torch.bfloat16" else got.numpy()
            why = compare(array, got, kernel.signature[pointer].lstrip("*"), kernel.half_sum)
            if why:
                return Run(name, "defect", "mismatch", f"{pointer}{where}: {why}")
    return Run(name, "match")


def _same(a, b) -> bool:
    return bool(torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, 0, 0, True)))
