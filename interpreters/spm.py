"""`spm` on numpy: scratchpad buffers, core-driven copies and DMA, each checked
(capacity, bounds) and recorded in the running context's trace."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import IntegerType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import SSAValue

from xnpu.costs.matrix import product_cycles
from xnpu.costs.ops import element_bytes
from xnpu.dialects import spm
from xnpu.dialects.location import at_location
from xnpu.interpreters.memref import check_bounds
from xnpu.interpreters.simulator.races import check_race
from xnpu.interpreters.simulator.trace import (
    Copy,
    DmaStart,
    DmaWait,
    ExecutionState,
    InterpreterError,
    MatrixProduct,
)
from xnpu.interpreters.simulator.values import describe, numpy_dtype, out_of_bounds_blame


def _box_indices(offset: int, count: int, rows: int, stride: int) -> np.ndarray | slice:
    if rows == 1:
        return slice(offset, offset + count)
    return (offset + np.arange(rows)[:, None] * stride + np.arange(count)).reshape(-1)


@dataclass(frozen=True)
class TransferFacts:
    """What an spm.copy or spm.dma_start moves, read off its IR once."""

    op: spm.TransferOp
    src: SSAValue
    dst: SSAValue
    to_scratchpad: bool
    element_bytes: int

    @staticmethod
    def of(op: spm.TransferOp) -> TransferFacts:
        return TransferFacts(
            op, op.src, op.dst, op.to_scratchpad, element_bytes(op.src.type.element_type)
        )

    @property
    def scratchpad_side(self) -> SSAValue:
        return self.dst if self.to_scratchpad else self.src


def scratchpad_span(transfer: TransferFacts, args) -> tuple[np.ndarray, int, int]:
    """The scratchpad buffer a transfer touches and the first and last element."""
    src, src_offset, dst, dst_offset, count, *box = args
    rows, src_stride, dst_stride = box if box else (1, count, count)
    if transfer.to_scratchpad:
        return dst, dst_offset, dst_offset + (rows - 1) * dst_stride + count - 1
    return src, src_offset, src_offset + (rows - 1) * src_stride + count - 1


def move(transfer: TransferFacts, args, state: ExecutionState) -> tuple[int, int]:
    """Moves the box an spm.copy or spm.dma_start names, after checking it against
    other programs' and contexts' accesses (ExecutionState.note_access); returns
    (count, rows), the box's shape (0, 0 when it is empty)."""
    op = transfer.op
    src, src_offset, dst, dst_offset, count, *box = args
    rows, src_stride, dst_stride = box if box else (1, count, count)
    if count < 0 or rows < 0:
        raise InterpreterError(f"{op.name}{at_location(op)}: negative count {count} or rows {rows}")
    if count == 0 or rows == 0:
        return 0, 0
    for buffer, offset, stride, value in (
        (src, src_offset, src_stride, transfer.src),
        (dst, dst_offset, dst_stride, transfer.dst),
    ):
        last = offset + (rows - 1) * stride + count - 1
        if offset < 0 or last >= buffer.shape[0] or stride < 0:
            raise InterpreterError(
                f"out-of-bounds {op.name}{at_location(op)}: elements {offset} to {last} "
                f"({rows} x {count}, stride {stride}) of {describe(value)} ({value.type}), "
                f"whose valid indices are 0 to {buffer.shape[0] - 1}{out_of_bounds_blame(value)}"
            )
    src_elements = _box_indices(src_offset, count, rows, src_stride)
    dst_elements = _box_indices(dst_offset, count, rows, dst_stride)
    to_scratchpad = transfer.to_scratchpad
    if state.watches(src, ddr=to_scratchpad, writes=False):
        state.note_access(op, src, transfer.src, src_elements, writes=False, ddr=to_scratchpad)
    if state.watches(dst, ddr=not to_scratchpad, writes=True):
        state.note_access(op, dst, transfer.dst, dst_elements, writes=True, ddr=not to_scratchpad)
    dst[dst_elements] = src[src_elements]
    return count, rows


COMPLETED = -1
"""The token of no transfer (spm.completed, or a DMA of nothing)."""


@register_impls
class XnpuSpmFunctions(InterpreterFunctions):
    def __init__(self, state: ExecutionState):
        self.state = state
        self.transfers: dict[spm.TransferOp, TransferFacts] = {}

    @impl(spm.AllocOp)
    def run_alloc(self, interpreter: Interpreter, op: spm.AllocOp, args):
        type = op.buffer.type
        buffer = np.zeros(type.get_shape(), dtype=numpy_dtype(type))
        self.state.allocate(op, buffer)
        return (buffer,)

    def facts(self, op: spm.TransferOp) -> TransferFacts:
        found = self.transfers.get(op)
        if found is None:
            found = self.transfers[op] = TransferFacts.of(op)
        return found

    @impl(spm.CopyOp)
    def run_copy(self, interpreter: Interpreter, op: spm.CopyOp, args):
        transfer = self.facts(op)
        count, rows = move(transfer, args, self.state)
        if count and self.state.in_flight:
            buffer, low, high = scratchpad_span(transfer, args)
            self.state.check_access(
                op, buffer, transfer.scratchpad_side, low, high, transfer.to_scratchpad
            )
        width = op.elements_per_access
        accesses = rows * -(-count // width)  # load/store pairs, a row at a time
        nbytes = count * rows * transfer.element_bytes
        self.state.record(Copy(op, nbytes, accesses, transfer.to_scratchpad, vector=width > 1))
        return ()

    @impl(spm.DmaStartOp)
    def run_dma_start(self, interpreter: Interpreter, op: spm.DmaStartOp, args):
        transfer = self.facts(op)
        count, rows = move(transfer, args, self.state)
        if not count:
            return (COMPLETED,)
        buffer, low, high = scratchpad_span(transfer, args)
        token = self.state.start_transfer(
            op, buffer, transfer.scratchpad_side, low, high, transfer.to_scratchpad
        )
        nbytes = count * rows * transfer.element_bytes
        limit = self.state.machine.dma.max_descriptor_bytes
        descriptors = max(1, -(-nbytes // limit))
        self.state.record(DmaStart(op, token, nbytes, descriptors, transfer.to_scratchpad))
        return (token,)

    @impl(spm.DmaWaitOp)
    def run_dma_wait(self, interpreter: Interpreter, op: spm.DmaWaitOp, args):
        tokens = tuple(t for t in args if t != COMPLETED)
        for token in tokens:
            self.state.finish_transfer(token)
        if tokens:
            self.state.record(DmaWait(op, tokens))
        return ()

    @impl(spm.GatherOp)
    def run_gather(self, interpreter: Interpreter, op: spm.GatherOp, args):
        buffer, at = args
        at = np.asarray(at, dtype=np.int64)
        check_bounds(op, buffer, op.buffer, (at,))
        check_race(self.state, op, buffer, op.buffer, (at,), writes=False)
        return (buffer[at],)

    @impl(spm.MatmulOp)
    def run_matmul(self, interpreter: Interpreter, op: spm.MatmulOp, args):
        """The product on the operands' elements (their strides and extents give every
        element read; the verifier keeps them in bounds), each checked against
        unfinished DMA and other contexts, then booked on a matrix unit."""
        machine = self.state.machine
        if machine.matrix is None:
            raise InterpreterError(
                f"spm.matmul{at_location(op)}: machine '{machine.name}' has no matrix unit; "
                "lower the kernel for this machine (npu-matrix then leaves its products to "
                "the vector unit)"
            )
        wide = np.int64 if isinstance(op.c.type.element_type, IntegerType) else np.float32
        operands = []
        for buffer, value, strides, extents, writes in zip(
            args, op.operands, op.strides_of(), op.extents(), (False, False, True)
        ):
            elements = sum(np.ix_(*(np.arange(e) * s for e, s in zip(extents, strides))))
            check_race(self.state, op, buffer, value, (elements.reshape(-1),), writes)
            operands.append((buffer, elements))
        (a, at_a), (b, at_b), (c, at_c) = operands
        product = np.matmul(a[at_a].astype(wide), b[at_b].astype(wide))
        if op.accumulate is not None:
            product += c[at_c].astype(wide)
        c[at_c] = product.astype(c.dtype)
        self.state.record(MatrixProduct(op, *product_cycles(op, machine)))
        return ()

    @impl(spm.CompletedOp)
    def run_completed(self, interpreter: Interpreter, op: spm.CompletedOp, args):
        return (COMPLETED,)
