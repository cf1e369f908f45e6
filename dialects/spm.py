"""
The `spm` dialect: the scratchpad memory (a VTCM-like SRAM next to the vector unit)
and the two ways data reaches it from DDR.

    %tile = spm.alloc : memref<1024xf32, #spm.scratch>
    // core-driven, synchronous: the issuing context moves the data itself
    spm.copy %x[%off] to %tile[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
    // asynchronous DMA: returns at once; the data is there after the wait
    %t = spm.dma_start %x[%off] to %tile[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
    spm.dma_wait %t

A transfer moves `count` contiguous elements, or with `rows %r strides %s, %d` a 2-D
box of r rows of `count` elements whose rows start %s elements apart at the source
and %d apart at the destination (Inductor's `r0_1 + 512*x0` tiles). Offsets, counts
and strides are in elements. DDR buffers are memrefs without a memory space;
scratchpad buffers carry `#spm.scratch`. Buffers live until their enclosing region
ends; their total, rounded to the machine's granule, must fit the scratchpad (see
`scratchpad_buffers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import (
    DenseArrayBase,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    UnitAttr,
    VectorType,
    i64,
)
from xdsl.ir import (
    Attribute,
    Dialect,
    Operation,
    ParametrizedAttribute,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import MemoryAllocEffect, MemoryReadEffect, MemoryWriteEffect
from xdsl.utils.exceptions import VerifyException

from xnpu.machines import Machine


@irdl_attr_definition
class ScratchpadSpaceAttr(ParametrizedAttribute):
    """`#spm.scratch`: the memory space of scratchpad memrefs."""

    name = "spm.scratch"


@irdl_attr_definition
class TokenType(ParametrizedAttribute, TypeAttribute):
    """`!spm.token`: an outstanding DMA transfer, to be waited on exactly once."""

    name = "spm.token"


SCRATCH = ScratchpadSpaceAttr()


def is_scratchpad(type: Attribute) -> bool:
    return isinstance(type, MemRefType) and type.memory_space == SCRATCH


def scratchpad_type(element: Attribute, shape: Sequence[int]) -> MemRefType:
    """memref<shape x element, #spm.scratch>."""
    return MemRefType(element, shape, memory_space=SCRATCH)


def _constant_int(value: SSAValue | None) -> int | None:
    if value is not None and isinstance(value.owner, ConstantOp):
        attr = value.owner.value
        if isinstance(attr, IntegerAttr):
            return attr.value.data
    return None


@irdl_op_definition
class AllocOp(IRDLOperation):
    """`%b = spm.alloc : memref<1024xf32, #spm.scratch>`: a scratchpad buffer."""

    name = "spm.alloc"

    buffer = result_def(MemRefType)

    traits = traits_def(MemoryAllocEffect())

    assembly_format = "attr-dict `:` type($buffer)"

    def __init__(self, type: MemRefType, name_hint: str | None = None):
        super().__init__(result_types=[type])
        self.buffer.name_hint = name_hint

    def verify_(self) -> None:
        type = self.buffer.type
        assert isinstance(type, MemRefType)
        if not is_scratchpad(type):
            raise VerifyException(f"spm.alloc must yield a memref in #spm.scratch, got {type}")
        if any(size < 0 for size in type.get_shape()):
            raise VerifyException(f"spm.alloc needs a static shape, got {type}")

    @property
    def nbytes(self) -> int:
        type = self.buffer.type
        assert isinstance(type, MemRefType)
        return type.element_count() * type.element_type.bitwidth // 8


class TransferOp(IRDLOperation):
    """Operands and checks shared by the core-driven copy and the DMA start."""

    src = operand_def(MemRefType)
    src_offset = operand_def(IndexType)
    dst = operand_def(MemRefType)
    dst_offset = operand_def(IndexType)
    count = operand_def(IndexType)
    rows = opt_operand_def(IndexType)
    src_stride = opt_operand_def(IndexType)
    dst_stride = opt_operand_def(IndexType)

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())

    def __init__(
        self,
        src: SSAValue | Operation,
        src_offset: SSAValue | Operation,
        dst: SSAValue | Operation,
        dst_offset: SSAValue | Operation,
        count: SSAValue | Operation,
        rows: tuple[SSAValue | Operation, SSAValue | Operation, SSAValue | Operation] | None = None,
        properties: dict[str, Attribute] | None = None,
        result_types: Sequence[Attribute] = (),
    ):
        box = [[r] for r in rows] if rows is not None else [[], [], []]
        super().__init__(
            operands=[src, src_offset, dst, dst_offset, count, *box],
            properties=properties or {},
            result_types=result_types,
        )

    @property
    def is_2d(self) -> bool:
        return self.rows is not None

    @property
    def ddr_offset(self) -> SSAValue:
        return self.src_offset if self.to_scratchpad else self.dst_offset

    @property
    def scratchpad_offset(self) -> SSAValue:
        return self.dst_offset if self.to_scratchpad else self.src_offset

    def remade(
        self,
        mapping: Mapping[SSAValue, SSAValue] | None = None,
        kind: type[TransferOp] | None = None,
        **named: SSAValue | tuple[SSAValue, SSAValue, SSAValue] | None,
    ) -> TransferOp:
        """This transfer as a new op of `kind` (its own by default): every operand
        renamed through `mapping`, those `named` (src, src_offset, dst, dst_offset,
        count, ddr_offset, scratchpad_offset, box) replaced. Operands are replaced by
        their role, never by their value: the two offsets are often one SSA value."""
        get = (lambda v: v) if mapping is None else (lambda v: mapping.get(v, v))
        unknown = set(named) - {*_TRANSFER_ROLES, "ddr_offset", "scratchpad_offset", "box"}
        if unknown:
            raise ValueError(f"remade: no operand role {', '.join(sorted(unknown))}")
        sides = ("src_offset", "dst_offset") if self.to_scratchpad else ("dst_offset", "src_offset")
        for role, side in zip(("ddr_offset", "scratchpad_offset"), sides):
            if role in named:
                named[side] = named.pop(role)
        operands = {role: named.get(role, get(getattr(self, role))) for role in _TRANSFER_ROLES}
        box = (self.rows, self.src_stride, self.dst_stride)
        box = (
            named["box"] if "box" in named else None if self.rows is None else tuple(map(get, box))
        )
        kind = kind or type(self)
        properties = {k: v for k, v in self.properties.items() if k != "operandSegmentSizes"}
        if kind is not type(self):
            properties = {
                k: v for k, v in properties.items() if k in kind.get_irdl_definition().properties
            }
        remade = kind(*operands.values(), box, properties=properties)
        remade.attributes.update(self.attributes)
        remade.location = self.location
        return remade

    @property
    def scratchpad_side(self) -> SSAValue:
        return self.dst if is_scratchpad(self.dst.type) else self.src

    @property
    def to_scratchpad(self) -> bool:
        return is_scratchpad(self.dst.type)

    def verify_(self) -> None:
        src, dst = self.src.type, self.dst.type
        assert isinstance(src, MemRefType) and isinstance(dst, MemRefType)
        if is_scratchpad(src) == is_scratchpad(dst):
            side = "both" if is_scratchpad(src) else "neither"
            raise VerifyException(
                f"{self.name} moves data between DDR and the scratchpad, but {side} "
                f"of {src} and {dst} is in #spm.scratch"
            )
        if src.element_type != dst.element_type:
            raise VerifyException(
                f"{self.name} element types differ: {src.element_type} and {dst.element_type}"
            )
        box = (self.rows, self.src_stride, self.dst_stride)
        if any(v is None for v in box) and any(v is not None for v in box):
            raise VerifyException(f"{self.name}: a 2-D transfer needs rows and both strides")
        self._verify_static_extent()

    def _verify_static_extent(self) -> None:
        """With constant count/rows/strides, the box must fit the scratchpad buffer."""
        count = _constant_int(self.count)
        rows = 1 if self.rows is None else _constant_int(self.rows)
        if count is None or rows is None:
            return
        if count < 0 or rows < 0:
            raise VerifyException(f"{self.name}: count and rows must not be negative")
        spm_type = self.scratchpad_side.type
        assert isinstance(spm_type, MemRefType)
        stride_operand = self.dst_stride if self.to_scratchpad else self.src_stride
        stride = count if stride_operand is None else _constant_int(stride_operand)
        offset = _constant_int(self.dst_offset if self.to_scratchpad else self.src_offset)
        if stride is None or offset is None or rows == 0 or count == 0:
            return
        extent = offset + (rows - 1) * stride + count
        capacity = spm_type.element_count()
        if extent > capacity:
            raise VerifyException(
                f"{self.name} reaches element {extent - 1} of a scratchpad buffer of "
                f"{capacity} elements ({spm_type})"
            )


_TRANSFER_ROLES = ("src", "src_offset", "dst", "dst_offset", "count")
"""A transfer's single operands, in order; the box (rows, src_stride, dst_stride) follows."""

_TRANSFER_FORMAT = (
    "$src `[` $src_offset `]` `to` $dst `[` $dst_offset `]` `count` $count "
    "(`rows` $rows^ `strides` $src_stride `,` $dst_stride)? attr-dict "
    "`:` type($src) `to` type($dst)"
)


@irdl_op_definition
class CopyOp(TransferOp):
    """
    A synchronous copy executed by the issuing context with loads and stores:
    element by element, or with `{width = 32}` a vector of 32 elements at a time.
    """

    name = "spm.copy"

    width = opt_prop_def(IntegerAttr)

    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = _TRANSFER_FORMAT

    @property
    def elements_per_access(self) -> int:
        return 1 if self.width is None else self.width.value.data

    def verify_(self) -> None:
        super().verify_()
        if self.elements_per_access < 1:
            raise VerifyException(f"spm.copy width must be positive, got {self.width}")


@irdl_op_definition
class DmaStartOp(TransferOp):
    """Starts an asynchronous DMA transfer; its token must be waited on exactly once."""

    name = "spm.dma_start"

    token = result_def(TokenType)

    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = _TRANSFER_FORMAT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, result_types=[TokenType()])

    def verify_(self) -> None:
        super().verify_()
        uses = self.token.uses.get_length()
        if uses != 1:
            raise VerifyException(
                f"the token of spm.dma_start must be used exactly once (by a wait or "
                f"to carry it to one), but it has {uses} uses"
            )


@irdl_op_definition
class DmaWaitOp(IRDLOperation):
    """`spm.dma_wait %t0, %t1`: blocks until every named transfer has finished."""

    name = "spm.dma_wait"

    tokens = var_operand_def(TokenType)

    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = "$tokens attr-dict"

    def __init__(self, *tokens: SSAValue | Operation):
        super().__init__(operands=[list(tokens)])

    def verify_(self) -> None:
        if not self.tokens:
            raise VerifyException("spm.dma_wait needs at least one token")
        for token in self.tokens:
            if token.uses.get_length() != 1:
                raise VerifyException(
                    f"a DMA token is waited on {token.uses.get_length()} times; a token is "
                    "used exactly once"
                )


@irdl_op_definition
class CompletedOp(IRDLOperation):
    """`%t = spm.completed : !spm.token`: the token of no transfer, complete from the
    start; what a skipped prefetch yields, so that every path carries a token."""

    name = "spm.completed"

    token = result_def(TokenType)

    # not Pure: each token is used once, so CSE must not merge two of them
    assembly_format = "attr-dict `:` type($token)"

    def __init__(self):
        super().__init__(result_types=[TokenType()])


def describe_buffer(alloc: AllocOp) -> str:
    name = alloc.buffer.name_hint or "buffer"
    return f"%{name} ({alloc.buffer.type}, {alloc.nbytes} bytes)"


LISTED_BUFFERS = 5
"""An overflow message names the largest buffers, and sums up the rest."""


def scratchpad_used(buffers: Sequence[tuple[AllocOp, int]], machine: Machine) -> int:
    """The scratchpad bytes `buffers` (each an spm.alloc and its live copies) take, in
    whole allocation granules."""
    return sum(copies * machine.scratchpad.rounded(alloc.nbytes) for alloc, copies in buffers)


def scratchpad_overflow(buffers: Sequence[tuple[AllocOp, int]], machine: Machine) -> str | None:
    """None when `buffers` (each an spm.alloc and how many copies of it are live at
    once) fit `machine`'s scratchpad, in whole allocation granules; else what they
    take against what it has, the largest buffers by name. The one scratchpad-fit check: the
    passes ask it of a function's buffers, the interpreter of the live ones."""
    pad = machine.scratchpad
    used = scratchpad_used(buffers, machine)
    if used <= pad.capacity_bytes:
        return None
    largest = sorted(buffers, key=lambda b: -b[1] * pad.rounded(b[0].nbytes))
    shown, rest = largest[:LISTED_BUFFERS], largest[LISTED_BUFFERS:]
    listing = ", ".join(
        describe_buffer(alloc) + (f" x {copies}" if copies > 1 else "") for alloc, copies in shown
    )
    if rest:
        rest_bytes = sum(copies * pad.rounded(alloc.nbytes) for alloc, copies in rest)
        listing += f", and {len(rest)} smaller buffers ({rest_bytes} bytes)"
    return (
        f"{used} bytes (in {pad.granule_bytes}-byte granules), more than the "
        f"{pad.capacity_bytes} of machine '{machine.name}': {listing}"
    )


@irdl_op_definition
class GatherOp(IRDLOperation):
    """
    `%v = spm.gather %buf[%at] : memref<32xf32, #spm.scratch>, vector<32xindex> ->
    vector<32xf32>`: one element of a scratchpad buffer per lane, at the lane's index
    (HVX's vgather from VTCM). npu-vectorize makes it of a scratchpad load at
    lane-varying indices that are not consecutive.
    """

    name = "spm.gather"

    buffer = operand_def(MemRefType)
    indices = operand_def(VectorType)
    result = result_def(VectorType)

    traits = traits_def(MemoryReadEffect())

    assembly_format = (
        "$buffer `[` $indices `]` attr-dict `:` type($buffer) `,` type($indices) `->` type($result)"
    )

    def __init__(self, buffer: SSAValue, indices: SSAValue):
        lanes = indices.type.get_shape()
        result = VectorType(buffer.type.element_type, lanes)
        super().__init__(operands=[buffer, indices], result_types=[result])

    def verify_(self) -> None:
        if not is_scratchpad(self.buffer.type) or len(self.buffer.type.get_shape()) != 1:
            raise VerifyException(f"gathers from a 1-D scratchpad buffer, not {self.buffer.type}")
        if not isinstance(self.indices.type.element_type, IndexType):
            raise VerifyException(f"indices must be a vector of index, not {self.indices.type}")
        want = VectorType(self.buffer.type.element_type, self.indices.type.get_shape())
        if self.result.type != want:
            raise VerifyException(
                f"gathering {self.indices.type} from {self.buffer.type} gives {want}, "
                f"not {self.result.type}"
            )


class MatrixProductOp(IRDLOperation):
    """
    Operands, layout and checks shared by a matrix product on scratchpad tiles at the
    tile level (`tile.matmul`) and on the matrix unit (`spm.matmul`):

        <op> %a, %b into %c {dims = array<i64: B, M, N, K>, a_strides = array<i64: ...>,
                             b_strides = ..., c_strides = ..., accumulate} : <types>

    For every batch b < B and lane (i, j) of the M x N result, c[b, i, j] becomes (with
    `accumulate`, c's value plus) the sum over k < K of a[b, i, k] * b[b, k, j], the
    inputs widened to c's element type. Each operand is a 1-D scratchpad tile read at
    its strides (batch, row, column): a[b, i, k] is a[b * s0 + i * s1 + k * s2], so a
    transposed or broadcast operand is a tile read at other strides.
    """

    a = operand_def(MemRefType)
    b = operand_def(MemRefType)
    c = operand_def(MemRefType)
    dims = prop_def(DenseArrayBase)
    a_strides = prop_def(DenseArrayBase)
    b_strides = prop_def(DenseArrayBase)
    c_strides = prop_def(DenseArrayBase)
    accumulate = opt_prop_def(UnitAttr)

    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = "$a `,` $b `into` $c attr-dict `:` type($a) `,` type($b) `into` type($c)"
    irdl_options = (ParsePropInAttrDict(),)

    def __init__(
        self,
        a: SSAValue,
        b: SSAValue,
        c: SSAValue,
        dims: Sequence[int],
        strides: Sequence[Sequence[int]],
        accumulate: bool,
    ):
        a_strides, b_strides, c_strides = (DenseArrayBase.from_list(i64, s) for s in strides)
        properties = {
            "dims": DenseArrayBase.from_list(i64, dims),
            "a_strides": a_strides,
            "b_strides": b_strides,
            "c_strides": c_strides,
        }
        if accumulate:
            properties["accumulate"] = UnitAttr()
        super().__init__(operands=[a, b, c], properties=properties)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(B, M, N, K)."""
        return tuple(self.dims.get_values())

    def strides_of(self) -> tuple[tuple[int, ...], ...]:
        """The (batch, row, column) strides of a, b and c."""
        return tuple(
            tuple(s.get_values()) for s in (self.a_strides, self.b_strides, self.c_strides)
        )

    def extents(self) -> tuple[tuple[int, int, int], ...]:
        """The (batch, row, column) extents a, b and c are read at."""
        batch, m, n, k = self.shape
        return (batch, m, k), (batch, k, n), (batch, m, n)

    def verify_(self) -> None:
        dims = self.shape
        if len(dims) != 4 or any(d < 1 for d in dims):
            raise VerifyException(
                f"{self.name}: dims must be 4 extents (B, M, N, K) of at least 1, not {dims}"
            )
        names = ("a", "b", "c")
        for name, value, strides, extents in zip(
            names, (self.a, self.b, self.c), self.strides_of(), self.extents()
        ):
            type = value.type
            if not is_scratchpad(type) or len(type.get_shape()) != 1 or type.get_shape()[0] < 0:
                raise VerifyException(
                    f"{self.name}: {name} must be a 1-D scratchpad tile of static size, not {type}"
                )
            if len(strides) != 3 or any(s < 0 for s in strides):
                raise VerifyException(
                    f"{self.name}: {name}_strides must be 3 strides (batch, row, column) of at least 0, "
                    f"not {strides}"
                )
            last = sum((e - 1) * s for e, s in zip(extents, strides))
            if last >= type.get_shape()[0]:
                raise VerifyException(
                    f"{self.name}: {name} is read up to element {last} ({' x '.join(map(str, extents))} at "
                    f"strides {', '.join(map(str, strides))}), past the end of {type}"
                )
        if self.c in (self.a, self.b):
            raise VerifyException(f"{self.name}: the result tile c must not be an input tile")
        inputs, output = self.a.type.element_type, self.c.type.element_type
        if self.b.type.element_type != inputs:
            raise VerifyException(
                f"{self.name}: a and b must have one element type, not {inputs} and {self.b.type.element_type}"
            )
        if isinstance(inputs, IntegerType) != isinstance(output, IntegerType) or (
            output.bitwidth < inputs.bitwidth
        ):
            raise VerifyException(
                f"{self.name}: the result's {output} must be as wide as the inputs' {inputs}, and of "
                "their kind (integer or float)"
            )


@irdl_op_definition
class MatmulOp(MatrixProductOp):
    """
    `spm.matmul %a, %b into %c {...}`: a matrix product on the matrix unit (HMX),
    its operands and result in the scratchpad (MatrixProductOp gives the semantics).
    The issuing context waits for it; contexts take turns on the machine's matrix
    units. npu-matrix makes it of a `tile.matmul` whose types the unit takes.
    """

    name = "spm.matmul"


SPM = Dialect(
    "spm",
    [AllocOp, CopyOp, DmaStartOp, DmaWaitOp, CompletedOp, GatherOp, MatmulOp],
    [ScratchpadSpaceAttr, TokenType],
)
