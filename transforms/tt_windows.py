"""
Windows: a load whose addresses are computed from the lanes by integer arithmetic
that is affine only piece by piece (a per-channel `w[(x // 256) % 32]`, a broadcast
`y[x % 512]`) reads a range of DDR whose ends its program can compute: the window. The
load moves that range into the scratchpad with one copy and gathers from there,
instead of gathering element by element from DDR. Pure analysis: `window_of` says how
the range's ends are computed; npu-lower-triton computes them and emits the copy.

    w[(x // 256) % 32], x = pid * 1024 + lanes   ->   Remainder(Quotient(Lanes(x), 256), 32)
        a program's lanes span 4 channels: lo = (pid * 1024 // 256) % 32, hi = lo + 3,
        or 0 and 31 where the channels wrap

The ends are ones a lane reads (the index is `dense`: every integer between them is
some lane's, or the ends are), so the copy reads DDR only where the kernel does, and
an index out of the buffer is still an out-of-bounds error.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith

from xnpu.transforms.tt_values import Affine, AffineLeaf, ComputeNode, Node

MAX_WINDOW = 16384
"""Elements a window may hold: a larger range is gathered element by element."""


@dataclass(frozen=True)
class Window:
    """How an index tree's smallest and largest value over a program's lanes are
    computed (`kind` and `parts`), a bound on how many values lie between (`size`),
    whether every integer between is some lane's (`dense`), and that none is negative."""

    kind: str
    """"lanes" (an affine value), "remainder", "quotient", "shift", or "scale"."""
    parts: tuple
    size: int
    dense: bool
    nonnegative: bool = True


def window_of(node: Node) -> Window | None:
    """The window of an integer index tree over its lanes, or None when its ends are
    not known from the lanes alone (a loaded index, a negative step, an unknown op)."""
    if isinstance(node, AffineLeaf):
        return _lanes(node.affine)
    if not isinstance(node, ComputeNode):
        return None
    kind = node.op_type
    if kind is arith.ExtSIOp:  # a widened offset keeps its values
        return window_of(node.operands[0])
    if node.expansion is not None:
        return None
    if kind in (arith.AddiOp, arith.SubiOp):
        return _shifted(node, subtract=kind is arith.SubiOp)
    constant = _positive_constant(node.operands[1]) if len(node.operands) == 2 else None
    inner = window_of(node.operands[0])
    if inner is None or constant is None:
        return None
    if (
        kind in (arith.RemSIOp, arith.RemUIOp, arith.DivSIOp, arith.DivUIOp)
        and not inner.nonnegative
    ):
        return None  # a signed remainder or quotient of a negative value rounds the other way
    if kind in (arith.RemSIOp, arith.RemUIOp):
        if not inner.dense:
            return None
        # where the values wrap past a multiple, the range is every remainder
        return Window("remainder", (inner, constant), constant, True)
    if kind in (arith.DivSIOp, arith.DivUIOp, arith.FloorDivSIOp):
        size = (inner.size - 1) // constant + 2
        return Window("quotient", (inner, constant), size, inner.dense, inner.nonnegative)
    if kind is arith.MuliOp:
        size = (inner.size - 1) * constant + 1
        return Window(
            "scale", (inner, constant), size, inner.dense and constant == 1, inner.nonnegative
        )
    return None


def _lanes(affine: Affine) -> Window | None:
    """An affine value with constant, non-negative steps from a non-negative start."""
    if affine.start.may_be_negative:
        return None
    varying = [d for d in range(len(affine.shape)) if affine.varies(d)]
    steps = [affine.lanes[d].constant for d in varying]
    if any(step is None or step < 0 for step in steps):
        return None
    size = 1 + sum(step * (affine.shape[d] - 1) for d, step in zip(varying, steps))
    dense, stride = True, 1  # row-major over the varying dims, innermost step 1
    for d, step in reversed(list(zip(varying, steps))):
        dense = dense and step == stride
        stride *= affine.shape[d]
    return Window("lanes", (affine,), size, dense)


def _shifted(node: ComputeNode, subtract: bool) -> Window | None:
    """A window plus (or minus) a lane-invariant value."""
    a, b = node.operands
    if subtract and not b.invariant:
        return None
    varying, shift = (a, b) if b.invariant else (b, a)
    if not shift.invariant:
        return None
    inner = window_of(varying)
    if inner is None:
        return None
    nonnegative = inner.nonnegative and not subtract and _nonnegative(shift)
    return Window("shift", (inner, shift, subtract), inner.size, inner.dense, nonnegative)


def _nonnegative(node: Node) -> bool:
    return isinstance(node, AffineLeaf) and not node.affine.start.may_be_negative


def _positive_constant(node: Node) -> int | None:
    if isinstance(node, AffineLeaf) and node.affine.uniform:
        value = node.affine.start.constant
        if value is not None and value > 0:
            return value
    return None
