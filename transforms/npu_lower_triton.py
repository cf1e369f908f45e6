"""
npu-lower-triton: a `tt` kernel becomes the NPU program at the tile level (design.md §3;
npu-lower-tiles then makes its maps loops).

    tt.func @k(%x: !tt.ptr<f32>, %n: i32)          func.func @k(%x: memref<?xf32>, %n: i32,
      %pid = tt.get_program_id x                                 %grid_x: index) {
      ...                                             %in = spm.alloc : memref<1024xf32, #spm.scratch>
      %v = tt.load %p, %mask                 ==>      scf.for %pid = %c0 to %grid_x step %c1 {
      %y = math.erf %v                                  %len = <valid lanes of the mask>
      tt.store %q, %y, %mask                            spm.copy %x[%off] to %in[%c0] count %len
                                                        tile.map (%i) in (%c0 to %len) {
                                                          %e = memref.load %in[%i]
                                                          %r = math.erf %e
                                                          memref.store %r, %out[%i]
                                                          tile.yield }
                                                        spm.copy %out[%c0] to %y[%off] count %len }

What each tt value becomes is decided by the analysis (tt_analysis.py), which builds
no IR and refuses what cannot be lowered. Then one pattern per tt op family lowers
each op where it stands, in program order (a walker), asking the analysis for its
plan; they share the kernel's emitter (tt_emitter.py), which knows what the values
before it became:

* the tt.func becomes the func.func and its loop over every program
  (`LowerKernelSignature`);
* a load read from a tile becomes an `spm.copy` of just the valid elements of its box
  (`LowerLoad`); a scalar is computed once per iteration (`LowerScalar`);
* a store becomes a `tile.map` over its box into a tile and a copy back, or a scatter
  (`LowerStore`): element-wise trees are evaluated lane by lane inside the map, a value
  used by several sinks once, into its own tile;
* `tt.reduce`, `tt.scan` and `tt.assert` become loops with accumulators along their
  axis (`LowerCombining`);
* a loop the kernel runs becomes an index loop, the tensors it carries kept in carry
  tiles (`LowerKernelLoop`); an scf.if's scalars are computed ahead (`HoistIfScalars`).

The kernel's own ops, dead once every sink is lowered, go last.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.exceptions import PassFailedException

from xnpu.dialects import tt
from xnpu.transforms import check_option_types
from xnpu.transforms.tt_analysis import KernelAnalysis
from xnpu.transforms.tt_emitter import KernelEmitter
from xnpu.transforms.tt_values import LoadLeaf, LoweringError, ScalarLoad, ScalarOp

__all__ = ["LoweringError", "NpuLowerTritonPass"]


def driven_ops(block: Block) -> Iterator[Operation]:
    """The tt ops of a kernel body the patterns lower, in program order: each op, the
    body of each loop the kernel runs, and the ops of an scf.if's regions (whose
    scalars are computed ahead, its tensors selected lane by lane); not a combiner's."""
    for op in block.ops:
        yield op
        if isinstance(op, scf.ForOp):
            yield from driven_ops(op.body.block)
        elif isinstance(op, scf.IfOp):
            for region in op.regions:
                yield from list(driven_ops(region.block))[:-1]


@dataclass
class TtOpPattern(RewritePattern):
    """A pattern on the ops of the kernels being lowered, each kernel's emitter (the
    state its ops share) found by the op."""

    emitters: dict[Operation, KernelEmitter]


class LowerKernelSignature(TtOpPattern):
    """A tt.func becomes its func.func: pointers become DDR memrefs, one index per grid
    axis is added, and the kernel's ops move into the loop over every program."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, kernel: tt.FuncOp, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(kernel)
        if emitter is None:
            return
        function = emitter.begin()
        program_end = emitter.program_body.last_op
        for op in list(kernel.body.block.ops)[:-1]:  # all but tt.return
            op.detach()
            emitter.program_body.insert_op_before(op, program_end)
        rewriter.replace(kernel, function)


class LowerScalar(TtOpPattern):
    """A scalar the kernel computes (a program id, arithmetic, a libdevice call, one
    element loaded from DDR): once per iteration, where it stands."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        emitter = None if isinstance(op, scf.ForOp | scf.IfOp) else self.emitters.get(op)
        known = emitter.analysis.values.get(op.results[0]) if emitter and op.results else None
        if isinstance(known, ScalarOp):
            with emitter.lowering(op):
                emitter.emit_scalar_op(op)
        elif isinstance(known, ScalarLoad):
            with emitter.lowering(op):
                emitter.scalars[op.results[0]] = emitter.emit_scalar_load(known)


class LowerLoad(TtOpPattern):
    """A tt.load of a tensor: the copy of its box into a tile (or of a window to gather
    from); a gather is read where its lanes are used."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tt.LoadOp, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        known = emitter.analysis.values.get(op.result) if emitter else None
        if isinstance(known, LoadLeaf):
            with emitter.lowering(op):
                emitter.emit_load(known)


class LowerStore(TtOpPattern):
    """A tt.store: a tile.map computing its value over its box into a tile, and the
    copy back (or the scatter, or one masked element)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tt.StoreOp, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        if emitter is not None:
            with emitter.lowering(op):
                emitter.emit_store(emitter.analysis.stores[op])


class LowerCombining(TtOpPattern):
    """tt.reduce, tt.scan and tt.assert: loops carrying accumulators along an axis."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        emit = {
            tt.ReduceOp: "emit_reduce", tt.ScanOp: "emit_scan", tt.AssertOp: "emit_assert"
        }.get(type(op))  # fmt: skip
        if emitter is not None and emit is not None:
            with emitter.lowering(op):
                getattr(emitter, emit)(op)


class LowerKernelLoop(TtOpPattern):
    """A loop the kernel runs (`KernelEmitter.begin_loop`), and its trip's end at its
    yield (`end_loop`)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        emitter = self.emitters.get(op)
        if emitter is None:
            return
        if isinstance(op, scf.ForOp):
            with emitter.lowering(op):
                emitter.begin_loop(op)
        elif isinstance(op, scf.YieldOp) and op in emitter.loop_of_yield:
            emitter.end_loop(op, emitter.loop_of_yield[op])


class HoistIfScalars(TtOpPattern):
    """An scf.if the kernel runs: its ops move ahead of it, to be lowered there (its
    tensors are selected lane by lane where they are used)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.IfOp, rewriter: PatternRewriter) -> None:
        if self.emitters.get(op) is None:
            return
        for region in op.regions:
            for inner in list(region.block.ops)[:-1]:
                inner.detach()
                op.parent_block().insert_op_before(inner, op)


def erase_lowered(ops: Sequence[Operation]) -> None:
    """The kernel's own ops, dead once every sink is lowered: their references to each
    other dropped first, then each erased (one the lowered IR still used would fail)."""
    attached = [op for op in ops if not isinstance(op, tt.FuncOp) and op.parent is not None]
    for op in attached:
        op.detach()
    for op in attached:
        op.drop_all_references()
    for op in attached:
        op.erase()


@contextmanager
def recursion_room(frames: int):
    """Node trees are walked recursively, a few Python frames per level: a long
    element-wise chain (a degree-512 polynomial) needs more than Python's default."""
    default = sys.getrecursionlimit()
    sys.setrecursionlimit(max(default, frames))
    try:
        yield
    finally:
        sys.setrecursionlimit(default)


@dataclass(frozen=True)
class NpuLowerTritonPass(ModulePass):
    """Lowers every tt.func to the NPU program at the tile level (see the module
    docstring)."""

    name = "npu-lower-triton"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_option_types(self)
        # every kernel analysed before anything is rewritten, and rewritten in a copy:
        # a kernel that cannot be lowered leaves the module as it was (whether its tiles
        # fit the scratchpad is npu-tile's to decide: it re-cuts them)
        working = op.clone()
        emitters: dict[Operation, KernelEmitter] = {}
        frames = 1000
        for kernel in working.body.block.ops:
            if isinstance(kernel, tt.FuncOp):
                size = sum(1 for _ in kernel.walk())
                with recursion_room(1000 + 8 * size):
                    emitter = KernelEmitter(KernelAnalysis(kernel))
                frames = max(frames, 1000 + 8 * size)
                emitters[kernel] = emitter
                emitters.update(dict.fromkeys(driven_ops(kernel.body.block), emitter))
        if not emitters:
            raise PassFailedException(
                "npu-lower-triton: the module holds no tt.func to lower (is it lowered already?)"
            )
        lowering = [LowerKernelSignature, HoistIfScalars, LowerKernelLoop, LowerScalar,
                    LowerLoad, LowerStore, LowerCombining]  # fmt: skip
        with recursion_room(frames):
            PatternRewriteWalker(
                GreedyRewritePatternApplier(
                    [pattern(emitters) for pattern in lowering], dce_enabled=False
                ),
                apply_recursively=False,
            ).rewrite_module(working)
        erase_lowered(list(emitters))
        for emitter in set(emitters.values()):
            emitter.add_remarks(self.name)
        block = op.body.block
        for old in list(block.ops):
            block.erase_op(old)
        for new in list(working.body.block.ops):
            new.detach()
            block.add_op(new)
