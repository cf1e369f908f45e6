"""
The launch keywords, one schema: xnpu's own (`XNPU_KEYWORDS`: the level, the machine
and the pass options, each with its type and choices) and the reference compiler's
(`REFERENCE_OPTIONS`: every field of hexagon-mlir's `HexagonOptions`, its Triton
backend's options, with hexagon-mlir's default and what xnpu does with it). Triton
accepts a launch keyword only if the backend's options have the field, so XnpuOptions
(compiler.py) gains one field per row; options.py checks a set of options against these
rows (once, where the options enter) and maps them.

The reference compiler's rows are of four kinds:

- a level switch (`mechanism`): on, it adds that mechanism to the level;
- a pass option (`option`): its value becomes that xnpu option (`num_threads` ->
  `contexts`, `scratch` -> `budget`);
- always on in xnpu (`always`): `False` is ignored with a warning, as xnpu cannot
  turn it off;
- no counterpart: accepted, and a value other than hexagon-mlir's default warns once
  per kernel that it has no effect.

Light: compiler.py imports it at every `import triton`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class XnpuKeyword:
    """One of xnpu's launch keywords."""

    name: str
    kinds: tuple[type, ...]
    """The types a value may have (a bool is not an int)."""
    doc: str
    choices: tuple[str, ...] = ()
    """The values a string option may take; empty: any."""
    positive: bool = False
    """Whether an integer must be at least 1."""


XNPU_KEYWORDS: tuple[XnpuKeyword, ...] = (
    XnpuKeyword("level", (str,), "the rung: 'scalar' or mechanisms joined by '+' (vec, mt, db)"),
    XnpuKeyword("machine", (str,), "a machine's name or machine file's path (a session or "
                "torch.compile may also give a Machine)"),
    XnpuKeyword("contexts", (int,), "hardware contexts MT uses and tiles are cut for",
                positive=True),
    XnpuKeyword("buffers", (int,), "rotating buffers a DB'd copy gets (1: DMA, no overlap)",
                positive=True),
    XnpuKeyword("writeback", (str,), "how DB writes tiles back", ("async", "sync")),
    XnpuKeyword("width", (int,), "elements per vector (default a full 128-byte vector)",
                positive=True),
    XnpuKeyword("schedule", (str,), "which programs each context runs", ("block", "cyclic")),
    XnpuKeyword("budget", (int,), "scratchpad bytes the tiles may take", positive=True),
    XnpuKeyword("decide", (str,), "whether MT follows its profitability model",
                ("model", "always", "never")),
)  # fmt: skip
"""xnpu's launch keywords. The passes' own options (their dataclass fields) are the
same names and types, and which mechanism reads each is pipelines.OPTION_MECHANISM:
test_triton_driver.py checks that they agree."""

XNPU_BY_NAME = {keyword.name: keyword for keyword in XNPU_KEYWORDS}


@dataclass(frozen=True)
class ReferenceOption:
    name: str
    default: object
    """hexagon-mlir's default."""
    mechanism: str | None = None
    """The mechanism a true value switches on."""
    option: str | None = None
    """The xnpu pass option its value sets."""
    always: str | None = None
    """Why xnpu cannot switch it off (it always does this)."""
    read: bool = True
    """False for a name Triton's compile metadata also has (the kernel's `name`, its
    `shared` memory, `cluster_dims`), which Triton and Inductor read from a compiled
    kernel: accepted, unread, and holding hexagon-mlir's default until given."""

    @property
    def kind(self) -> type:
        return type(self.default)


_NO_EFFECT = [
    ("allow_fp8e4nv", False), ("arch_triple", "hexagon"), ("arch_features", ""),
    ("device_type", "hexagon"), ("vectorize", 1), ("vector_length", 32), ("data_layout", ""),
    ("htp_kernel_gen", False), ("target_artifact", "o"), ("iterations", 10),
    ("fusion", True), ("fusionAllowRecompute", False), ("fusionDoMultiUse", True),
    ("enableBufferization", True), ("enableCollapseAddressSpace", True),
    ("enableConvTiling", False), ("convTileSizes", ""), ("enableHexKL", False),
    ("hexKLMode", "micro"), ("enableSplitReduction", False),
    ("enableSplitReduceGeneric", False), ("enableHVXInlining", False),
    ("enableSCFLoopUnroll", False), ("enableConversionToFp16", False),
    ("enableWeightResident", True), ("enableVectorRowReduce", False),
    ("enableHmxPipelineDepth", 0), ("enableWorkspaceResident", False),
    ("enableSeedLayoutConversions", False), ("extendPackUpperFrontier", True),
    ("extendPackLowerFrontier", True), ("forceHVXCroutonization", False), ("tileSizes", ""),
    ("lowerConstantsInSeparateSharedObjects", False), ("enableLWP", False),
    ("disableLWPLoop", False), ("LWPloopDepth", 1), ("deviceCleanup", True),
]  # fmt: skip
"""HexagonOptions fields xnpu has no counterpart for (its target, its LLVM code
generation, fusion, convolution and HMX paths, profiling and device plumbing).
Triton 3.9 itself refuses `device_type` as a launch keyword ("deprecated"); a session
may still name it."""

REFERENCE_OPTIONS: tuple[ReferenceOption, ...] = (
    ReferenceOption("enableVectorization", True, mechanism="vec"),
    ReferenceOption("enableMultiThreading", False, mechanism="mt"),
    ReferenceOption("enableSCFThreading", False, mechanism="mt"),
    ReferenceOption("enableThreadedDispatch", False, mechanism="mt"),
    ReferenceOption("enableDoubleBuffering", False, mechanism="db"),
    ReferenceOption("enableHexagonmemCopyToDMA", False, mechanism="db"),
    ReferenceOption("num_threads", 4, option="contexts"),
    ReferenceOption("scratch", 0, option="budget"),
    ReferenceOption("enableVTCMTiling", True,
                    always="xnpu always tiles kernels to the scratchpad (npu-tile)"),
    ReferenceOption("enableConvertToHexagonmem", True,
                    always="xnpu's scratchpad copies are always spm ops"),
    *(ReferenceOption(name, default) for name, default in _NO_EFFECT),
    ReferenceOption("name", "Hexagon", read=False),
    ReferenceOption("shared", False, read=False),
    ReferenceOption("cluster_dims", (1, 1, 1), read=False),
)  # fmt: skip
"""Every field of hexagon-mlir's HexagonOptions that Triton's own options (in
XnpuOptions already) do not cover."""

BY_NAME = {option.name: option for option in REFERENCE_OPTIONS}
