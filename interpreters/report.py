"""What a run reports: total cycles and microseconds, and where the time went."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from xnpu.interpreters.timing import ContextTime, Timeline


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

    @property
    def microseconds(self) -> float:
        return self.cycles / self.clock_mhz

    @property
    def compute_cycles(self) -> float:
        return sum(c.compute for c in self.contexts)

    @property
    def copy_cycles(self) -> float:
        return sum(c.copy for c in self.contexts)

    @property
    def dma_wait_cycles(self) -> float:
        return sum(c.dma_wait for c in self.contexts)

    @property
    def ddr_bytes(self) -> int:
        """Bytes moved between DDR and the core or scratchpad, all ways."""
        return sum(
            c.ddr_bytes_read + c.ddr_bytes_written + c.ddr_bytes_direct for c in self.contexts
        )

    def to_dict(self) -> dict:
        return {
            "kernel": self.kernel,
            "machine": self.machine,
            "grid": list(self.grid),
            "cycles": self.cycles,
            "microseconds": self.microseconds,
            "compute_cycles": self.compute_cycles,
            "copy_cycles": self.copy_cycles,
            "dma_wait_cycles": self.dma_wait_cycles,
            "dma_busy_cycles": self.dma_busy,
            "ddr_bytes": self.ddr_bytes,
            "contexts": [asdict(c) for c in self.contexts],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        def share(part: float) -> str:
            return f"{100 * part / self.cycles:5.1f}%" if self.cycles else "    -"

        lines = [
            f"kernel {self.kernel} on {self.machine} ({self.clock_mhz:g} MHz), "
            f"grid {'x'.join(map(str, self.grid))}",
            f"  total        {self.cycles:>14,.0f} cycles  {self.microseconds:>12,.2f} us",
        ]
        header = f"  {'context':>7} {'busy':>14} {'compute':>14} {'copy':>14} {'dma wait':>14} {'DDR bytes':>12}"
        lines.append(header)
        for c in self.contexts:
            moved = c.ddr_bytes_read + c.ddr_bytes_written + c.ddr_bytes_direct
            lines.append(
                f"  {c.context:>7} {c.end:>14,.0f} {c.compute:>14,.0f} {c.copy:>14,.0f} "
                f"{c.dma_wait:>14,.0f} {moved:>12,}"
            )
        lines.append(
            f"  compute {share(self.compute_cycles)}, core copies {share(self.copy_cycles)}, "
            f"waiting on DMA {share(self.dma_wait_cycles)}; DMA engine busy "
            f"{self.dma_busy:,.0f} cycles; {self.ddr_bytes:,} DDR bytes moved"
        )
        return "\n".join(lines)
