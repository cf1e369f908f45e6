"""
The compiler half of xnpu's Triton backend (found by Triton through the
`triton.backends` entry point; see xnpu/triton/__init__.py).

Triton's own TTIR passes run as they do for any backend; the last stage keeps the TTIR
text as the "binary". xnpu's pipeline runs at launch (xnpu/triton/launch.py), once per
level and options, so the same compiled kernel serves every rung of the ladder.

Loaded by every `import triton` in the environment: this module imports nothing of
xnpu's beyond what is light, and claims only the target named "xnpu" (and "cpu" while
the torch.compile backend provides it).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import sys
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path

from triton.backends.compiler import BaseBackend, GPUTarget

from xnpu.triton.keywords import REFERENCE_OPTIONS, XNPU_KEYWORDS

TARGET_NAME = "xnpu"
"""The `GPUTarget.backend` xnpu's driver reports and this backend compiles for."""

BINARY_EXT = "xttir"
"""The last stage's file suffix: TTIR after Triton's passes, as xnpu reads it."""


@dataclass(frozen=True)
class _TritonAndXnpuOptions:
    """Triton's compile options this backend reads, and xnpu's launch keywords."""

    # Triton's own (the code generator reads some; the rest keep Triton's launch path happy)
    num_warps: int = 1
    num_ctas: int = 1
    num_stages: int = 1
    warp_size: int = 1
    debug: bool = False
    sanitize_overflow: bool = False
    enable_fp_fusion: bool = False
    arch: str | None = None
    supported_fp8_dtypes: tuple[str, ...] = ()
    deprecated_fp8_dot_operand_dtypes: tuple[str, ...] = ()
    default_dot_input_precision: str = "ieee"
    allowed_dot_input_precisions: tuple[str, ...] = ("ieee", "tf32", "tf32x3")
    max_num_imprecise_acc_default: int = 0
    instrumentation_mode: str = ""
    fpsan_homomorphic_casts: bool = False
    extern_libs: tuple = ()
    launch_cooperative_grid: bool = False
    launch_pdl: bool = False

    def hash(self) -> str:
        key = "_".join(f"{f.name}-{getattr(self, f.name)}" for f in fields(self))
        return hashlib.sha256(key.encode()).hexdigest()


XnpuOptions = make_dataclass(
    "XnpuOptions",
    [
        *((k.name, object, field(default=None, metadata={"keyword": "xnpu"}))
          for k in XNPU_KEYWORDS),
        *((o.name, object,
           field(default=None if o.read else o.default, metadata={"keyword": "reference"}))
          for o in REFERENCE_OPTIONS),
    ],
    bases=(_TritonAndXnpuOptions,),
    frozen=True,
)  # fmt: skip
XnpuOptions.__module__ = __name__
XnpuOptions.__doc__ = """Triton's compile options this backend reads, plus the launch
keywords of xnpu and of the reference compiler (every field of hexagon-mlir's
HexagonOptions: keywords.py), which select xnpu's pipeline at launch. `None`
means "not given at launch": the session's value or the default applies
(xnpu/triton/options.py)."""


def keywords(kind: str) -> list[str]:
    """The launch keywords of `kind`: "xnpu", "reference", or Triton's own ("triton")."""
    return [f.name for f in fields(XnpuOptions) if f.metadata.get("keyword", "triton") == kind]


class LaunchOptionError(ValueError):
    """A launch keyword or session option that is unknown, mistyped or contradictory."""


def _check_launch_keywords(options: dict, given: dict) -> None:
    """The launch keywords checked where they enter, once (options.check_known).

    Triton's JIT hands `parse_options` every keyword of a launch, the kernel's
    parameters among them, and keeps nothing else of the kernel: only its caller's
    frame (Triton's `_pack_args`) knows those parameters, so an unknown keyword is
    named there, with the valid ones, before Triton's own terser KeyError."""
    caller = sys._getframe(2)
    launching = caller.f_locals.get("self") if caller.f_code.co_name == "_pack_args" else None
    name = getattr(launching, "__name__", None)
    if launching is not None:
        parameters = list(getattr(launching, "arg_names", ()))
        known = {f.name for f in fields(XnpuOptions)} | set(parameters)
        unknown = sorted(k for k in options if k not in known)
        if unknown:
            close = [m for k in unknown for m in difflib.get_close_matches(k, known, 1)]
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise LaunchOptionError(
                f"{name}: unknown launch keyword {', '.join(map(repr, unknown))}{hint}; "
                f"xnpu's are {', '.join(keywords('xnpu'))}; the reference compiler's are the "
                "fields of hexagon-mlir's HexagonOptions (docs/launching.md); the kernel's "
                f"parameters are {', '.join(parameters)}"
            )
    from xnpu.triton.options import check_known  # heavy: imported once xnpu compiles

    launch_keywords = {*keywords("xnpu"), *keywords("reference")}
    where = f"launch of {name}" if name else "launch keywords"
    check_known({k: v for k, v in given.items() if k in launch_keywords}, where, launch=True)


_FUNCTION_NAME = re.compile(r"tt\.func\s+(?:public\s+|private\s+)?@([\w$.]+)")


def _make_ttir(module, metadata: dict):
    """Triton's target-independent TTIR passes (the ones its GPU backends run first;
    tensor descriptors become pointer tensors, as for targets without TMA)."""
    from triton._C.libtriton import ir, passes

    manager = ir.pass_manager(module.context)
    manager.enable_debug()
    passes.common.add_inliner(manager)
    passes.ttir.add_rewrite_tensor_descriptor_to_pointer(manager)
    passes.common.add_canonicalizer(manager)
    passes.ttir.add_combine(manager)
    passes.ttir.add_reorder_broadcast(manager)
    passes.common.add_cse(manager)
    passes.common.add_symbol_dce(manager)
    passes.ttir.add_loop_unroll(manager)
    manager.run(module, "make_ttir")
    return module


def _as_xnpu_binary(module, metadata: dict) -> bytes:
    text = str(module)
    match = _FUNCTION_NAME.search(text)
    metadata["name"] = match.group(1) if match else "kernel"
    metadata["shared"] = 0
    return text.encode()


@functools.cache
def _stages_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


class XnpuBackend(BaseBackend):
    """Compiles Triton kernels for xnpu's simulated NPU: TTIR, kept as text."""

    binary_ext = BINARY_EXT

    @staticmethod
    def supports_target(target: GPUTarget) -> bool:
        return target.backend == TARGET_NAME

    def hash(self) -> str:
        # Triton's disk cache keys on this: a change to these stages makes new entries
        return f"xnpu-{_stages_hash()}-{self.target}"

    def parse_options(self, options: dict) -> XnpuOptions:
        known = {f.name for f in fields(XnpuOptions)}
        given = {k: v for k, v in options.items() if k in known and v is not None}
        _check_launch_keywords(options, given)
        for name in ("supported_fp8_dtypes", "allowed_dot_input_precisions", "extern_libs",
                     "cluster_dims"):  # fmt: skip
            if name in given:
                given[name] = tuple(given[name])
        return XnpuOptions(**given)

    def add_stages(self, stages: dict, options: XnpuOptions, language) -> None:
        stages["ttir"] = _make_ttir
        stages[BINARY_EXT] = _as_xnpu_binary

    def load_dialects(self, context) -> None:
        pass

    def get_module_map(self) -> dict:
        # `from triton.language.extra import libdevice` gives xnpu's (libdevice.py)
        from xnpu.triton import libdevice

        return {"triton.language.extra.libdevice": libdevice}

    def get_codegen_implementation(self, options: XnpuOptions) -> dict:
        return {"min_dot_size": lambda lhs, rhs: (1, 1, 1)}

    def pack_metadata(self, metadata):
        return (metadata.num_warps, metadata.num_ctas, metadata.shared)
