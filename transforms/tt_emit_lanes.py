"""
How npu-lower-triton's emitter computes a tensor at one lane, inside a `tile.map`:
a node read from its tile, gathered, or computed from its operands' values at that
lane (through views, reshapes and joins), and the tiles a node is computed into first
when several sinks use it or a loop carries it.

Part of `KernelEmitter` (tt_emitter.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import Float32Type, IntegerType
from xdsl.ir import Attribute, SSAValue

from xnpu.dialects import tile
from xnpu.dialects.location import at_location
from xnpu.transforms.builders import located
from xnpu.transforms.tt_analysis import row_major
from xnpu.transforms.tt_emit_scalars import EmittedBox
from xnpu.transforms.tt_emit_tiles import TileLayout
from xnpu.transforms.tt_values import (
    Affine,
    AffineLeaf,
    ComputeNode,
    ConstantLeaf,
    DotNode,
    JoinNode,
    LoadLeaf,
    LoweringError,
    Node,
    Pointer,
    ReducedLeaf,
    ReshapeNode,
    ScalarLeaf,
    ViewNode,
)


class LaneEmission:
    """Tensor values lane by lane (see the module docstring)."""

    def prepare(self, node: Node, box: EmittedBox, seen: set[Node] | None = None) -> None:
        """Before a loop over `box`: computes the tiles and per-program scalars the
        tree needs, and fills masked lanes the loop will read."""
        seen = set() if seen is None else seen
        if node in seen:
            return
        seen.add(node)
        if node.invariant:
            self.scalar_of(node)
            return
        if node in self.analysis.materialized:
            if self.tile_of(node) is None:
                self.materialize(node)
            return
        if isinstance(node, LoadLeaf) and node in self.load_tiles:
            if self.load_tiles[node].region is not box:
                self.ensure_filled(node)
            return
        for operand in node.operands:
            self.prepare(operand, box, seen)

    def materialize(self, node: Node) -> None:
        if isinstance(node, DotNode):
            self.emit_matmul(node)
            return
        box = self.emitted_box(self.analysis.materialized_box(node))
        layout = self.new_tile("tmp", node.shape, None, node.element, box)
        self.prepare_operands(node, box)
        self.fill_tiles([(layout, node)], box)
        self.remember(("tile", node), layout)

    def new_tile(
        self, kind: str, shape: tuple[int, ...], dims: list[int] | None, element, box: EmittedBox
    ) -> TileLayout:
        """A tile holding `dims` of `shape` row-major (None: every dimension not of size 1)."""
        if dims is None:
            dims = [d for d, s in enumerate(shape) if s != 1]
        buffer = self.alloc(kind, element, prod(shape[d] for d in dims))
        return TileLayout(buffer, row_major(shape, dims), box)

    def fill_tiles(self, fills: Sequence[tuple[TileLayout, Node]], box: EmittedBox) -> None:
        """One element loop over `box` that computes every node at a lane, then stores
        each into its tile at that lane (the nodes prepared by the caller)."""

        def body(lanes):
            memo: dict = {}
            values = [self.value_at(node, lanes, memo) for _, node in fills]
            for (layout, _), value in zip(fills, values):
                index = self.tile_index(layout, lanes)
                self.insert(memref.StoreOp.get(value, layout.buffer, [index]))

        self.element_loops(box, body)

    def tile_of(self, node: Node) -> TileLayout | None:
        """The tile a node was computed into, if it was in this scope or an outer one."""
        return self.scope.lookup(("tile", node))

    def prepare_operands(self, node: Node, box: EmittedBox) -> None:
        """`prepare` for a node computed here, not read from its tile."""
        seen = {node}
        if node.invariant:
            self.scalar_of(node)
            return
        for operand in node.operands:
            self.prepare(operand, box, seen)

    def tile_index(self, layout: TileLayout, lanes: Sequence[SSAValue]) -> SSAValue:
        """sum(lane * stride): computed once per scope for each layout and lanes."""
        key = ("tile index", layout.strides, tuple(lanes))
        return self.cached(key, lambda: self._tile_index(layout, lanes))

    def _tile_index(self, layout: TileLayout, lanes: Sequence[SSAValue]) -> SSAValue:
        total: SSAValue | None = None
        flat = self.flat_lanes.get(tuple(lanes))
        skipped: set[int] = set()
        if flat is not None:
            index, run, shape = flat
            if [layout.strides[d] for d in run] == [row_major(shape, run)[d] for d in run]:
                total, skipped = index, set(run)
        for d, (lane, stride) in enumerate(zip(lanes, layout.strides)):
            if stride == 0 or d in skipped:
                continue
            term = (
                lane
                if stride == 1
                else self.insert(arith.MuliOp(lane, self.index(stride))).results[0]
            )
            total = term if total is None else self.insert(arith.AddiOp(total, term)).results[0]
        return total if total is not None else self.index(0)

    def scalar_of(self, node: Node) -> SSAValue:
        """An invariant node computed once per iteration, in the iteration's scope."""
        lanes = [self.index(0)] * len(node.shape)
        with self.iteration_level():
            return self.cached(("invariant", node), lambda: self.evaluate(node, lanes, {}))

    def value_at(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        if node.invariant:
            return self.scalar_of(node)
        return self.evaluate(node, lanes, memo)

    def evaluate(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        """`node` at `lanes`, computed at the current point (invariant operands come
        from the program scope)."""
        key = (node, tuple(lanes))
        if key not in memo:
            memo[key] = self._evaluate(node, lanes, memo)
        return memo[key]

    def _evaluate(self, node: Node, lanes: list[SSAValue], memo: dict) -> SSAValue:
        if (tile := self.tile_of(node)) is not None:
            return self.load_tile(tile, lanes)
        match node:
            case ScalarLeaf():
                return self.scalar(node.value)
            case ConstantLeaf():
                return self.insert_entry(arith.ConstantOp(node.value, node.element)).results[0]
            case AffineLeaf():
                return self.affine_at(node.affine, lanes)
            case LoadLeaf() if node in self.load_tiles:
                return self.load_tile(self.load_tiles[node], lanes)
            case LoadLeaf():
                return self.gather_at(node, lanes, memo)
            case ReducedLeaf():
                result = self.reduced[node]
                return result if isinstance(result, SSAValue) else self.load_tile(result, lanes)
            case ViewNode():
                mapped = node.lane_map(lanes)
                mapped = [m if not isinstance(m, int) else self.index(m) for m in mapped]
                return self.value_at(node.operands[0], mapped, memo)
            case ReshapeNode():
                return self.value_at(node.operands[0], self.regrouped(node, lanes), memo)
            case JoinNode():
                a, b = (self.value_at(o, lanes[:-1], memo) for o in node.operands)
                first = self.insert(arith.CmpiOp(lanes[-1], self.index(0), "eq")).results[0]
                return self.insert(arith.SelectOp(first, a, b)).results[0]
            case ComputeNode():
                operands = [self.value_at(o, lanes, memo) for o in node.operands]
                return self.compute(node, operands)
        raise LoweringError(f"npu-lower-triton: internal error: cannot evaluate {node}")

    def regrouped(self, node: ReshapeNode, lanes: Sequence[SSAValue]) -> list[SSAValue]:
        """The source lanes of a regrouping reshape's `lanes`: through the row-major
        flat position (divided back down the source's dims)."""
        source = node.operands[0].shape
        flat = None
        strides = row_major(node.shape, range(len(node.shape)))
        for d, lane in enumerate(lanes):
            if node.shape[d] == 1:
                continue
            term = self.scaled_index(lane, strides[d])
            flat = term if flat is None else self.insert(arith.AddiOp(flat, term)).results[0]
        flat = flat if flat is not None else self.index(0)
        mapped = []
        for extent, stride in zip(source, row_major(source, range(len(source)))):
            if extent == 1:
                mapped.append(self.index(0))
                continue
            if stride != 1:
                lane = self.insert(arith.DivUIOp(flat, self.index(stride))).results[0]
            else:
                lane = flat
            if stride * extent < prod(source):
                lane = self.insert(arith.RemUIOp(lane, self.index(extent))).results[0]
            mapped.append(lane)
        return mapped

    def load_tile(self, layout: TileLayout, lanes) -> SSAValue:
        return self.insert(memref.LoadOp.get(layout.buffer, [self.tile_index(layout, lanes)])).res

    def affine_at(self, affine: Affine, lanes) -> SSAValue:
        total = self.poly_value(affine.start)
        for d, lane in enumerate(lanes):
            if affine.varies(d):
                term = self.lane_offset(lane, affine.lanes[d])
                total = self.insert(arith.AddiOp(total, term)).results[0]
        return self.insert(arith.IndexCastOp(total, affine.type)).results[0]

    def address_at(self, pointer: Pointer, lanes, memo) -> SSAValue:
        if isinstance(pointer.offset, Affine):
            address = self.affine_at(pointer.offset, lanes)
        else:
            address = self.value_at(pointer.offset, lanes, memo)
        return self.to_index(address)

    def gather_at(self, leaf: LoadLeaf, lanes, memo) -> SSAValue:
        address = self.address_at(leaf.pointer, lanes, memo)
        mask = self.value_at(leaf.mask, lanes, memo) if leaf.mask is not None else None
        if leaf in self.windows:  # from the scratchpad: a masked-off lane reads element 0
            buffer, low = self.windows[leaf]
            address = self.insert(arith.SubiOp(address, low)).results[0]
        else:
            buffer = self.args[leaf.pointer.base]
        if mask is not None:
            address = self.insert(arith.SelectOp(mask, address, self.index(0))).results[0]
        gather = memref.LoadOp.get(buffer, [address])
        value = self.insert(located(gather, leaf.op)).res
        if mask is not None:
            other = (
                self.value_at(leaf.other, lanes, memo)
                if leaf.other is not None
                else self.zero_of(leaf.element)
            )
            value = self.insert(arith.SelectOp(mask, value, other)).results[0]
        return value

    def emit_matmul(self, node: DotNode) -> None:
        """A dot into a tile of its own (or into the carry tile of the accumulator it
        adds to, `accumulated_in_place`): one tile.matmul reading a and b where their
        tiles hold them (a transposed or broadcast view is the tile at other strides),
        after the accumulator's lanes are written into the result tile, unless it is
        zero.

            %acc = tt.dot %a, %b, %c          tile.map (%i, %j) { %res[...] = %c at (i, j) }
                                      ==>     tile.matmul %in0, %in1 into %res {dims = ...,
                                                  a_strides = ..., accumulate}"""
        a, b, acc = node.operands
        if node.op.precision != "ieee" and isinstance(a.element, Float32Type):
            remark = (
                f"dot{at_location(node.op)} multiplies in {node.element} with no input "
                f"rounding (its inputPrecision={node.op.precision} allows rounding, which "
                "xnpu does not do)"
            )
            if remark not in self.remarks:
                self.remarks.append(remark)
        full = self.emitted_box(self.analysis.masks.full_box(node.shape))
        a_view, b_view = (self.strided_operand(o) for o in (a, b))
        carried = self.analysis.accumulated_in_place.get(node)
        accumulate = not _is_zero(acc)
        if carried is not None:
            result = self.tile_of(carried)
        else:
            result = self.new_tile("dot", node.shape, None, node.element, full)
            if accumulate:
                self.prepare(acc, full)
                self.fill_tiles([(result, acc)], full)
        rank = len(node.shape)
        batch = node.shape[0] if rank == 3 else 1
        dims = (batch, node.shape[-2], node.shape[-1], node.depth)
        strides = [
            (s[0] if rank == 3 else 0, s[-2], s[-1]) for s in (a_view[1], b_view[1], result.strides)
        ]
        matmul = tile.MatmulOp(a_view[0], b_view[0], result.buffer, dims, strides, accumulate)
        self.insert(located(matmul, node.op))
        self.remember(("tile", node), result)

    def strided_operand(self, node: Node) -> tuple[SSAValue, tuple[int, ...]]:
        """A dot operand as a tile and its lane strides: the tile it is held in (a
        view's source tile, read at the strides the view maps its lanes to), or a
        tile it is computed into here."""
        box = self.emitted_box(self.analysis.masks.full_box(node.shape))
        self.prepare(node, box)
        found = self.held_in_tile(node)
        if found is None:
            layout = self.new_tile("tmp", node.shape, None, node.element, box)
            self.fill_tiles([(layout, node)], box)
            self.remember(("tile", node), layout)
            found = layout.buffer, layout.strides
        return found

    def held_in_tile(self, node: Node) -> tuple[SSAValue, tuple[int, ...]] | None:
        layout = self.tile_of(node)
        if layout is None and isinstance(node, LoadLeaf):
            layout = self.load_tiles.get(node)
        if layout is None and isinstance(node, ReducedLeaf):
            reduced = self.reduced.get(node)
            layout = reduced if isinstance(reduced, TileLayout) else None
        if layout is not None:
            return layout.buffer, layout.strides
        if not isinstance(node, ViewNode):
            return None
        source = self.held_in_tile(node.operands[0])
        if source is None:
            return None
        buffer, source_strides = source
        strides = []
        for d in range(len(node.shape)):  # a view's lane map is linear in the lanes
            unit = [1 if e == d else 0 for e in range(len(node.shape))]
            mapped = node.lane_map(unit)
            strides.append(sum(s * lane for s, lane in zip(source_strides, mapped)))
        return buffer, tuple(strides)

    def converted(self, value: SSAValue, element: Attribute) -> SSAValue:
        """`value` as `element`: a narrower float extended, a narrower integer
        sign-extended (what a dot's inputs become before they are multiplied)."""
        if value.type == element:
            return value
        if isinstance(element, IntegerType):
            return self.insert(arith.ExtSIOp(value, element)).results[0]
        if value.type.bitwidth < element.bitwidth:
            return self.insert(arith.ExtFOp(value, element)).results[0]
        return self.insert(arith.TruncFOp(value, element)).results[0]

    def compute(self, node: ComputeNode, operands: list[SSAValue]) -> SSAValue:
        op = node.op
        if node.expansion is not None:  # libdevice calls
            return node.expansion(lambda new: self.insert(new).results[0], operands)
        if node.op_type is not type(op):  # pointer offsets
            new = node.op_type(*operands)
        else:
            new = type(op).create(
                operands=operands,
                result_types=[node.element],
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
        return self.insert(new).results[0]


def _is_zero(node: Node) -> bool:
    """Whether a node is a splat zero (a dot with no accumulator of its own)."""
    while isinstance(node, ViewNode):
        node = node.operands[0]
    return isinstance(node, ConstantLeaf) and node.value.value.data == 0
