"""
The ladder's levels as pass pipelines, and `lower`, which applies one to a copy of a
`tt` module (the input is left untouched, so one module can be lowered at every level).

    lowered = lower(module, "scalar")  # = xdsl-opt -p npu-lower-triton,npu-lower-tiles,npu-tile
    lowered = lower(module, "vec+mt+db", contexts=4, writeback="sync")
              # = xdsl-opt -p 'npu-lower-triton,npu-matrix,npu-lower-tiles,npu-tile{contexts=4},npu-vectorize,
              #                npu-multithread{contexts=4},npu-double-buffer{writeback=sync}'

A level is "scalar" or mechanisms joined by "+", from "vec", "mt" and "db" (any
subset, e.g. "vec+db"); the passes always run in the order vec, mt, db.
"""

from __future__ import annotations

import inspect

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from xnpu.dialects import tile, tt, xnpu_context
from xnpu.dialects.verified import verify_once
from xnpu.machines import Machine, load_machine
from xnpu.transforms.npu_double_buffer import NpuDoubleBufferPass
from xnpu.transforms.npu_lower_tiles import NpuLowerTilesPass
from xnpu.transforms.npu_lower_triton import NpuLowerTritonPass
from xnpu.transforms.npu_matrix import NpuMatrixPass
from xnpu.transforms.npu_multithread import NpuMultithreadPass
from xnpu.transforms.npu_tile import NpuTilePass
from xnpu.transforms.npu_vectorize import NpuVectorizePass

LEVELS = ("scalar", "vec", "vec+mt", "vec+mt+db")
"""The rungs of the ablation ladder, bottom first."""

MECHANISMS = ("vec", "mt", "db")


OPTION_MECHANISM = {"width": "vec", "schedule": "mt", "decide": "mt", "programs": "mt",
                    "writeback": "db"}  # fmt: skip
"""Options that only a mechanism's pass reads; the rest (contexts, buffers, budget)
also cut the tiles, at every level."""


def mechanisms_of(level: str) -> tuple[str, ...]:
    """The mechanisms a level names, in pipeline order ("scalar" names none)."""
    if not isinstance(level, str):
        raise ValueError(
            f"level must be a string such as {', '.join(map(repr, LEVELS))}, not {level!r}"
        )
    if level == "scalar":
        return ()
    named = level.split("+")
    unknown = [m for m in named if m not in MECHANISMS]
    if unknown or len(set(named)) != len(named) or not named:
        raise ValueError(
            f"unknown level '{level}': use 'scalar' or mechanisms joined by '+' from "
            f"{', '.join(MECHANISMS)} (the ladder: {', '.join(LEVELS)})"
        )
    return tuple(m for m in MECHANISMS if m in named)


def passes_for(
    level: str,
    machine: Machine,
    width: int | None = None,
    contexts: int | None = None,
    schedule: str = "block",
    buffers: int = 2,
    writeback: str = "async",
    budget: int | None = None,
    decide: str = "model",
    programs: int = 0,
) -> list[ModulePass]:
    """The level's passes. Tiles are the same at every level (cut for `contexts` x
    `buffers` copies), so each rung differs from the last by its mechanism only."""
    mechanisms = mechanisms_of(level)
    passes: list[ModulePass] = [
        NpuLowerTritonPass(),
        *([NpuMatrixPass(machine=machine)] if "vec" in mechanisms else []),
        NpuLowerTilesPass(),
        # cut for two buffers at least, so DB's variants differ by mechanism only
        NpuTilePass(budget=budget, contexts=contexts, buffers=max(2, buffers), machine=machine),
    ]
    if "vec" in mechanisms:
        passes.append(NpuVectorizePass(width=width, machine=machine))
    if "mt" in mechanisms:
        passes.append(NpuMultithreadPass(contexts=contexts, schedule=schedule, decide=decide,
                                         programs=programs, machine=machine))  # fmt: skip
    if "db" in mechanisms:
        passes.append(NpuDoubleBufferPass(buffers=buffers, writeback=writeback, machine=machine))
    return passes


def needs_lowering(module: ModuleOp) -> bool:
    """Whether `module` holds tt kernels, or is at the tile level (npu-lower-triton's
    output), rather than loops the interpreter runs."""
    return any(isinstance(op, (tt.FuncOp, *tile.LEVEL_OPS)) for op in module.walk())


def lower(
    module: ModuleOp, level: str = "scalar", machine: str | Machine = "edge-npu", **options
) -> ModuleOp:
    """A new module: `module` (tt, or at the tile level: its passes from npu-lower-tiles
    on) lowered to the NPU program of `level`; `options` are the passes' (width,
    contexts, schedule, buffers, writeback, budget, decide, and programs: the launch's
    program count, which only steers MT's decision)."""
    if not isinstance(module, ModuleOp):
        raise ValueError(f"lower takes a module (builtin.module), not {type(module).__name__}")
    mechanisms = mechanisms_of(level)
    accepted = inspect.signature(passes_for).parameters
    for option in options:
        if option not in accepted or option in ("level", "machine"):
            names = ", ".join(p for p in accepted if p not in ("level", "machine"))
            raise ValueError(f"unknown option '{option}' for lower: the options are {names}")
        needs = OPTION_MECHANISM.get(option)
        if needs is not None and needs not in mechanisms:
            raise ValueError(
                f"option {option}={options[option]!r} is for {needs}, which level '{level}' "
                f"does not include"
            )
    machine_model = load_machine(machine)
    lowered = module.clone()
    context = xnpu_context()
    passes = passes_for(level, machine_model, **options)
    if not any(isinstance(op, tt.FuncOp) for op in lowered.body.block.ops):
        passes = passes[1:]  # at the tile level already
    for module_pass in passes:
        module_pass.apply(context, lowered)
    verify_once(lowered)
    return lowered
