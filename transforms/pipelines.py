"""
The ladder's levels as pass pipelines, and `lower`, which applies one to a copy of a
`tt` module (the input is left untouched, so one module can be lowered at every level).

    lowered = lower(module, "scalar")     # = xdsl-opt -p npu-lower-triton
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from xnpu.context import xnpu_context
from xnpu.interpreters.machine import Machine, load_machine
from xnpu.transforms.npu_lower_triton import NpuLowerTritonPass

LEVELS = ("scalar",)
"""The rungs of the ablation ladder, bottom first."""


def passes_for(level: str, machine: Machine) -> list[ModulePass]:
    if level not in LEVELS:
        raise ValueError(f"unknown level '{level}'; the levels are {', '.join(LEVELS)}")
    return [NpuLowerTritonPass(machine=machine.source)]


def lower(module: ModuleOp, level: str = "scalar", machine: str | Machine = "edge-npu") -> ModuleOp:
    """A new module: `module` (tt) lowered to the NPU program of `level`."""
    machine_model = load_machine(machine)
    lowered = module.clone()
    context = xnpu_context()
    for module_pass in passes_for(level, machine_model):
        module_pass.apply(context, lowered)
    lowered.verify()
    return lowered
