"""Every libdevice function in npu-lower-triton's table lowers, runs and is costed,
matching PyTorch (a function outside it is a named error: test_legality.py)."""

from __future__ import annotations

import math

import pytest
import torch

import xnpu
from xnpu.frontend.ttir import parse_ttir
from xnpu.transforms.libdevice import LIBDEVICE, RESULTS
from xnpu.transforms.pipelines import LEVELS

N = 64


def _cbrt(x):
    return torch.sign(x) * x.abs().pow(1 / 3)


def _round_half_away(x):
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def _nextafter(x, y):
    return torch.nextafter(x, y)


REFERENCE = {
    # name: (PyTorch, the inputs' range (low, high), operands: "x", "xy" or "xn")
    "exp": (torch.exp, (-10, 10), "x"),
    "exp2": (torch.exp2, (-10, 10), "x"),
    "expm1": (torch.expm1, (-1, 1), "x"),
    "log": (torch.log, (0.01, 100), "x"),
    "log2": (torch.log2, (0.01, 100), "x"),
    "log10": (torch.log10, (0.01, 100), "x"),
    "log1p": (torch.log1p, (-0.5, 10), "x"),
    "sqrt": (torch.sqrt, (0, 100), "x"),
    "rsqrt": (torch.rsqrt, (0.01, 100), "x"),
    "cbrt": (_cbrt, (-100, 100), "x"),
    "pow": (torch.pow, (0.1, 3), "xy"),
    "erf": (torch.erf, (-4, 4), "x"),
    "erfc": (torch.erfc, (-4, 9), "x"),
    "erfinv": (torch.erfinv, (-0.999, 0.999), "x"),
    "lgamma": (torch.lgamma, (-4.4, 30), "x"),
    "sin": (torch.sin, (-10, 10), "x"),
    "cos": (torch.cos, (-10, 10), "x"),
    "tan": (torch.tan, (-1.5, 1.5), "x"),
    "asin": (torch.asin, (-1, 1), "x"),
    "acos": (torch.acos, (-1, 1), "x"),
    "atan": (torch.atan, (-10, 10), "x"),
    "atan2": (torch.atan2, (-10, 10), "xy"),
    "sinh": (torch.sinh, (-5, 5), "x"),
    "cosh": (torch.cosh, (-5, 5), "x"),
    "tanh": (torch.tanh, (-5, 5), "x"),
    "asinh": (torch.asinh, (-10, 10), "x"),
    "acosh": (torch.acosh, (1, 10), "x"),
    "atanh": (torch.atanh, (-0.99, 0.99), "x"),
    "fabs": (torch.abs, (-10, 10), "x"),
    "abs": (torch.abs, (-10, 10), "x"),
    "floor": (torch.floor, (-10, 10), "x"),
    "ceil": (torch.ceil, (-10, 10), "x"),
    "trunc": (torch.trunc, (-10, 10), "x"),
    "round": (_round_half_away, (-10, 10), "x"),
    "rint": (torch.round, (-10, 10), "x"),
    "nearbyint": (torch.round, (-10, 10), "x"),
    "copysign": (torch.copysign, (-10, 10), "xy"),
    "fmod": (torch.fmod, (-10, 10), "xy"),
    "fmax": (torch.fmax, (-10, 10), "xy"),
    "fmin": (torch.fmin, (-10, 10), "xy"),
    "hypot": (torch.hypot, (-1e30, 1e30), "xy"),
    "ldexp": (lambda x, n: torch.ldexp(x, n), (-10, 10), "xn"),
    "llrint": (lambda x: torch.round(x).long(), (-1e6, 1e6), "x"),
    "isnan": (lambda x: torch.isnan(x).int(), (-10, 10), "x"),
    "isinf": (lambda x: torch.isinf(x).int(), (-10, 10), "x"),
    "signbit": (lambda x: torch.signbit(x).int(), (-10, 10), "x"),
    "nextafter": (_nextafter, (-10, 10), "xy"),
    "sigmoid": (torch.sigmoid, (-10, 10), "x"),
}

RESULT = RESULTS
TORCH_DTYPE = {"f32": torch.float32, "i32": torch.int32, "i64": torch.int64}


def _pointer_tensor(name: str, element: str) -> list[str]:
    """`%name` = the N lanes at `%name_ptr`."""
    pointers = f"tensor<{N}x!tt.ptr<{element}>>"
    return [
        f"%{name}p = tt.splat %{name}_ptr : !tt.ptr<{element}> -> {pointers}",
        f"%{name}a = tt.addptr %{name}p, %offs : {pointers}, tensor<{N}xi32>",
    ]


def ttir(name: str) -> str:
    """A kernel of N lanes: out = __nv_<name>f(x[, y or n])."""
    operands = REFERENCE[name][2]
    result = RESULT.get(name, "f32")
    parameters = "%x_ptr: !tt.ptr<f32>, %y_ptr: !tt.ptr<f32>, %n_ptr: !tt.ptr<i32>"
    body = [f"%offs = tt.make_range {{end = {N} : i32, start = 0 : i32}} : tensor<{N}xi32>"]
    for arg, element in (("x", "f32"), ("y", "f32"), ("n", "i32")):
        body += _pointer_tensor(arg, element)
        body.append(f"%{arg} = tt.load %{arg}a : tensor<{N}x!tt.ptr<{element}>>")
    arguments = ", ".join(f"%{a}" for a in operands)
    types = ", ".join(f"tensor<{N}x{'i32' if a == 'n' else 'f32'}>" for a in operands)
    attributes = f'libname = "", libpath = "", pure = true, symbol = "__nv_{name}f"'
    body.append(
        f"%r = tt.extern_elementwise {arguments} {{{attributes}}} : ({types}) -> tensor<{N}x{result}>"
    )
    body += _pointer_tensor("out", result)
    body += [f"tt.store %outa, %r : tensor<{N}x!tt.ptr<{result}>>", "tt.return"]
    lines = "\n    ".join(body)
    return (
        f"builtin.module {{\n  tt.func public @{name}({parameters}, %out_ptr: !tt.ptr<{result}>) {{"
        f"\n    {lines}\n  }}\n}}\n"
    )


def inputs(name: str):
    low, high = REFERENCE[name][1]
    g = torch.Generator().manual_seed(len(name))
    x = low + (high - low) * torch.rand(N, generator=g)
    y = low + (high - low) * torch.rand(N, generator=g)
    x[:4] = torch.tensor([low, high, 0.5 * (low + high), 0.0]).clamp(min(low, 0), high)
    if name in ("isnan", "isinf", "signbit", "nextafter", "copysign", "fmax", "fmin"):
        x[4:8] = torch.tensor([math.nan, math.inf, -math.inf, -0.0])
        y[8:10] = x[8:10]  # nextafter(x, x) is x
    if name in ("round", "rint", "nearbyint", "llrint"):
        x[8:12] = torch.tensor([0.5, 1.5, -2.5, 2.5])
    n = torch.randint(-20, 20, (N,), generator=g, dtype=torch.int32)
    return x, y, n


def test_the_table_and_the_reference_list_name_the_same_functions():
    assert set(LIBDEVICE) == set(REFERENCE)


@pytest.mark.parametrize("level", ["scalar", "vec"])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_every_libdevice_function_lowers_runs_and_matches_pytorch(name, level):
    reference, _, operands = REFERENCE[name]
    module = parse_ttir(ttir(name))
    x, y, n = inputs(name)
    out = torch.zeros(N, dtype=TORCH_DTYPE[RESULT.get(name, "f32")])
    report = xnpu.run(xnpu.lower(module, level), x, y, n, out, grid=1)
    want = reference(*[{"x": x, "y": y, "n": n}[a] for a in operands])
    if want.dtype.is_floating_point:
        assert torch.allclose(out, want, rtol=2e-5, atol=2e-5, equal_nan=True), (
            name,
            (out - want).abs().max(),
        )
    else:
        assert torch.equal(out, want.to(out.dtype)), name
    assert report.cycles > 0


def test_a_function_computed_from_others_costs_more_than_a_plain_one():
    """Costs follow what a function becomes: lgamma (logs, a sine, a series) costs
    more per lane than exp, and fabs less."""

    def cycles(name):
        x, y, n = inputs(name)
        out = torch.zeros(N)
        return xnpu.run(xnpu.lower(parse_ttir(ttir(name)), "vec"), x, y, n, out, grid=1).cycles

    assert cycles("fabs") < cycles("exp") < cycles("lgamma")


def test_every_level_runs_a_function_with_an_expansion():
    x, y, n = inputs("erfinv")
    for level in LEVELS:
        out = torch.zeros(N)
        xnpu.run(xnpu.lower(parse_ttir(ttir("erfinv")), level), x, y, n, out, grid=1)
        assert torch.allclose(out, torch.erfinv(x), rtol=2e-5, atol=2e-5), level


KERNEL = """
import triton
import triton.language as tl
from triton.language.extra import libdevice


@triton.jit
def kernel(x_ptr, y_ptr, n_ptr, out_ptr, N: tl.constexpr):
    offs = tl.arange(0, N)
    x, y, n = tl.load(x_ptr + offs), tl.load(y_ptr + offs), tl.load(n_ptr + offs)
    tl.store(out_ptr + offs, libdevice.{name}({arguments}))
"""

HALF_TOLERANCE = {"lgamma": 0.05, "erfinv": 0.02, "tan": 0.02}
"""fp16 results off by more than fp16's own roundoff of the fp32 result, where the
approximation runs in fp16 as the reference's fp16 forms do. nextafter is not
compared in fp16: it steps by fp16's own spacing, so fp32's result is no reference."""

FORMS = [
    (name, dtype)
    for name in sorted(REFERENCE)
    for dtype in (torch.float32, torch.float16)
    if not (name == "nextafter" and dtype == torch.float16)
]


def _kernel(tmp_path, name: str):
    """A @triton.jit kernel calling libdevice.<name> (Triton reads a kernel's source
    from its file, so each is written to one)."""
    import importlib.util

    source = tmp_path / f"libdevice_{name}.py"
    source.write_text(KERNEL.format(name=name, arguments=", ".join(REFERENCE[name][2])))
    spec = importlib.util.spec_from_file_location(f"libdevice_{name}", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.kernel


@pytest.mark.parametrize(
    ("name", "dtype"),
    FORMS,
    ids=[f"{n}-{'fp16' if d == torch.float16 else 'fp32'}" for n, d in FORMS],
)
def test_xnpus_libdevice_module_gives_every_function_in_fp16_and_fp32(
    xnpu_driver, tmp_path, name, dtype
):
    """`from triton.language.extra import libdevice` is xnpu's module for xnpu's
    target: every function, fp16 forms included, matches PyTorch (on fp32 inputs,
    rounded to the dtype)."""
    reference, (low, high), operands = REFERENCE[name]
    if dtype == torch.float16:
        low, high = max(low, -6e4), min(high, 6e4)
    x, y, n = inputs(name)
    x, y = x.clamp(low, high).to(dtype), y.clamp(low, high).to(dtype)
    result_dtype = TORCH_DTYPE.get(RESULT.get(name, ""), dtype)
    out = torch.zeros(N, dtype=result_dtype)
    _kernel(tmp_path, name)[(1,)](x, y, n, out, N=N, level="vec")
    want = reference(*[{"x": x.float(), "y": y.float(), "n": n}[a] for a in operands])
    if not want.dtype.is_floating_point:
        assert torch.equal(out, want.to(out.dtype)), name
        return
    want = want.to(dtype).float()
    tolerance = 2e-5 if dtype == torch.float32 else max(4e-3, HALF_TOLERANCE.get(name, 0))
    assert torch.allclose(out.float(), want, rtol=tolerance, atol=tolerance, equal_nan=True), (
        name,
        (out.float() - want).abs().max(),
    )


def test_a_libdevice_call_with_operands_of_no_form_names_the_forms(xnpu_driver, tmp_path):
    from triton.compiler.errors import CompilationError

    x = torch.zeros(N, dtype=torch.int32)
    with pytest.raises(
        CompilationError,
        match=r"libdevice.tanh takes \(fp16; bf16; fp32; fp64\), not \(int32\)",
    ):
        _kernel(tmp_path, "tanh")[(1,)](x, x, x, x, N=N)
