"""
The figures the paper measured on a Qualcomm NPU (arXiv 2602.20204; design.md §6):
what `xnpu-bench paper` compares with and benchmarks/calibrate.py fits to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ELEMENTS = 1_048_576
"""Both published kernels ran on 1,048,576 fp32 elements."""


@dataclass(frozen=True)
class Figure:
    """A published time (µs) of `kernel` at `level`, or, with `over`, the speedup of
    `level` over the level `over`."""

    kernel: str
    level: str
    value: float
    over: str | None = None
    label: str = ""

    @property
    def name(self) -> str:
        what = self.label or self.level
        return (
            f"{self.kernel} {what} speedup over {self.over}"
            if self.over
            else f"{self.kernel} {what} µs"
        )

    @property
    def runs(self) -> list[tuple[str, str]]:
        """The (kernel, level) runs the figure is computed from."""
        return [(self.kernel, self.level)] + ([(self.kernel, self.over)] if self.over else [])

    def simulated(self, microseconds: Mapping[tuple[str, str], float]) -> float:
        time = microseconds[self.kernel, self.level]
        return microseconds[self.kernel, self.over] / time if self.over else time

    def relative_error(self, microseconds: Mapping[tuple[str, str], float]) -> float:
        return self.simulated(microseconds) / self.value - 1


FIGURES: tuple[Figure, ...] = (
    Figure("vector_add", "scalar", 132_479),
    Figure("vector_add", "vec", 3_210),
    Figure("vector_add", "vec+mt", 3_000),
    Figure("vector_add", "vec+mt+db", 2_689),
    Figure("vector_add", "vec", 41.3, over="scalar"),
    Figure("vector_add", "vec+mt", 1.07, over="vec"),
    Figure("vector_add", "vec+mt+db", 1.12, over="vec+mt"),
    Figure("gelu", "vec", 12_947, label="one thread (vec)"),
    Figure("gelu", "vec+mt", 3_313, label="multi-threaded (vec+mt)"),
    Figure("gelu", "vec+mt", 3.91, over="vec", label="multi-threaded (vec+mt)"),
)

TOLERANCE = 0.15
"""Every figure must be reproduced within ±15%."""


def runs_needed(figures=FIGURES) -> list[tuple[str, str]]:
    """Every (kernel, level) run the figures need, once each, in order."""
    return list(dict.fromkeys(run for figure in figures for run in figure.runs))
