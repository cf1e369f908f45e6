"""What a matrix product costs on the matrix unit (machine.matrix): the formula the
timing engine books the unit for and the roofline's compute bound reads."""

from __future__ import annotations

from math import ceil

from xnpu.costs.ops import element_bytes
from xnpu.dialects.spm import MatrixProductOp
from xnpu.machines import Machine, Matrix


def tile_products(dims: tuple[int, int, int, int], element_bytes: int, matrix: Matrix) -> int:
    """How many tile products a (B, M, N, K) product of inputs of `element_bytes` takes:
    every result tile of tile_rows x tile_rows, over k in steps of the unit's depth."""
    batch, m, n, k = dims
    rows = matrix.tile_rows
    return batch * ceil(m / rows) * ceil(n / rows) * ceil(k / matrix.depth(element_bytes))


def result_tiles(dims: tuple[int, int, int, int], matrix: Matrix) -> int:
    batch, m, n, _ = dims
    return batch * ceil(m / matrix.tile_rows) * ceil(n / matrix.tile_rows)


def matmul_cycles(dims: tuple[int, int, int, int], element_bytes: int, matrix: Matrix) -> float:
    """One product on one unit: its setup, its tile products at the steady rate, and
    each result tile's accumulator moved to the scratchpad. Ragged edges cost whole
    tiles (the unit pads them)."""
    return (
        matrix.setup_cycles
        + tile_products(dims, element_bytes, matrix) * matrix.tile_cycles
        + result_tiles(dims, matrix) * matrix.accumulator_cycles
    )


def peak_cycles(macs: float, element_bytes: int, matrix: Matrix) -> float:
    """The fewest cycles `macs` multiply-accumulates can take on every unit at its peak."""
    return macs / matrix.peak_macs_per_cycle(element_bytes)


def product_cycles(op: MatrixProductOp, machine: Machine) -> tuple[float, float]:
    """An spm.matmul's cycles on one of the machine's matrix units, and what its
    multiply-accumulates alone take at every unit's peak."""
    if machine.matrix is None:
        raise ValueError(f"machine '{machine.name}' has no matrix unit for {op.name}")
    size = element_bytes(op.a.type.element_type)
    batch, m, n, k = op.shape
    return (
        matmul_cycles(op.shape, size, machine.matrix),
        peak_cycles(batch * m * n * k, size, machine.matrix),
    )
