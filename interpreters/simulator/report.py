"""What a run reports: total cycles and microseconds, and where the time went."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from xnpu.interpreters.simulator.timing import ContextTime, Timeline, write_chrome_trace


def whole(cycles: float) -> int:
    """Cycles as the whole number the machine counts (the model's sums are floats)."""
    return int(round(cycles))


@dataclass
class Report:
    """The timing of one kernel run on a machine model (all times in cycles, but
    `microseconds`, at the model's clock)."""

    kernel: str
    machine: str
    clock_mhz: float
    grid: tuple[int, ...]
    cycles: float
    contexts: list[ContextTime]
    dma_busy: float
    timeline: Timeline
    remarks: list[str] = field(default_factory=list)
    """What the passes decided or left alone, and why (npu.remarks in the IR)."""
    scratchpad_bytes: int = 0
    """The most scratchpad the run held at once, in whole allocation granules."""

    @property
    def microseconds(self) -> float:
        return self.cycles / self.clock_mhz

    @property
    def compute_cycles(self) -> float:
        return sum(c.compute for c in self.contexts)

    @property
    def matrix_cycles(self) -> float:
        """Cycles the contexts' products held the matrix units."""
        return self.timeline.matrix_busy

    @property
    def matrix_peak_cycles(self) -> float:
        """What the products' multiply-accumulates take at the matrix units' peak."""
        return self.timeline.matrix_peak

    @property
    def copy_cycles(self) -> float:
        return sum(c.copy for c in self.contexts)

    @property
    def dma_wait_cycles(self) -> float:
        return sum(c.dma_wait for c in self.contexts)

    @property
    def overlap_cycles(self) -> float:
        """Cycles during which DMA and compute ran at once."""
        return self.timeline.overlap

    @property
    def ddr_bytes(self) -> int:
        """Bytes moved between DDR and the core or scratchpad, all ways."""
        return sum(
            c.ddr_bytes_read + c.ddr_bytes_written + c.ddr_bytes_direct for c in self.contexts
        )

    def to_dict(self) -> dict:
        """The report as JSON values: cycles rounded to whole cycles, µs to ns."""
        return {
            "kernel": self.kernel,
            "machine": self.machine,
            "clock_mhz": self.clock_mhz,
            "grid": list(self.grid),
            "cycles": whole(self.cycles),
            "microseconds": round(self.microseconds, 3),
            "compute_cycles": whole(self.compute_cycles),
            "copy_cycles": whole(self.copy_cycles),
            "dma_wait_cycles": whole(self.dma_wait_cycles),
            "dma_busy_cycles": whole(self.dma_busy),
            "matrix_cycles": whole(self.matrix_cycles),
            "dma_bytes": self.timeline.dma_bytes,
            "overlap_cycles": whole(self.overlap_cycles),
            "ddr_bytes": self.ddr_bytes,
            "scratchpad_bytes": self.scratchpad_bytes,
            "contexts": [
                {k: whole(v) if isinstance(v, float) else v for k, v in asdict(c).items()}
                | {"busy": whole(c.busy), "idle": whole(c.idle)}
                for c in self.contexts
            ],
            "remarks": self.remarks,
        }

    def save_trace(self, path) -> None:
        """Writes the timeline in Chrome trace format (opens in Perfetto, ui.perfetto.dev):
        one track per context and one per DMA engine, times in microseconds."""
        write_chrome_trace(self.timeline, self.clock_mhz, f"{self.kernel} on {self.machine}", path)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        return self.describe()

    def describe(self, remarks: bool = True) -> str:
        """The report as a table; with `remarks`, the passes' remarks after it."""

        def share(part: float) -> str:
            return f"{100 * part / self.cycles:5.1f}%" if self.cycles else "    -"

        lines = [
            f"kernel {self.kernel} on {self.machine} ({self.clock_mhz:g} MHz), "
            f"grid {'x'.join(map(str, self.grid))}",
            f"  total        {self.cycles:>14,.0f} cycles  {self.microseconds:>12,.2f} µs",
        ]
        header = (
            f"  {'context':>10} {'span':>13} {'busy':>13} {'compute':>13} {'copy':>12} "
            f"{'dma wait':>12} {'idle':>12} {'DDR bytes':>12}"
        )
        lines.append(header)
        for c in self.contexts:
            moved = c.ddr_bytes_read + c.ddr_bytes_written + c.ddr_bytes_direct
            lines.append(
                f"  {c.label:>10} {c.end - c.start:>13,.0f} {c.busy:>13,.0f} {c.compute:>13,.0f} "
                f"{c.copy:>12,.0f} {c.dma_wait:>12,.0f} {c.idle:>12,.0f} {moved:>12,}"
            )
        lines.append(
            f"  DMA busy {self.dma_busy:,.0f} cycles ({share(self.dma_busy)}), "
            f"{self.timeline.dma_bytes:,} bytes; overlapped with compute "
            f"{self.overlap_cycles:,.0f} cycles; {self.ddr_bytes:,} DDR bytes moved in all"
        )
        if self.matrix_cycles:
            waited = sum(c.matrix_wait for c in self.contexts)
            lines.append(
                f"  matrix unit busy {self.matrix_cycles:,.0f} cycles "
                f"({share(self.matrix_cycles)}); contexts waited {waited:,.0f} cycles for it"
            )
        if remarks:
            lines += [f"  remark: {remark}" for remark in self.remarks]
        return "\n".join(lines)
