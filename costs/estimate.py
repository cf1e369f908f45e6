"""A block's cycles before it runs: the profitability models' price of IR (builds no
IR). Ops cost their price (ops.py), products their matrix-unit cycles (matrix.py),
core copies their bytes at the cores' path (transfers.py), a loop its trips times its
body and one trip's overhead, and an op with regions its dearest region. How many
trips a loop runs is the caller's to say (`LoopTrips`): it depends on what the passes
know about the program loop."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import scf
from xdsl.ir import Block

from xnpu.costs.matrix import product_cycles
from xnpu.costs.ops import UnpricedOp, op_price
from xnpu.costs.transfers import core_copy_estimate, loop_trip_cycles
from xnpu.dialects import spm
from xnpu.machines import Machine

LoopTrips = Callable[[scf.ForOp, int], tuple[float, int]]
"""(loop, share) -> (trips one context runs, the share its body's loops run): `share`
is how many contexts or programs split the tiles a loop indexes."""


def block_cycles(block: Block, machine: Machine, trips: LoopTrips, share: int = 1) -> float:
    """Cycles one context spends running `block` once (see the module docstring). An op
    the machine cannot price is skipped: the interpreter prices it, and names it."""
    total = 0.0
    for op in block.ops:
        if isinstance(op, scf.ForOp):
            count, inner = trips(op, share)
            per_trip = block_cycles(op.body.block, machine, trips, inner)
            total += count * (per_trip + loop_trip_cycles(machine))
        elif isinstance(op, spm.CopyOp):
            extent = op.scratchpad_side.type.element_count() / share
            element = op.scratchpad_side.type.element_type
            total += core_copy_estimate(extent * element.bitwidth / 8, machine)
        elif isinstance(op, spm.MatmulOp):
            total += product_cycles(op, machine)[0]
        elif op.regions:
            total += max((block_cycles(b, machine, trips, share) for r in op.regions
                          for b in r.blocks), default=0.0)  # fmt: skip
        else:
            try:
                total += op_price(op, machine)[0]
            except UnpricedOp:
                pass
    return total
