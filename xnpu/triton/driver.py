"""
The driver half of xnpu's Triton backend: it runs launches on the simulated NPU.

Never active by itself (`is_active` is False): Triton picks it only when asked,
`triton.runtime.driver.set_active(xnpu.triton.Driver())`, so installing xnpu changes
nothing for a machine with a GPU or another CPU backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from triton.backends.compiler import GPUTarget
from triton.backends.driver import DriverBase

from xnpu.triton.compiler import TARGET_NAME


@dataclass
class XnpuBinary:
    """A compiled kernel as the launcher sees it: its TTIR, and what launches have
    made of it (the parsed module, and one lowering per level and options)."""

    name: str
    ttir: str
    lowered: dict = field(default_factory=dict)
    module: object = None


_LOADED: dict[tuple[str, bytes | str], XnpuBinary] = {}
"""Each compiled kernel's binary, by name and TTIR: Triton loads a kernel on every launch
(its module stays None, so that no driver is asked to unload it), this keeps one."""


class XnpuUtils:
    """What Triton's CompiledKernel asks of a driver's utils."""

    @staticmethod
    def load_binary(name, kernel: bytes | str, shared, device):
        key = (name, kernel)
        if key not in _LOADED:
            _LOADED[key] = XnpuBinary(
                name, kernel.decode() if isinstance(kernel, bytes) else kernel
            )
        # (module, function, registers, spills, threads)
        return None, _LOADED[key], 0, 0, 1 << 30

    @staticmethod
    def get_device_properties(device) -> dict:
        return {"max_shared_mem": 1 << 30, "multiprocessor_count": 1}

    @staticmethod
    def unload_module(module) -> None:
        pass


class XnpuDriver(DriverBase):
    """Triton's driver for xnpu's simulated NPU."""

    target_name = TARGET_NAME

    def __init__(self) -> None:
        self.utils = XnpuUtils()

    @classmethod
    def is_active(cls) -> bool:
        return False

    def get_current_target(self) -> GPUTarget:
        return GPUTarget(self.target_name, 0, 1)

    def get_active_torch_device(self):
        import torch

        return torch.device("cpu")

    def get_current_device(self) -> int:
        return 0

    def set_current_device(self, device) -> None:
        pass

    def get_current_stream(self, device=None) -> int:
        return 0

    def get_device_capability(self, device=None) -> tuple[int, int]:
        return (0, 0)

    def map_python_to_cpp_type(self, ty: str) -> str:
        return ty

    @property
    def launcher_cls(self):
        from xnpu.triton.launch import Launcher

        return Launcher

    def get_benchmarker(self):
        from xnpu.triton.launch import simulated_benchmark

        return simulated_benchmark
