"""
Inputs and PyTorch references for the corpus kernels: `make_case(name, size)` gives
the arguments in the kernel's order, the grid, and what the output arguments must
hold afterwards.

Sizes: element-wise kernels take a number of elements; the hand-written row kernels
take (rows, cols) with cols <= BLOCK_SIZE; Inductor's reductions and add_broadcast
were generated for one shape (ROWS x COLS, see inductor/__init__.py), so their size is a
number of extra programs launched past the last row (they must do nothing).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from xnpu.kernels.flash_attention import CONSTEXPRS as ATTENTION
from xnpu.kernels.inductor import COLS, ROWS
from xnpu.kernels.matmul import CONSTEXPRS as MATMUL
from xnpu.kernels.polynomial import CONSTEXPRS as POLYNOMIAL_CONSTEXPRS

POLYNOMIAL_DEGREE = POLYNOMIAL_CONSTEXPRS["DEGREE"]


@dataclass
class Case:
    kernel: str
    args: list
    grid: tuple[int, ...]
    expected: dict[int, torch.Tensor] = field(default_factory=dict)
    """Argument position -> what that buffer must hold after the run."""
    atol: float = 1e-5
    """The absolute tolerance: sums of many products may add in another order than
    PyTorch's (a dot's is ~1e-5 per term summed)."""

    def mismatches(self, rtol: float = 1e-4, atol: float | None = None) -> list[str]:
        """Empty when every output matches the PyTorch reference (a half-precision output
        within one unit of its last place: the kernel and PyTorch may round an fp32
        value a hair apart to opposite sides)."""
        problems = []
        atol = self.atol if atol is None else atol
        for position, want in self.expected.items():
            got = self.args[position]
            half = want.dtype in (torch.float16, torch.bfloat16)
            tolerance = max(rtol, torch.finfo(want.dtype).eps) if half else rtol
            if not torch.allclose(got, want, rtol=tolerance, atol=atol, equal_nan=True):
                error = (got - want).abs().nan_to_num(float("inf"))
                error[got.isnan() & want.isnan()] = 0  # NaN where PyTorch has NaN is right
                worst = int(error.argmax())
                problems.append(
                    f"{self.kernel}: argument {position} differs from PyTorch at element "
                    f"{worst}: {got.reshape(-1)[worst]:.6g} vs {want.reshape(-1)[worst]:.6g} "
                    f"(max abs error {float(error.max()):.3g})"
                )
        return problems


def _blocks(n: int, block: int) -> tuple[int]:
    return (max(1, -(-n // block)),)


def _elementwise(
    reference: Callable, block: int, inputs: int = 1, uniform: bool = False, dtype=torch.float32
):
    """Inputs drawn from N(0, 1), or from U(-1, 1) with `uniform`, stored as `dtype`;
    the reference takes them in that type."""

    def build(name: str, n: int, generator: torch.Generator) -> Case:
        def draw():
            return (
                torch.rand(n, generator=generator) * 2 - 1
                if uniform
                else torch.randn(n, generator=generator)
            )

        xs = [draw().to(dtype) for _ in range(inputs)]
        out = torch.full((n,), float("nan"), dtype=dtype)
        return Case(name, [*xs, out, n], _blocks(n, block), {inputs: reference(*xs)})

    return build


def _rows(reference: Callable, layout: str):
    def build(name: str, size: tuple[int, int], generator: torch.Generator) -> Case:
        rows, cols = size
        x = torch.randn(rows, cols, generator=generator)
        y = torch.full((rows, cols), float("nan"))
        w, b = torch.randn(cols, generator=generator), torch.randn(cols, generator=generator)
        if layout == "softmax":
            return Case(name, [y, x, cols, cols, cols], (rows,), {0: reference(x)})
        if layout == "layer_norm":
            return Case(name, [x, y, w, b, cols, cols, 1e-5], (rows,), {1: reference(x, w, b)})
        return Case(name, [x, y, w, cols, cols, 1e-6], (rows,), {1: reference(x, w)})

    return build


def _inductor_rows(layout: str):
    def build(name: str, extra_programs: int, generator: torch.Generator) -> Case:
        x = torch.randn(ROWS, COLS, generator=generator)
        w, b = torch.randn(COLS, generator=generator), torch.randn(COLS, generator=generator)
        y = torch.full((ROWS, COLS), float("nan"))
        (programs,) = importlib.import_module(f"xnpu.kernels.{name.replace('/', '.')}").GRID
        grid = (programs + extra_programs,)
        match layout:
            case "softmax":
                out = x.clone()  # in_out_ptr0: read and overwritten in place
                return Case(name, [out, x, ROWS, COLS], grid, {0: torch.softmax(x, -1)})
            case "layer_norm":
                expected = F.layer_norm(x, (COLS,), w, b)
                return Case(name, [x, w, b, y, ROWS, COLS], grid, {3: expected})
            case "rms_norm":
                expected = F.rms_norm(x, (COLS,), w, eps=1e-6)
                return Case(name, [x, w, y, ROWS, COLS], grid, {2: expected})
            case _:
                total = ROWS * COLS
                out = torch.full((total,), float("nan"))
                return Case(name, [x.reshape(-1), w, out, total], grid, {2: (x + w).reshape(-1)})
        raise AssertionError(layout)

    return build


def matmul_case(n: int, seed: int = 0, blocks: tuple[int, int] | None = None) -> Case:
    """n x n times n x n in fp16, fp32 out, for the corpus matmul launched with output
    blocks of `blocks` (BLOCK_M, BLOCK_N; by default its own)."""
    generator = torch.Generator().manual_seed(seed)
    block_m, block_n = blocks or (MATMUL["BLOCK_M"], MATMUL["BLOCK_N"])
    a, b = (torch.randn(n, n, generator=generator).half() for _ in range(2))
    c = torch.full((n, n), float("nan"))
    grid = (-(-n // block_m) * -(-n // block_n),)
    want = a.float() @ b.float()
    return Case("matmul", [a, b, c, n, n, n, n, n, n], grid, {2: want}, atol=1e-5 * n)


def _attention(name: str, size: tuple[int, int], generator: torch.Generator) -> Case:
    """`heads` heads of `length` queries against as many keys, fp16, not causal."""
    heads, length = size
    dims = ATTENTION["D"]
    q, k, v = (torch.randn(heads, length, dims, generator=generator).half() for _ in range(3))
    o = torch.full((heads, length, dims), float("nan"), dtype=torch.float16)
    want = F.scaled_dot_product_attention(q.float(), k.float(), v.float()).half()
    grid = (-(-length // ATTENTION["BLOCK_M"]), heads)
    # p is rounded to fp16 before its dot with v, as the kernel says: ~1e-3 off
    return Case(name, [q, k, v, o, length, dims**-0.5], grid, {3: want}, atol=2e-3)


def _gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x * 0.7071067811865476))


def _gelu_tanh(x):
    """gelu_tanh op for op as Triton types it: the tensor's type (constants rounded to
    it first), but fp32 for the exponential and from the division on (Triton's `/`
    widens fp16)."""

    def c(value):
        return torch.tensor(value, dtype=x.dtype)

    u = c(0.797885) * x + c(0.035677) * x * x * x
    e = torch.exp((c(-2) * u).float()).to(x.dtype)
    tanh = (c(1) - e).float() / (c(1) + e).float()
    return ((c(0.5) * x).float() * (1 + tanh)).to(x.dtype)


def polynomial_reference(x: torch.Tensor, degree: int) -> torch.Tensor:
    """The polynomial kernel's Horner scheme, op for op in fp32."""
    acc = torch.ones_like(x)
    for k in range(degree, 0, -1):
        acc = acc * (x * (1.0 / k)) + 1.0
    return acc


def _polynomial(degree: int):
    return _elementwise(lambda x: polynomial_reference(x, degree), 1024, uniform=True)


def polynomial_case(n: int, degree: int, seed: int = 0) -> Case:
    """The polynomial kernel compiled with DEGREE = `degree`, on `n` elements."""
    return _polynomial(degree)("polynomial", n, torch.Generator().manual_seed(seed))


def _rms(x, w, eps=1e-6):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


BUILDERS: dict[str, Callable] = {
    "vector_add": _elementwise(lambda x, y: x + y, 1024, inputs=2),
    "gelu": _elementwise(_gelu, 1024),
    "gelu_tanh": _elementwise(_gelu_tanh, 1024),
    "gelu_tanh_fp16": _elementwise(_gelu_tanh, 1024, dtype=torch.float16),
    "softmax": _rows(lambda x: torch.softmax(x, -1), "softmax"),
    "layer_norm": _rows(
        lambda x, w, b: F.layer_norm(x, (x.shape[1],), w, b, eps=1e-5), "layer_norm"
    ),
    "rms_norm": _rows(_rms, "rms_norm"),
    "polynomial": _polynomial(POLYNOMIAL_DEGREE),
    "inductor/gelu": _elementwise(F.gelu, 256),
    "inductor/silu": _elementwise(F.silu, 256),
    "inductor/add_broadcast": _inductor_rows("add_broadcast"),
    "inductor/softmax": _inductor_rows("softmax"),
    "inductor/layer_norm": _inductor_rows("layer_norm"),
    "inductor/rms_norm": _inductor_rows("rms_norm"),
    "matmul": lambda name, n, generator: matmul_case(n, int(generator.initial_seed())),
    "flash_attention": _attention,
}

TEST_SIZES: dict[str, list] = {
    **dict.fromkeys(
        ["vector_add", "gelu", "gelu_tanh", "gelu_tanh_fp16", "polynomial"], [4096, 3000, 100]
    ),
    **dict.fromkeys(["inductor/gelu", "inductor/silu"], [1024, 1000, 37]),
    **dict.fromkeys(["softmax", "layer_norm", "rms_norm"], [(4, 1024), (5, 781), (3, 50)]),
    **dict.fromkeys(["inductor/softmax", "inductor/layer_norm", "inductor/rms_norm"], [0, 3]),
    "inductor/add_broadcast": [0],  # unmasked: extra programs would read past the end
    "matmul": [128, 100],
    "flash_attention": [(2, 128), (1, 100)],
}
"""Per kernel: sizes that are and are not multiples of the block, and one smaller than
a block (for the fixed-shape Inductor kernels: extra programs past the end)."""


def make_case(name: str, size, seed: int = 0) -> Case:
    if name not in BUILDERS:
        raise ValueError(f"no test case for kernel '{name}'; known: {', '.join(BUILDERS)}")
    generator = torch.Generator().manual_seed(seed)
    return BUILDERS[name](name, size, generator)
