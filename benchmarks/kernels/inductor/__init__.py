"""Triton kernels Inductor generated, stored by `python -m xnpu.kernels.capture`."""

ROWS, COLS = 128, 512
"""The shape the fixed-shape kernels (add_broadcast and the row reductions) were
captured for: 65,536 elements, a size where DMA should pay (they run at it only)."""
