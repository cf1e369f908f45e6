"""
`from_triton`: a `@triton.jit` kernel, TTIR text or a `.ttir` file, as an xDSL module
in the `tt` dialect, on a machine with no GPU.

Triton compiles to TTIR for an explicit target (no driver is asked for one); only
the `ttir` stage of that target's pipeline runs, so no GPU toolchain is needed. The
target also decides which libdevice symbols `tt.extern_elementwise` names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from xnpu.frontend.ttir import TritonFrontendError, parse_ttir, read_ttir_file

DEFAULT_TARGET = ("cuda", 80, 32)
"""(backend, arch, warp size) Triton compiles for: any target with a TTIR stage will
do; this one is in every Triton wheel and its libdevice is `__nv_*`."""

_SCALAR_TYPES = {"i1", "i8", "i16", "i32", "i64", "u1", "u8", "u16", "u32", "u64",
                 "fp8e4nv", "fp8e5", "fp16", "bf16", "fp32", "fp64"}  # fmt: skip


def _check_type(parameter: str, type: str) -> None:
    pointee = type[1:] if type.startswith("*") else type
    if type != "constexpr" and pointee not in _SCALAR_TYPES:
        raise TritonFrontendError(
            f"parameter '{parameter}' has unknown type '{type}': use a scalar type "
            f"({', '.join(sorted(_SCALAR_TYPES))}), a pointer to one ('*fp32'), or 'constexpr'"
        )


def complete_signature(
    kernel, signature: Mapping[str, str] | None, constexprs: Mapping[str, object] | None
) -> tuple[dict[str, str], dict[str, object]]:
    """
    The kernel's full signature in parameter order, checked against its parameters:
    constexpr parameters may be left out of `signature` (they are marked `constexpr`),
    every other parameter needs a type, and every constexpr a value.
    """
    parameters = list(kernel.arg_names)
    declared_constexpr = {p.name for p in kernel.params if p.is_constexpr}
    constexprs = _constexpr_values(kernel, constexprs)
    signature = _named_signature(kernel, signature, constexprs, declared_constexpr)
    unknown = sorted((set(signature) | set(constexprs)) - set(parameters))
    if unknown:
        raise TritonFrontendError(
            f"{kernel.__name__} has no parameter {', '.join(unknown)}; its parameters "
            f"are {', '.join(parameters)}"
        )
    complete: dict[str, str] = {}
    for parameter in parameters:
        type = signature.get(parameter)
        if type is None and (parameter in constexprs or parameter in declared_constexpr):
            type = "constexpr"
        if type is None:
            raise TritonFrontendError(
                f"{kernel.__name__}: no type for parameter '{parameter}'; give the "
                f"signature of every parameter, e.g. {{'{parameter}': '*fp32'}} or 'i32'"
            )
        _check_type(parameter, type)
        if type == "constexpr" and parameter not in constexprs:
            raise TritonFrontendError(
                f"{kernel.__name__}: constexpr parameter '{parameter}' needs a value "
                f"(constexprs={{'{parameter}': ...}})"
            )
        complete[parameter] = type
    return complete, constexprs


def _constexpr_values(kernel, constexprs) -> dict[str, object]:
    if constexprs is None:
        return {}
    if not isinstance(constexprs, Mapping):
        raise TritonFrontendError(
            f"{kernel.__name__}: constexprs must map names to values ({{'BLOCK': 1024}}), "
            f"not {constexprs!r:.60}"
        )
    for name, value in constexprs.items():
        if not isinstance(value, int | float | bool | str | None):
            raise TritonFrontendError(
                f"{kernel.__name__}: constexpr '{name}' is {value!r:.60}: give a number, a bool, "
                "a string or None"
            )
    return dict(constexprs)


def _named_signature(
    kernel, signature, constexprs: dict, declared_constexpr: set
) -> dict[str, str]:
    """`signature` by parameter name: a mapping as it is, or a sequence giving the types
    of the parameters that are not constexpr, in order."""
    if signature is None:
        return {}
    if isinstance(signature, Mapping):
        named = dict(signature)
    elif isinstance(signature, list | tuple):
        free = [p for p in kernel.arg_names if p not in declared_constexpr and p not in constexprs]
        if len(signature) != len(free):
            raise TritonFrontendError(
                f"{kernel.__name__}: the signature gives {len(signature)} types for "
                f"{len(free)} parameters ({', '.join(free)})"
            )
        named = dict(zip(free, signature))
    else:
        raise TritonFrontendError(
            f"{kernel.__name__}: the signature must be a dict ({{'x_ptr': '*fp32', 'n': 'i32'}}) "
            f"or a list of types in parameter order, not {signature!r:.60}"
        )
    for name, type in named.items():
        if not isinstance(type, str):
            raise TritonFrontendError(
                f"{kernel.__name__}: the type of '{name}' is {type!r:.60}: give Triton's type as "
                "a string ('*fp32', 'i32')"
            )
    return named


def compile_to_ttir(
    kernel,
    signature: Mapping[str, str] | None,
    constexprs: Mapping[str, object] | None = None,
    target: tuple[str, int, int] = DEFAULT_TARGET,
    debug_info: bool = True,
) -> str:
    """The TTIR Triton makes of `kernel`, as Triton prints it (with `loc` info or not)."""
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # silences a 3.9 warning
    from triton._C.libtriton import ir
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.compiler.compiler import make_backend
    from triton.compiler.errors import CompilationError

    signature, constexprs = complete_signature(kernel, signature, constexprs)
    gpu_target = GPUTarget(*target)
    backend = make_backend(gpu_target)
    source = ASTSource(fn=kernel, signature=signature, constexprs=constexprs)
    options = backend.parse_options(source.parse_options())
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    try:
        module = source.make_ir(
            gpu_target,
            options,
            backend.get_codegen_implementation(options),
            backend.get_module_map(),
            context,
        )
    except CompilationError as error:
        raise TritonFrontendError(f"Triton cannot compile {kernel.__name__}:\n{error}") from None
    stages: dict = {}
    backend.add_stages(stages, options, source.language)
    module = stages["ttir"](module, {})
    return str(module) if debug_info else module.str_nodebug()


def _looks_like_ir(text: str) -> bool:
    return re.search(r"\btt\.func\b|^\s*module\b", text, re.MULTILINE) is not None


def from_triton(
    kernel,
    signature: Mapping[str, str] | Sequence[str] | None = None,
    constexprs: Mapping[str, object] | None = None,
    *,
    target: tuple[str, int, int] = DEFAULT_TARGET,
) -> ModuleOp:
    """
    A Triton kernel as a verified xDSL module in the `tt` dialect.

    `kernel` is a `@triton.jit` function (then `signature` gives each parameter's
    type in Triton's own form, `{"x_ptr": "*fp32", "n": "i32"}`, or the types of the
    non-constexpr parameters in order, `["*fp32", "i32"]`, and `constexprs`
    the values of its `tl.constexpr` parameters), TTIR text, or the path of a
    `.ttir`/`.mlir` file. Raises `TritonFrontendError` with what and where.
    """
    from triton.runtime.jit import JITFunction

    if isinstance(kernel, JITFunction):
        text = compile_to_ttir(kernel, signature, constexprs, target)
        return parse_ttir(text, f"<ttir of {kernel.__name__}>")
    if signature or constexprs:
        raise TritonFrontendError(
            "signature and constexprs apply to a @triton.jit kernel, not to IR"
        )
    if isinstance(kernel, os.PathLike) or (
        isinstance(kernel, str) and "\n" not in kernel and not _looks_like_ir(kernel)
    ):
        if not Path(kernel).exists():
            raise TritonFrontendError(f"no such file: {kernel}")
        return read_ttir_file(kernel)
    if isinstance(kernel, str):
        return parse_ttir(kernel)
    if callable(kernel):
        raise TritonFrontendError(
            f"{getattr(kernel, '__name__', kernel)} is not a @triton.jit function"
        )
    raise TritonFrontendError(
        f"expected a @triton.jit function, TTIR text or a path, got {type(kernel).__name__}"
    )
