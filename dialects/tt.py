"""
The `tt` dialect: the subset of Triton IR (TTIR) that xnpu accepts, in Triton's own
printed syntax, so the text Triton 3.9 prints (or writes to its cache as `.ttir`)
parses as it is.

    tt.func public @add(%x: !tt.ptr<f32>, %n: i32) {
      %pid = tt.get_program_id x : i32
      %r = tt.make_range {end = 1024 : i32, start = 0 : i32} : tensor<1024xi32>
      %p = tt.splat %x : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
      %q = tt.addptr %p, %r : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
      %v = tt.load %q, %mask : tensor<1024x!tt.ptr<f32>>
      tt.store %q, %v, %mask : tensor<1024x!tt.ptr<f32>>
      tt.return
    }

Element-wise arithmetic stays in `arith` and `math` (Triton prints it there); the tensor
forms xDSL's `arith` lacks are in `arith_tensor`. The verifiers check what Triton checks
that matters to xnpu: the shapes of splat, broadcast, expand_dims, reshape and addptr,
that a mask has the shape of its pointers, that a load yields the pointee type, and
the block signature and results of a reduction.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DictionaryAttr,
    FunctionType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
    VectorType,
    i1,
    i32,
)
from xdsl.dialects.utils import parse_func_op_like, print_func_op_like
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AnyAttr,
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import (
    CallableOpInterface,
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    MemoryReadEffect,
    MemoryWriteEffect,
    Pure,
    ReturnLike,
    SymbolOpInterface,
    SymbolTable,
    SymbolUserOpInterface,
)
from xdsl.utils.exceptions import VerifyException

# --------------------------------------------------------------------------- types


@irdl_attr_definition
class PointerType(ParametrizedAttribute, TypeAttribute):
    """`!tt.ptr<f32>`: a pointer into global memory (address space 1, not printed)."""

    name = "tt.ptr"

    pointee: Attribute
    address_space: IntAttr

    DEFAULT_ADDRESS_SPACE: ClassVar[int] = 1

    def __init__(self, pointee: Attribute, address_space: int = 1):
        super().__init__(pointee, IntAttr(address_space))

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.pointee)
            if self.address_space.data != self.DEFAULT_ADDRESS_SPACE:
                printer.print_string(f", {self.address_space.data}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> tuple[Attribute, IntAttr]:
        with parser.in_angle_brackets():
            pointee = parser.parse_type()
            space = cls.DEFAULT_ADDRESS_SPACE
            if parser.parse_optional_punctuation(","):
                space = parser.parse_integer(allow_boolean=False, allow_negative=False)
        return pointee, IntAttr(space)


SHAPED = (TensorType, VectorType)
"""The types whose values hold lanes: Triton's tensors and the vectorizer's vectors."""


def shape_of(type: Attribute) -> tuple[int, ...]:
    """The static shape of a tensor or vector type; () for a scalar."""
    if isinstance(type, SHAPED):
        return tuple(type.get_shape())
    return ()


def element_of(type: Attribute) -> Attribute:
    """The element type of a tensor or vector type; the type itself for a scalar."""
    if isinstance(type, SHAPED):
        return type.get_element_type()
    return type


def with_element(like: Attribute, element: Attribute) -> Attribute:
    """`element`, in a tensor or vector of `like`'s shape if `like` is one."""
    if isinstance(like, TensorType):
        return TensorType(element, like.get_shape())
    if isinstance(like, VectorType):
        return VectorType(element, like.get_shape())
    return element


def pointee_of(pointer_like: Attribute) -> Attribute:
    """The type a load through `pointer_like` (a pointer or a tensor of them) yields."""
    pointer = element_of(pointer_like)
    if not isinstance(pointer, PointerType):
        raise VerifyException(f"expected a pointer or a tensor of pointers, got {pointer_like}")
    return with_element(pointer_like, pointer.pointee)


def stored_element(pointee: Attribute) -> Attribute:
    """How memory holds a pointee: i1 as a byte (i8), as Triton stores bools; any
    other type as itself."""
    return IntegerType(8) if pointee == IntegerType(1) else pointee


def _optional_setting(parser: Parser, keyword: str, what: str) -> str | None:
    """`, keyword = value` after an op's operands (Triton's `rounding = rtne`,
    `inputPrecision = tf32`): the value, or None when there is none."""
    if not parser.parse_optional_punctuation(","):
        return None
    parser.parse_keyword(keyword)
    parser.parse_punctuation("=")
    return parser.parse_identifier(f" ({what})")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise VerifyException(message)


def _check_elements(value: SSAValue, kind: type[Attribute], what: str) -> None:
    _require(
        isinstance(element_of(value.type), kind),
        f"{what} must be a {kind.name} or a tensor of them, got {value.type}",
    )


def _check_floats(value: SSAValue, what: str) -> None:
    _require(
        isinstance(element_of(value.type), AnyFloat),
        f"{what} must be a float or a tensor of floats, got {value.type}",
    )


# ----------------------------------------------------------------------- functions


class FuncCallable(CallableOpInterface):
    @classmethod
    def get_callable_region(cls, op: Operation) -> Region:
        assert isinstance(op, FuncOp)
        return op.body

    @classmethod
    def get_argument_types(cls, op: Operation) -> tuple[Attribute, ...]:
        assert isinstance(op, FuncOp)
        return op.function_type.inputs.data

    @classmethod
    def get_result_types(cls, op: Operation) -> tuple[Attribute, ...]:
        assert isinstance(op, FuncOp)
        return op.function_type.outputs.data


@irdl_op_definition
class FuncOp(IRDLOperation):
    """`tt.func`: a kernel (public) or a helper it calls (private)."""

    name = "tt.func"

    body = region_def()
    sym_name = prop_def(SymbolNameConstraint())
    function_type = prop_def(FunctionType)
    sym_visibility = opt_prop_def(StringAttr)
    arg_attrs = opt_prop_def(ArrayAttr[DictionaryAttr])
    res_attrs = opt_prop_def(ArrayAttr[DictionaryAttr])

    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface(), FuncCallable())

    _RESERVED: ClassVar[tuple[str, ...]] = ("sym_name", "function_type", "sym_visibility")

    def __init__(
        self,
        name: str,
        inputs: Sequence[Attribute],
        outputs: Sequence[Attribute] = (),
        region: Region | None = None,
        visibility: str | None = "public",
        arg_attrs: ArrayAttr[DictionaryAttr] | None = None,
        res_attrs: ArrayAttr[DictionaryAttr] | None = None,
    ):
        from xdsl.ir import Block

        function_type = FunctionType.from_lists(inputs, outputs)
        super().__init__(
            properties={
                "sym_name": StringAttr(name),
                "function_type": function_type,
                "sym_visibility": StringAttr(visibility) if visibility else None,
                "arg_attrs": arg_attrs,
                "res_attrs": res_attrs,
            },
            regions=[region or Region(Block(arg_types=inputs))],
        )

    @property
    def args(self):
        return self.body.block.args

    def verify_(self) -> None:
        if not self.body.blocks:
            return
        _require(
            tuple(self.body.blocks.first.arg_types) == self.function_type.inputs.data,
            "entry block arguments must have the types of the function's inputs",
        )

    @classmethod
    def parse(cls, parser: Parser) -> FuncOp:
        visibility = parser.parse_optional_visibility_keyword()
        name, inputs, outputs, region, extra, arg_attrs, res_attrs = parse_func_op_like(
            parser, reserved_attr_names=cls._RESERVED
        )
        op = cls(
            name,
            inputs,
            outputs,
            region,
            visibility.data if visibility else None,
            arg_attrs,
            res_attrs,
        )
        if extra is not None:
            op.attributes |= extra.data
        return op

    def print(self, printer: Printer) -> None:
        if self.sym_visibility:
            printer.print_string(f" {self.sym_visibility.data}")
        print_func_op_like(
            printer,
            self.sym_name,
            self.function_type,
            self.body,
            self.attributes,
            arg_attrs=self.arg_attrs,
            res_attrs=self.res_attrs,
            reserved_attr_names=(*self._RESERVED, "arg_attrs"),
        )


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """`tt.return`: leaves a `tt.func`."""

    name = "tt.return"

    srcs = var_operand_def()

    traits = traits_def(HasParent(FuncOp), IsTerminator(), ReturnLike())

    assembly_format = "attr-dict ($srcs^ `:` type($srcs))?"

    def __init__(self, *values: SSAValue | Operation):
        super().__init__(operands=[values])

    def verify_(self) -> None:
        func = self.parent_op()
        assert isinstance(func, FuncOp)
        _require(
            tuple(self.srcs.types) == func.function_type.outputs.data,
            f"returns {list(self.srcs.types)} but the function's results are "
            f"{list(func.function_type.outputs.data)}",
        )


class CallSymbolUser(SymbolUserOpInterface):
    def verify(self, op: Operation) -> None:
        assert isinstance(op, CallOp)
        callee = SymbolTable.lookup_symbol(op, op.callee)
        _require(isinstance(callee, FuncOp), f"'{op.callee}' is not a tt.func in scope")
        assert isinstance(callee, FuncOp)
        expected = (callee.function_type.inputs.data, callee.function_type.outputs.data)
        actual = (tuple(op.inputs.types), tuple(op.result_types))
        _require(
            expected == actual,
            f"call to {op.callee} has type {actual}, the callee {expected}",
        )


@irdl_op_definition
class CallOp(IRDLOperation):
    """`tt.call @f(%a) : (i32) -> i32`: calls a `tt.func`."""

    name = "tt.call"

    inputs = var_operand_def()
    callee = prop_def(SymbolRefAttr)
    res = var_result_def()

    traits = traits_def(CallSymbolUser())

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$callee `(` $inputs `)` attr-dict `:` functional-type($inputs, $res)"


# ------------------------------------------------------------------- program ids

PROGRAM_AXES = ("x", "y", "z")


class ProgramAxisOp(IRDLOperation):
    """Base of the ops that take a grid axis, printed `x`, `y` or `z`."""

    axis = prop_def(IntegerAttr[IntegerType])
    result = result_def(i32)

    traits = traits_def(Pure())

    def __init__(self, axis: int):
        super().__init__(properties={"axis": IntegerAttr(axis, i32)}, result_types=[i32])

    def verify_(self) -> None:
        _require(
            0 <= self.axis.value.data < len(PROGRAM_AXES),
            f"grid axis must be 0, 1 or 2, got {self.axis.value.data}",
        )

    @classmethod
    def parse(cls, parser: Parser):
        at = parser.pos
        axis = parser.parse_identifier(" (a grid axis: x, y or z)")
        if axis not in PROGRAM_AXES:
            parser.raise_error(f"grid axis must be x, y or z, got '{axis}'", at, parser.pos)
        extra = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        parser.parse_type()
        op = cls(PROGRAM_AXES.index(axis))
        op.attributes |= extra
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {PROGRAM_AXES[self.axis.value.data]}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)


@irdl_op_definition
class GetProgramIdOp(ProgramAxisOp):
    """`tt.get_program_id x : i32`: the id of this program instance on one grid axis."""

    name = "tt.get_program_id"


@irdl_op_definition
class GetNumProgramsOp(ProgramAxisOp):
    """`tt.get_num_programs x : i32`: the grid's size on one axis."""

    name = "tt.get_num_programs"


# --------------------------------------------------------------- shape operations


@irdl_op_definition
class MakeRangeOp(IRDLOperation):
    """`tt.make_range {end = 8 : i32, start = 0 : i32} : tensor<8xi32>`: [start, end)."""

    name = "tt.make_range"

    start = prop_def(IntegerAttr[IntegerType])
    end = prop_def(IntegerAttr[IntegerType])
    result = result_def(TensorType)

    traits = traits_def(Pure())

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, start: int, end: int):
        super().__init__(
            properties={"start": IntegerAttr(start, i32), "end": IntegerAttr(end, i32)},
            result_types=[TensorType(i32, [end - start])],
        )

    def verify_(self) -> None:
        start, end = self.start.value.data, self.end.value.data
        _require(end > start, f"end ({end}) must be greater than start ({start})")
        _require(
            self.result.type == TensorType(i32, [end - start]),
            f"result must be tensor<{end - start}xi32>, got {self.result.type}",
        )


class ShapeChangeOp(IRDLOperation):
    """Base of the ops printed `$src attr-dict : type($src) -> type($result)`."""

    src = operand_def()
    result = result_def()

    traits = traits_def(Pure())

    assembly_format = "$src attr-dict `:` type($src) `->` type($result)"

    def _require_same_element(self) -> None:
        _require(
            element_of(self.src.type) == element_of(self.result.type),
            f"element types differ: {self.src.type} -> {self.result.type}",
        )


@irdl_op_definition
class SplatOp(ShapeChangeOp):
    """`tt.splat %s : f32 -> tensor<8xf32>`: a tensor filled with one scalar."""

    name = "tt.splat"

    def __init__(self, src: SSAValue | Operation, shape: Sequence[int]):
        src = SSAValue.get(src)
        super().__init__(operands=[src], result_types=[TensorType(src.type, shape)])

    def verify_(self) -> None:
        _require(
            not isinstance(self.src.type, TensorType),
            f"splat takes a scalar, got {self.src.type}",
        )
        _require(isinstance(self.result.type, TensorType), "splat yields a tensor")
        self._require_same_element()


@irdl_op_definition
class BroadcastOp(ShapeChangeOp):
    """`tt.broadcast %t : tensor<1x8xi32> -> tensor<4x8xi32>`: grows size-1 dims."""

    name = "tt.broadcast"

    def verify_(self) -> None:
        self._require_same_element()
        src, dst = shape_of(self.src.type), shape_of(self.result.type)
        _require(
            len(src) == len(dst) and len(src) > 0,
            f"broadcast keeps the rank: {self.src.type} -> {self.result.type}",
        )
        for axis, (a, b) in enumerate(zip(src, dst)):
            _require(
                a == b or a == 1,
                f"broadcast can only grow dimensions of size 1, but dimension {axis} "
                f"goes from {a} to {b}",
            )


@irdl_op_definition
class ExpandDimsOp(ShapeChangeOp):
    """`tt.expand_dims %t {axis = 1 : i32} : tensor<8xi32> -> tensor<8x1xi32>`."""

    name = "tt.expand_dims"

    axis = prop_def(IntegerAttr[IntegerType])

    irdl_options = (ParsePropInAttrDict(),)

    def verify_(self) -> None:
        self._require_same_element()
        src, dst = list(shape_of(self.src.type)), shape_of(self.result.type)
        axis = self.axis.value.data
        _require(
            0 <= axis <= len(src),
            f"axis {axis} is out of range for a tensor of rank {len(src)}",
        )
        src.insert(axis, 1)
        _require(
            tuple(src) == dst,
            f"expand_dims at axis {axis} of {self.src.type} gives shape {src}, "
            f"not {self.result.type}",
        )


@irdl_op_definition
class ReshapeOp(ShapeChangeOp):
    """`tt.reshape %t : tensor<4x8xf32> -> tensor<32xf32>`: same elements, new shape."""

    name = "tt.reshape"

    allow_reorder = opt_prop_def(UnitAttr)
    efficient_layout = opt_prop_def(UnitAttr)

    assembly_format = (
        "$src (`allow_reorder` $allow_reorder^)? "
        "(`efficient_layout` $efficient_layout^)? attr-dict "
        "`:` type($src) `->` type($result)"
    )

    def verify_(self) -> None:
        self._require_same_element()
        src, dst = shape_of(self.src.type), shape_of(self.result.type)
        _require(
            prod(src) == prod(dst),
            f"reshape must keep the element count: {self.src.type} -> {self.result.type}",
        )


@irdl_op_definition
class TransOp(ShapeChangeOp):
    """`tt.trans %t {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>`:
    the dims permuted (result dim d is source dim order[d])."""

    name = "tt.trans"

    order = prop_def(DenseArrayBase)

    irdl_options = (ParsePropInAttrDict(),)

    def verify_(self) -> None:
        self._require_same_element()
        order = list(self.order.get_values())
        src = shape_of(self.src.type)
        _require(
            sorted(order) == list(range(len(src))),
            f"order {order} is not a permutation of the {len(src)} dims of {self.src.type}",
        )
        want = [src[o] for o in order]
        _require(
            list(shape_of(self.result.type)) == want,
            f"transposing {self.src.type} by {order} gives shape {want}, not {self.result.type}",
        )


@irdl_op_definition
class JoinOp(IRDLOperation):
    """`tt.join %a, %b : tensor<16xf32> -> tensor<16x2xf32>`: a new last dim of 2,
    `a` at 0 and `b` at 1."""

    name = "tt.join"

    T: ClassVar = VarConstraint("T", AnyAttr())
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def()

    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)"

    def verify_(self) -> None:
        want = [*shape_of(self.lhs.type), 2]
        _require(
            list(shape_of(self.result.type)) == want
            and element_of(self.result.type) == element_of(self.lhs.type),
            f"joining two {self.lhs.type} gives shape {want}, not {self.result.type}",
        )


@irdl_op_definition
class SplitOp(IRDLOperation):
    """`%a, %b = tt.split %t : tensor<16x2xf32> -> tensor<16xf32>`: the halves of a
    last dim of 2."""

    name = "tt.split"

    T: ClassVar = VarConstraint("T", AnyAttr())
    src = operand_def()
    outLHS = result_def(T)
    outRHS = result_def(T)

    traits = traits_def(Pure())

    assembly_format = "$src attr-dict `:` type($src) `->` type($outLHS)"

    def verify_(self) -> None:
        src = shape_of(self.src.type)
        _require(bool(src) and src[-1] == 2, f"splits a last dim of 2, not {self.src.type}")
        _require(
            list(shape_of(self.outLHS.type)) == list(src[:-1])
            and element_of(self.outLHS.type) == element_of(self.src.type),
            f"splitting {self.src.type} gives shape {list(src[:-1])}, not {self.outLHS.type}",
        )


# ------------------------------------------------------------ pointers and memory


@irdl_op_definition
class AddPtrOp(IRDLOperation):
    """`tt.addptr %p, %o : tensor<8x!tt.ptr<f32>>, tensor<8xi32>`: p + o elements."""

    name = "tt.addptr"

    T: ClassVar = VarConstraint("T", AnyAttr())
    ptr = operand_def(T)
    offset = operand_def()
    result = result_def(T)

    traits = traits_def(Pure())

    assembly_format = "$ptr `,` $offset attr-dict `:` type($result) `,` type($offset)"

    def __init__(self, ptr: SSAValue | Operation, offset: SSAValue | Operation):
        ptr = SSAValue.get(ptr)
        super().__init__(operands=[ptr, offset], result_types=[ptr.type])

    def verify_(self) -> None:
        _check_elements(self.ptr, PointerType, "the pointer operand")
        _check_elements(self.offset, IntegerType, "the offset")
        _require(
            self.result.type == self.ptr.type,
            f"result type {self.result.type} differs from pointer type {self.ptr.type}",
        )
        _require(
            shape_of(self.offset.type) == shape_of(self.ptr.type),
            f"offset shape {list(shape_of(self.offset.type))} differs from pointer "
            f"shape {list(shape_of(self.ptr.type))}",
        )


CACHE_MODIFIERS = ("none", "ca", "cg", "wb", "cs", "wt", "cv")
EVICTION_POLICIES = ("evict_normal", "evict_first", "evict_last")


@irdl_attr_definition
class CachePolicyAttr(ParametrizedAttribute):
    """
    `#tt.cache_policy<cache_modifier = cg, eviction_policy = evict_last>`: the cache
    hints of a load or store. Kept so the IR prints back as it came; xnpu's machine
    has no data cache, so the lowering ignores them knowingly.
    """

    name = "tt.cache_policy"

    cache_modifier: StringAttr
    eviction_policy: StringAttr

    _FIELDS: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("cache_modifier", CACHE_MODIFIERS),
        ("eviction_policy", EVICTION_POLICIES),
    )

    def __init__(self, cache_modifier: str = "none", eviction_policy: str = "evict_normal"):
        super().__init__(StringAttr(cache_modifier), StringAttr(eviction_policy))

    def verify(self) -> None:
        for (field, allowed), value in zip(
            self._FIELDS, (self.cache_modifier, self.eviction_policy)
        ):
            _require(
                value.data in allowed,
                f"{field} must be one of {', '.join(allowed)}, got '{value.data}'",
            )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> tuple[StringAttr, StringAttr]:
        values = []
        with parser.in_angle_brackets():
            for i, (field, allowed) in enumerate(cls._FIELDS):
                if i:
                    parser.parse_punctuation(",")
                parser.parse_keyword(field)
                parser.parse_punctuation("=")
                at = parser.pos
                value = parser.parse_identifier()
                if value not in allowed:
                    parser.raise_error(
                        f"{field} must be one of {', '.join(allowed)}, got '{value}'",
                        at,
                        parser.pos,
                    )
                values.append(StringAttr(value))
        return values[0], values[1]

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            f"<cache_modifier = {self.cache_modifier.data}, eviction_policy = {self.eviction_policy.data}>"
        )


class MemoryAccessOp(IRDLOperation):
    """
    Base of tt.load and tt.store, printed `operands attr-dict : type($ptr)`, their
    properties (`cachePolicy`, `isVolatile`) in the attribute dictionary as Triton
    prints them.
    """

    cache_policy = opt_prop_def(CachePolicyAttr, prop_name="cachePolicy")
    is_volatile = opt_prop_def(BoolAttr, prop_name="isVolatile")

    _PROPERTIES_IN_ATTR_DICT: ClassVar[tuple[str, ...]] = ("cachePolicy", "isVolatile")

    def _verify_mask(self, ptr: SSAValue, mask: SSAValue | None) -> None:
        _check_elements(ptr, PointerType, "the pointer operand")
        if mask is not None:
            _require(
                mask.type == with_element(ptr.type, i1),
                f"mask type {mask.type} must be {with_element(ptr.type, i1)} "
                f"(i1 in the shape of the pointers)",
            )

    @classmethod
    def _parse_access(cls, parser: Parser, least: int, most: int, types_for) -> MemoryAccessOp:
        """`least` to `most` operands, the attr-dict, `:` and the pointer type."""
        unresolved = [parser.parse_unresolved_operand()]
        for _ in range(least - 1):
            parser.parse_punctuation(",")
            unresolved.append(parser.parse_unresolved_operand())
        while len(unresolved) < most and parser.parse_optional_punctuation(","):
            unresolved.append(parser.parse_unresolved_operand())
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        ptr_type = parser.parse_type()
        try:
            types = types_for(ptr_type)
        except VerifyException as error:
            parser.raise_error(str(error))
        operands = parser.resolve_operands(unresolved, types[: len(unresolved)], parser.pos)
        properties = {k: attributes.pop(k) for k in cls._PROPERTIES_IN_ATTR_DICT if k in attributes}
        op = cls(*operands, properties=properties)
        op.attributes |= attributes
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.operands, printer.print_operand)
        printer.print_op_attributes(
            self.attributes
            | {k: v for k, v in self.properties.items() if k in self._PROPERTIES_IN_ATTR_DICT}
        )
        printer.print_string(" : ")
        printer.print_attribute(self.operands[0].type)


@irdl_op_definition
class LoadOp(MemoryAccessOp):
    """`tt.load %p, %mask, %other : tensor<8x!tt.ptr<f32>>`: masked lanes get `other`."""

    name = "tt.load"

    ptr = operand_def()
    mask = opt_operand_def()
    other = opt_operand_def()
    result = result_def()

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(MemoryReadEffect())

    def __init__(
        self,
        ptr: SSAValue | Operation,
        mask: SSAValue | Operation | None = None,
        other: SSAValue | Operation | None = None,
        properties: dict[str, Attribute] | None = None,
    ):
        ptr = SSAValue.get(ptr)
        super().__init__(
            operands=[ptr, mask, other],
            result_types=[pointee_of(ptr.type)],
            properties=properties or {},
        )

    def verify_(self) -> None:
        self._verify_mask(self.ptr, self.mask)
        pointee = pointee_of(self.ptr.type)
        _require(
            self.result.type == pointee,
            f"load through {self.ptr.type} yields {pointee}, not {self.result.type}",
        )
        if self.other is not None:
            _require(self.mask is not None, "'other' needs a mask")
            _require(
                self.other.type == pointee,
                f"'other' has type {self.other.type}, the loaded values {pointee}",
            )

    @classmethod
    def parse(cls, parser: Parser) -> MemoryAccessOp:
        return cls._parse_access(
            parser, 1, 3, lambda ptr: [ptr, with_element(ptr, i1), pointee_of(ptr)]
        )


@irdl_op_definition
class StoreOp(MemoryAccessOp):
    """`tt.store %p, %v, %mask : tensor<8x!tt.ptr<f32>>`: writes the unmasked lanes."""

    name = "tt.store"

    ptr = operand_def()
    value = operand_def()
    mask = opt_operand_def()

    traits = traits_def(MemoryWriteEffect())

    def __init__(
        self,
        ptr: SSAValue | Operation,
        value: SSAValue | Operation,
        mask: SSAValue | Operation | None = None,
        properties: dict[str, Attribute] | None = None,
    ):
        super().__init__(operands=[ptr, value, mask], properties=properties or {})

    def verify_(self) -> None:
        self._verify_mask(self.ptr, self.mask)
        pointee = pointee_of(self.ptr.type)
        _require(
            self.value.type == pointee,
            f"storing {self.value.type} through {self.ptr.type}, which holds {pointee}",
        )

    @classmethod
    def parse(cls, parser: Parser) -> MemoryAccessOp:
        return cls._parse_access(
            parser, 2, 3, lambda ptr: [ptr, pointee_of(ptr), with_element(ptr, i1)]
        )


# ----------------------------------------------------------------------- reduction


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """
    `tt.reduce`: combines the elements of one or more tensors along an axis with the
    combiner in its region (Triton prints it in generic form):

        %s = "tt.reduce"(%x) <{axis = 0 : i32}> ({
        ^bb0(%a: f32, %b: f32):
          %c = arith.addf %a, %b : f32
          tt.reduce.return %c : f32
        }) : (tensor<1024xf32>) -> f32
    """

    name = "tt.reduce"

    srcs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr[IntegerType])
    result = var_result_def()
    combine_op = region_def("single_block")

    traits = traits_def(Pure())

    def verify_(self) -> None:
        shape, axis = _combined_shape(self, "reduce")
        kept = shape[:axis] + shape[axis + 1 :]
        elements = [element_of(src.type) for src in self.srcs]
        expected = [TensorType(e, kept) if kept else e for e in elements]
        _require(
            list(self.result.types) == expected,
            f"reducing {[str(s.type) for s in self.srcs]} along axis {axis} gives "
            f"{[str(e) for e in expected]}, not {[str(t) for t in self.result.types]}",
        )
        _verify_combiner(self.combine_op.block, elements, ReduceReturnOp)

    def combiner_ops(self) -> list[Operation]:
        """The ops of the combiner, without its terminator."""
        return list(self.combine_op.block.ops)[:-1]


@irdl_op_definition
class ReduceReturnOp(IRDLOperation):
    """`tt.reduce.return %c : f32`: the combiner's result."""

    name = "tt.reduce.return"

    result = var_operand_def()

    traits = traits_def(HasParent(ReduceOp), IsTerminator(), ReturnLike(), Pure())

    assembly_format = "$result attr-dict `:` type($result)"

    def __init__(self, *values: SSAValue | Operation):
        super().__init__(operands=[values])


def _combined_shape(op: ReduceOp | ScanOp, what: str) -> tuple[tuple[int, ...], int]:
    """The one shape of a reduce's or scan's operands, and its axis, checked."""
    _require(len(op.srcs) > 0, f"{what} needs at least one operand")
    shape = shape_of(op.srcs[0].type)
    axis = op.axis.value.data
    _require(0 <= axis < len(shape), f"axis {axis} is out of range for rank {len(shape)}")
    for src in op.srcs:
        _require(shape_of(src.type) == shape, f"{what} operands must share one shape")
    return shape, axis


def _verify_combiner(block: Block, elements: list[Attribute], terminator: type[Operation]) -> None:
    """A combiner takes two of each element type and returns one of each."""
    _require(
        list(block.arg_types) == elements + elements,
        f"the combiner takes two of each element type ({[str(e) for e in elements]}), "
        f"got {[str(t) for t in block.arg_types]}",
    )
    last = block.last_op
    _require(
        isinstance(last, terminator) and list(last.operand_types) == elements,
        f"the combiner must end in {terminator.name} of {[str(e) for e in elements]}",
    )


@irdl_op_definition
class ScanOp(IRDLOperation):
    """
    `tt.scan`: inclusive prefix combination of one or more tensors along an axis
    (`tl.cumsum`, `tl.cumprod`, `tl.associative_scan`), from the end when `reverse`:

        %c = "tt.scan"(%x) <{axis = 0 : i32, reverse = false}> ({
        ^bb0(%a: f32, %b: f32):
          %s = arith.addf %a, %b : f32
          tt.scan.return %s : f32
        }) : (tensor<256xf32>) -> tensor<256xf32>
    """

    name = "tt.scan"

    srcs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr[IntegerType])
    reverse = prop_def(IntegerAttr[IntegerType])
    result = var_result_def()
    combine_op = region_def("single_block")

    traits = traits_def(Pure())

    def verify_(self) -> None:
        _combined_shape(self, "scan")
        _require(
            list(self.result.types) == [src.type for src in self.srcs],
            f"a scan gives tensors of its operands' types, not {[str(t) for t in self.result.types]}",
        )
        _verify_combiner(
            self.combine_op.block, [element_of(s.type) for s in self.srcs], ScanReturnOp
        )


@irdl_op_definition
class ScanReturnOp(IRDLOperation):
    """`tt.scan.return %c : f32`: the combiner's result."""

    name = "tt.scan.return"

    result = var_operand_def()

    traits = traits_def(HasParent(ScanOp), IsTerminator(), ReturnLike(), Pure())

    assembly_format = "$result attr-dict `:` type($result)"


# ------------------------------------------------------------------- conversions

ROUNDINGS = ("rtne",)
"""The rounding modes xnpu computes (Triton also prints `rtz`, which it does not)."""


@irdl_op_definition
class FpToFpOp(IRDLOperation):
    """
    `tt.fp_to_fp %x, rounding = rtne : tensor<8xf16> -> tensor<8xbf16>`: a float
    conversion Triton does not express in `arith` (fp16 <-> bf16, and float8); a
    narrowing one names its rounding, a widening one none.
    """

    name = "tt.fp_to_fp"

    src = operand_def()
    rounding = opt_prop_def(StringAttr)
    result = result_def()

    traits = traits_def(Pure())

    def __init__(self, src: SSAValue, result_type: Attribute, rounding: str | None = None):
        properties = {} if rounding is None else {"rounding": StringAttr(rounding)}
        super().__init__(operands=[src], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        _require(
            shape_of(self.src.type) == shape_of(self.result.type),
            f"operand {self.src.type} and result {self.result.type} differ in shape",
        )
        source, target = element_of(self.src.type), element_of(self.result.type)
        for element in (source, target):
            _require(isinstance(element, AnyFloat), f"converts floats, not {element}")
        if self.rounding is not None:
            _require(
                self.rounding.data in ROUNDINGS,
                f"rounding = {self.rounding.data} is not supported (xnpu rounds "
                f"{', '.join(ROUNDINGS)})",
            )
        elif target.bitwidth < source.bitwidth:
            _require(False, f"narrowing {source} to {target} needs a rounding mode")

    @classmethod
    def parse(cls, parser: Parser) -> FpToFpOp:
        unresolved = parser.parse_unresolved_operand()
        rounding = _optional_setting(parser, "rounding", "a rounding mode, e.g. rtne")
        extra = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        src = parser.resolve_operand(unresolved, parser.parse_type())
        parser.parse_punctuation("->")
        op = cls(src, parser.parse_type(), rounding)
        op.attributes |= extra
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.src)
        if self.rounding is not None:
            printer.print_string(f", rounding = {self.rounding.data}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.src.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)


INPUT_PRECISIONS = ("tf32", "tf32x3", "ieee", "bf16x3", "bf16x6", "bf16")
"""`tl.dot`'s input_precision values Triton 3.9 prints."""


@irdl_op_definition
class DotOp(IRDLOperation):
    """
    `tt.dot %a, %b, %c, inputPrecision = tf32 : tensor<32x16xf16> * tensor<16x64xf16>
    -> tensor<32x64xf32>`: `c + a @ b` over the last two dims (a leading batch dim
    is matched lane by lane); `inputPrecision` says how far fp32 inputs may be rounded
    first (tf32: to a 10-bit mantissa), and is absent for `ieee`.
    """

    name = "tt.dot"

    a = operand_def()
    b = operand_def()
    c = operand_def()
    result = result_def()
    input_precision = opt_prop_def(StringAttr)

    traits = traits_def(Pure())

    def __init__(self, a: SSAValue, b: SSAValue, c: SSAValue, input_precision: str | None = None):
        properties = {}
        if input_precision is not None:
            properties["input_precision"] = StringAttr(input_precision)
        super().__init__(operands=[a, b, c], result_types=[c.type], properties=properties)

    @property
    def precision(self) -> str:
        return "ieee" if self.input_precision is None else self.input_precision.data

    def verify_(self) -> None:
        a, b, c = (shape_of(v.type) for v in (self.a, self.b, self.c))
        _require(
            all(isinstance(v.type, TensorType) for v in (self.a, self.b, self.c)),
            "tt.dot takes tensors",
        )
        _require(len(a) in (2, 3) and len(a) == len(b) == len(c), (
            f"tt.dot multiplies matrices (rank 2) or batches of them (rank 3), not "
            f"{self.a.type} by {self.b.type} into {self.c.type}"
        ))  # fmt: skip
        _require(
            a[-1] == b[-2] and c == (*a[:-1], b[-1]) and a[:-2] == b[:-2],
            f"tt.dot: {self.a.type} * {self.b.type} does not give {self.c.type}",
        )
        _require(self.result.type == self.c.type, "tt.dot's result has its accumulator's type")
        _require(
            element_of(self.a.type) == element_of(self.b.type),
            f"tt.dot's operands have one element type, not {element_of(self.a.type)} and "
            f"{element_of(self.b.type)}",
        )
        _require(
            self.precision in INPUT_PRECISIONS,
            f"inputPrecision = {self.precision} is not one of {', '.join(INPUT_PRECISIONS)}",
        )

    @classmethod
    def parse(cls, parser: Parser) -> DotOp:
        operands = [parser.parse_unresolved_operand()]
        for _ in range(2):
            parser.parse_punctuation(",")
            operands.append(parser.parse_unresolved_operand())
        precision = _optional_setting(parser, "inputPrecision", "an input precision, e.g. tf32")
        extra = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        a_type = parser.parse_type()
        parser.parse_punctuation("*")
        b_type = parser.parse_type()
        parser.parse_punctuation("->")
        c_type = parser.parse_type()
        a, b, c = (parser.resolve_operand(v, t) for v, t in zip(operands, (a_type, b_type, c_type)))
        op = cls(a, b, c, precision)
        op.attributes |= extra
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list((self.a, self.b, self.c), printer.print_operand)
        if self.input_precision is not None:
            printer.print_string(f", inputPrecision = {self.input_precision.data}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.a.type)
        printer.print_string(" * ")
        printer.print_attribute(self.b.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)


@irdl_op_definition
class PreciseSqrtOp(IRDLOperation):
    """`tt.precise_sqrt %x : tensor<8xf32>`: the correctly rounded square root
    (`tl.sqrt_rn`, Inductor's `sqrt`)."""

    name = "tt.precise_sqrt"

    T: ClassVar = VarConstraint("T", AnyAttr())
    x = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure())

    assembly_format = "$x attr-dict `:` type($x)"

    def verify_(self) -> None:
        _check_floats(self.x, "the operand")


@irdl_op_definition
class PreciseDivfOp(IRDLOperation):
    """`tt.precise_divf %x, %y : tensor<8xf32>`: the correctly rounded quotient
    (`tl.div_rn`)."""

    name = "tt.precise_divf"

    T: ClassVar = VarConstraint("T", AnyAttr())
    x = operand_def(T)
    y = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure())

    assembly_format = "$x `,` $y attr-dict `:` type($x)"

    def verify_(self) -> None:
        _check_floats(self.x, "the operands")


@irdl_op_definition
class BitcastOp(IRDLOperation):
    """
    `tt.bitcast %p : tensor<8x!tt.ptr<i1>> -> tensor<8x!tt.ptr<i8>>`: the same bits
    as another type of the same width: a pointer as a pointer to another element
    (Triton loads bool tensors through i8 pointers), or a value as another type.
    """

    name = "tt.bitcast"

    src = operand_def()
    result = result_def()

    traits = traits_def(Pure())

    assembly_format = "$src attr-dict `:` type($src) `->` type($result)"

    def verify_(self) -> None:
        _require(
            shape_of(self.src.type) == shape_of(self.result.type),
            f"operand {self.src.type} and result {self.result.type} differ in shape",
        )
        source, target = element_of(self.src.type), element_of(self.result.type)
        pointers = [isinstance(e, PointerType) for e in (source, target)]
        _require(
            pointers[0] == pointers[1], f"casts {source} to {target}: a pointer to a non-pointer"
        )
        if not pointers[0]:
            widths = [getattr(e, "bitwidth", None) for e in (source, target)]
            _require(
                widths[0] is not None and widths[0] == widths[1],
                f"casts {source} to {target}: the widths differ",
            )


@irdl_op_definition
class AssertOp(IRDLOperation):
    """`tt.assert %ok, "index out of bounds" : tensor<8xi1>`: fails the kernel with the
    message where a lane of the condition is false (`tl.device_assert`, Inductor's
    bounds checks)."""

    name = "tt.assert"

    condition = operand_def()
    message = prop_def(StringAttr)

    assembly_format = "$condition `,` $message attr-dict `:` type($condition)"

    def verify_(self) -> None:
        _require(
            element_of(self.condition.type) == IntegerType(1),
            f"the condition must be i1 or a tensor of i1, got {self.condition.type}",
        )


# ----------------------------------------------------------------- external calls


@irdl_op_definition
class ExternElementwiseOp(IRDLOperation):
    """
    `tt.extern_elementwise %x {libname = "", libpath = "", pure = true,
    symbol = "__nv_erff"} : (tensor<8xf32>) -> tensor<8xf32>`: a library function
    (libdevice) applied element-wise. Which symbols exist is the backend's choice.
    """

    name = "tt.extern_elementwise"

    srcs = var_operand_def()
    libname = prop_def(StringAttr)
    libpath = prop_def(StringAttr)
    symbol = prop_def(StringAttr)
    pure = prop_def(BoolAttr)
    result = result_def()

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$srcs attr-dict `:` functional-type($srcs, $result)"

    def verify_(self) -> None:
        shape = shape_of(self.result.type)
        for src in self.srcs:
            _require(
                shape_of(src.type) == shape,
                f"operand {src.type} and result {self.result.type} differ in shape",
            )


TT = Dialect(
    "tt",
    [
        FuncOp,
        ReturnOp,
        CallOp,
        GetProgramIdOp,
        GetNumProgramsOp,
        MakeRangeOp,
        SplatOp,
        BroadcastOp,
        ExpandDimsOp,
        ReshapeOp,
        AddPtrOp,
        LoadOp,
        StoreOp,
        ReduceOp,
        ReduceReturnOp,
        ScanOp,
        ScanReturnOp,
        FpToFpOp,
        PreciseSqrtOp,
        PreciseDivfOp,
        TransOp,
        DotOp,
        JoinOp,
        SplitOp,
        BitcastOp,
        AssertOp,
        ExternElementwiseOp,
    ],
    [PointerType, CachePolicyAttr],
)
