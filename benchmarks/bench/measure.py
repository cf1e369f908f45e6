"""
One measurement: a kernel lowered at one level (a `Variant`), run on fresh inputs,
its outputs compared with PyTorch, and only then its timing taken.

    kernel = bench_kernel("gelu")
    m = measure(kernel, Variant.of("vec+mt"), 1 << 20, machine)    # BenchError if wrong
    m.report.cycles, m.report.overlap_cycles

Sizes are numbers of elements: element-wise kernels take them as they are, the row
kernels as rows of 1,024.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException

import xnpu
from xnpu.interpreters.simulator.report import Report
from xnpu.kernels import CorpusKernel, corpus_kernel
from xnpu.kernels.cases import Case, make_case, polynomial_case
from xnpu.machines import Machine

ELEMENTWISE = (
    "vector_add",
    "gelu",
    "gelu_tanh",
    "gelu_tanh_fp16",
    "polynomial",
    "inductor/gelu",
    "inductor/silu",
)
ROW_KERNELS = ("softmax", "layer_norm", "rms_norm")
FIXED_SHAPE = ("inductor/add_broadcast", "inductor/softmax", "inductor/layer_norm",
               "inductor/rms_norm")  # fmt: skip
"""Inductor kernels captured for one shape (xnpu.kernels.inductor.ROWS x COLS): they
run at that size only."""
MATRIX_SHAPES: dict[str, object] = {"matmul": 256, "flash_attention": (2, 256)}
"""The matrix kernels and the problem the ladder runs them on: matmul n (n x n times
n x n), flash attention (heads, length). Their scalar rung multiplies element by
element, so a problem of N elements would take minutes to simulate."""
MATRIX_KERNELS = tuple(MATRIX_SHAPES)


def matrix_problem(kernel: str, size):
    """A matrix kernel's problem from one number: matmul's n, or flash attention's
    length (with MATRIX_SHAPES' heads); a full shape passes through."""
    if kernel == "flash_attention" and isinstance(size, int):
        return (MATRIX_SHAPES[kernel][0], size)
    return size


def problem(kernel: str, size) -> str:
    """What a size means for `kernel`, in words."""
    if kernel == "matmul":
        return f"{size} x {size} x {size} fp16 matmul"
    if kernel == "flash_attention":
        heads, length = size
        return f"{heads} heads x {length} queries x {length} keys, fp16"
    return f"{size:,} fp32 elements"


STYLES = ("grid", "reference")
"""Launch styles (design.md §1): Triton's grid of small blocks, as the kernel's BLOCK
says; or the reference compiler's, one program a BLOCK of N elements."""

LARGEST_BLOCK = 1 << 20
"""Triton's largest tensor (TRITON_MAX_TENSOR_NUMEL): a reference-style launch of more
elements uses ceil(N / 2^20) programs of 2^20, as grid=(num_threads,) launches do."""
ROW_LENGTH = 1024
"""The row kernels' rows (their BLOCK_SIZE): a size of N elements is N / 1024 rows."""


class BenchError(Exception):
    """A measurement that cannot be reported (a wrong output, an unknown kernel, a bad
    option); the message says what and where."""


class WrongOutput(BenchError):
    """A run whose output differs from PyTorch's: a defect, never a timing."""


@dataclass(frozen=True)
class BenchKernel:
    """A kernel as the runner sees it: its Triton source and fresh inputs per size."""

    name: str
    source: CorpusKernel
    make_case: Callable[[int, int], Case]
    """(elements, seed) -> inputs, grid and the PyTorch reference."""
    block_parameter: str | None = None
    """The constexpr a reference-style launch sets to N (None: grid style only)."""
    style: str = "grid"

    def sized(self, elements: int) -> BenchKernel:
        """The kernel as launched on `elements`: reference style sets its block to N
        (a power of two, at most LARGEST_BLOCK)."""
        if self.style == "grid":
            return self
        block = min(LARGEST_BLOCK, 1 << max(0, elements - 1).bit_length())
        source = self.source
        constexprs = {**source.constexprs, self.block_parameter: block}
        return BenchKernel(
            self.name, CorpusKernel(source.name, source.kernel, source.signature, constexprs),
            self.make_case, self.block_parameter, self.style,
        )  # fmt: skip

    def case(self, elements: int, seed: int) -> Case:
        case = self.make_case(elements, seed)
        if self.style == "reference":
            block = self.sized(elements).source.constexprs[self.block_parameter]
            case.grid = (max(1, -(-elements // block)),)
        return case


def bench_kernel(name: str, style: str = "grid") -> BenchKernel:
    """A corpus kernel whose problem size can be chosen, launched in `style`."""
    if style not in STYLES:
        raise BenchError(f"unknown launch style '{style}': use one of {', '.join(STYLES)}")
    if name in ELEMENTWISE:
        source = corpus_kernel(name)
        block = "XBLOCK" if "XBLOCK" in source.constexprs else "BLOCK_SIZE"
        return BenchKernel(name, source, lambda n, seed: make_case(name, n, seed), block, style)
    if style == "reference":
        raise BenchError(
            f"{name} runs grid style only: reference style sets an element-wise kernel's "
            f"block to N ({', '.join(ELEMENTWISE)})"
        )
    if name in ROW_KERNELS:
        return BenchKernel(
            name, corpus_kernel(name), lambda n, seed: make_case(name, _rows(n), seed)
        )
    if name in FIXED_SHAPE:
        return BenchKernel(name, corpus_kernel(name), lambda n, seed: make_case(name, 0, seed))
    if name in MATRIX_KERNELS:
        return BenchKernel(
            name,
            corpus_kernel(name),
            lambda n, seed: make_case(name, matrix_problem(name, n), seed),
        )
    raise BenchError(
        f"no benchmark kernel '{name}': choose from "
        f"{', '.join(ELEMENTWISE + ROW_KERNELS + FIXED_SHAPE + MATRIX_KERNELS)}"
    )


def polynomial_kernel(degree: int) -> BenchKernel:
    """The polynomial kernel compiled for one degree (db-sweep's family)."""
    source = corpus_kernel("polynomial")
    source = CorpusKernel(
        source.name, source.kernel, source.signature, {**source.constexprs, "DEGREE": degree}
    )
    return BenchKernel(
        f"polynomial degree {degree}", source, lambda n, seed: polynomial_case(n, degree, seed)
    )


def _rows(elements: int) -> tuple[int, int]:
    return (max(1, -(-elements // ROW_LENGTH)), ROW_LENGTH)


@dataclass(frozen=True)
class Variant:
    """A level with pass options: Variant.of("vec+mt+db", buffers=1)."""

    level: str
    options: tuple[tuple[str, object], ...] = ()
    label: str = ""
    baseline: str | None = None
    """The name of the variant its step speedup is measured against."""

    @staticmethod
    def of(level: str, label: str = "", baseline: str | None = None, **options) -> Variant:
        return Variant(level, tuple(sorted(options.items())), label, baseline)

    @property
    def name(self) -> str:
        return self.label or self.level


@dataclass
class Measurement:
    kernel: str
    variant: Variant
    elements: int
    report: Report

    @property
    def microseconds(self) -> float:
        return self.report.microseconds


_TT_MODULES: dict[tuple, ModuleOp] = {}
_LOWERED: OrderedDict[tuple, ModuleOp] = OrderedDict()
KEPT_LOWERED = 256
"""Lowered modules kept (least recently used go first): a long sweep visits thousands."""


def _key(kernel: BenchKernel) -> tuple:
    return (kernel.source.name, tuple(sorted(kernel.source.constexprs.items())))


def lowered(kernel: BenchKernel, variant: Variant, machine: Machine, programs: int = 0) -> ModuleOp:
    """The kernel lowered at the variant's level for a launch of `programs` programs,
    compiled and lowered once per run of the tool and machine model."""
    source = _key(kernel)
    options = (
        {**dict(variant.options), "programs": programs}
        if "mt" in variant.level
        else dict(variant.options)
    )
    key = (source, variant.level, tuple(sorted(options.items())), machine.fingerprint())
    if key in _LOWERED:
        _LOWERED.move_to_end(key)
    else:
        if source not in _TT_MODULES:
            _TT_MODULES[source] = kernel.source.to_tt()
        try:
            _LOWERED[key] = xnpu.lower(_TT_MODULES[source], variant.level, machine, **options)
        except (
            DiagnosticException,
            ValueError,
        ) as error:  # a pass names itself; say which run it was
            raise BenchError(f"{kernel.name} at {variant.name}: {error}") from None
        while len(_LOWERED) > KEPT_LOWERED:
            _LOWERED.popitem(last=False)
    return _LOWERED[key]


def measure(
    kernel: BenchKernel, variant: Variant, elements: int, machine: Machine, seed: int = 0
) -> Measurement:
    """Runs `kernel` at `variant` on `elements` fresh inputs; refuses (BenchError) to
    report a timing when any output differs from PyTorch's."""
    kernel = kernel.sized(elements)
    case = kernel.case(elements, seed)
    module = lowered(kernel, variant, machine, programs=math.prod(case.grid))
    report = xnpu.run(module, *case.args, grid=case.grid, machine=machine)
    wrong = case.mismatches()
    if wrong:
        raise WrongOutput(
            f"{kernel.name} at {variant.name}, {elements:,} elements: wrong output, so no timing "
            f"is reported: {wrong[0]}"
        )
    return Measurement(kernel.name, variant, elements, report)


@dataclass(frozen=True)
class Roofline:
    """The machine's bound for a kernel's work: its DDR bytes at DDR's bandwidth, its
    vector work spread over every vector unit, or its multiply-accumulates at the
    matrix units' peak, whichever is longest."""

    ddr_bytes: int
    vector_work_cycles: float
    machine: Machine = field(repr=False)
    matrix_peak_cycles: float = 0.0

    @staticmethod
    def of(report: Report, machine: Machine) -> Roofline:
        """The bound for the work a run did: its DDR bytes, vector work and products."""
        return Roofline(report.ddr_bytes, report.compute_cycles, machine, report.matrix_peak_cycles)

    @property
    def memory_cycles(self) -> float:
        return self.ddr_bytes / self.machine.ddr.bytes_per_cycle

    @property
    def compute_cycles(self) -> float:
        return max(
            self.vector_work_cycles / self.machine.core.vector_contexts, self.matrix_peak_cycles
        )

    @property
    def cycles(self) -> float:
        return max(self.memory_cycles, self.compute_cycles)

    @property
    def bound(self) -> str:
        if self.memory_cycles >= self.compute_cycles:
            return "memory"
        return "matrix" if self.matrix_peak_cycles >= self.compute_cycles else "compute"

    def fraction(self, cycles: float) -> float:
        """How close a run of `cycles` comes to the bound (1 = at the bound)."""
        return self.cycles / cycles if cycles else 0.0
