"""
Tensor forms of `arith` ops that Triton prints and xDSL 0.74's `arith` rejects:

    %r = arith.select %mask, %a, %b : tensor<8xi1>, tensor<8xf32>   // tl.where
    %f = arith.sitofp %i : tensor<8xi32> to tensor<8xf32>           // .to(tl.float32)
    %w = arith.extsi %i : tensor<8xi32> to tensor<8xi64>            // int64 offsets
    %m = arith.remf %a, %b : tensor<8xf32>                          // tl.fmod / %
    %c = arith.cmpi slt, %i, %n : tensor<8xi32>                     // -> tensor<8xi1>

Each class here parses and prints both forms as MLIR does, but only the forms xDSL's
own class rejects are built as xnpu's: an op that xDSL's class verifies (every scalar
form) is built as xDSL's class, with its folds, canonicalization patterns and
interpreter functions. So ordinary IR read by `xdsl-opt` or `xdsl-run` with xnpu
installed holds exactly the ops it holds without xnpu. xDSL allows one `arith`
dialect per context: `extend_arith()` lets these classes read the names in xDSL's
`Arith` dialect object (called by `xnpu.dialects.xdsl_compat.install`).

    arith.select %c, %a, %b : f32                          -> xdsl.dialects.arith.SelectOp
    arith.select %m, %a, %b : tensor<8xi1>, tensor<8xf32>  -> arith_tensor.SelectOp
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat, IndexType, IntegerAttr, IntegerType, i1
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    VarConstraint,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xnpu.dialects.tt import SHAPED, element_of, shape_of, with_element

_Op = TypeVar("_Op", bound=type[IRDLOperation])


def _stock_when_valid(stock: type[IRDLOperation]) -> Callable[[_Op], _Op]:
    """Makes a class build xDSL's `stock` class instead whenever `stock` verifies the
    op (parsed in either syntax, created, or cloned)."""

    def decorate(cls: _Op) -> _Op:
        parse_as_xnpu = cls.parse
        create_as_xnpu = cls.create

        def as_stock_if_valid(op: Operation) -> Operation:
            candidate = stock.create(
                operands=op.operands,
                result_types=op.result_types,
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
            try:
                candidate.verify()
            except VerifyException:
                candidate.drop_all_references()
                return op
            op.drop_all_references()
            return candidate

        def parse(parser: Parser) -> Operation:
            return as_stock_if_valid(parse_as_xnpu(parser))

        def create(**kwargs) -> Operation:
            return as_stock_if_valid(create_as_xnpu(**kwargs))

        cls.parse = classmethod(lambda _, parser: parse(parser))  # pyright: ignore
        cls.create = classmethod(lambda _, **kwargs: create(**kwargs))  # pyright: ignore
        cls.stock = stock  # pyright: ignore[reportAttributeAccessIssue]
        return cls

    return decorate


@_stock_when_valid(arith.SelectOp)
@irdl_op_definition
class SelectOp(IRDLOperation):
    """`arith.select`: per lane when the condition is a tensor or vector, whole values
    when i1."""

    name = "arith.select"

    cond = operand_def()
    lhs = operand_def()
    rhs = operand_def()
    result = result_def()

    traits = traits_def(Pure())

    def __init__(
        self, cond: SSAValue | Operation, lhs: SSAValue | Operation, rhs: SSAValue | Operation
    ):
        super().__init__(operands=[cond, lhs, rhs], result_types=[SSAValue.get(lhs).type])

    def verify_(self) -> None:
        if not (self.lhs.type == self.rhs.type == self.result.type):
            raise VerifyException(
                f"both choices and the result must share one type, got "
                f"{self.lhs.type}, {self.rhs.type} -> {self.result.type}"
            )
        if element_of(self.cond.type) != i1:
            raise VerifyException(
                f"the condition must be i1 or a tensor of i1, got {self.cond.type}"
            )
        if isinstance(self.cond.type, SHAPED) and shape_of(self.cond.type) != shape_of(
            self.result.type
        ):
            raise VerifyException(
                f"condition shape {list(shape_of(self.cond.type))} differs from value "
                f"shape {list(shape_of(self.result.type))}"
            )

    @classmethod
    def parse(cls, parser: Parser) -> SelectOp:
        names = [parser.parse_unresolved_operand()]
        for _ in range(2):
            parser.parse_punctuation(",")
            names.append(parser.parse_unresolved_operand())
        extra = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        cond_type = value_type = parser.parse_type()
        if parser.parse_optional_punctuation(","):
            value_type = parser.parse_type()
        else:
            cond_type = i1
        op = cls(*parser.resolve_operands(names, [cond_type, value_type, value_type], parser.pos))
        op.attributes |= extra
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.operands, printer.print_operand)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        if isinstance(self.cond.type, SHAPED):
            printer.print_attribute(self.cond.type)
            printer.print_string(", ")
        printer.print_attribute(self.result.type)


ElementKind = tuple[object, str]
"""What an element type must be an instance of, and how to say so in a diagnostic."""

_INT: ElementKind = (IntegerType, "an integer type")
_FLOAT: ElementKind = (AnyFloat, "a float type")
_INT_OR_INDEX: ElementKind = ((IntegerType, IndexType), "an integer or index type")

CAST_RULES: dict[str, tuple[ElementKind, ElementKind, str | None]] = {
    "arith.sitofp": (_INT, _FLOAT, None),
    "arith.uitofp": (_INT, _FLOAT, None),
    "arith.fptosi": (_FLOAT, _INT, None),
    "arith.fptoui": (_FLOAT, _INT, None),
    "arith.extsi": (_INT, _INT, "widen"),
    "arith.extui": (_INT, _INT, "widen"),
    "arith.trunci": (_INT, _INT, "narrow"),
    "arith.index_cast": (_INT_OR_INDEX, _INT_OR_INDEX, None),
}
"""Per cast: the source and target element kinds, and how the bit width must change."""


def _bit_width(element: Attribute) -> int:
    if isinstance(element, IntegerType):
        return element.width.data
    assert isinstance(element, AnyFloat)
    return element.bitwidth


class CastOp(IRDLOperation):
    """
    Base of the casts `$input attr-dict : type($input) to type($result)`, on scalars or
    on tensors of one shape, checked against `CAST_RULES`.
    """

    input = operand_def()
    result = result_def()

    traits = traits_def(Pure())

    assembly_format = "$input attr-dict `:` type($input) `to` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: Attribute):
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        source_kind, target_kind, width = CAST_RULES[self.name]
        source, target = element_of(self.input.type), element_of(self.result.type)
        if shape_of(self.input.type) != shape_of(self.result.type) or (
            isinstance(self.input.type, SHAPED) != isinstance(self.result.type, SHAPED)
        ):
            raise VerifyException(
                f"cast changes the shape: {self.input.type} to {self.result.type}"
            )
        for what, element, (kinds, description) in (
            ("source", source, source_kind),
            ("target", target, target_kind),
        ):
            if not isinstance(element, kinds):
                raise VerifyException(
                    f"{self.name}: the {what} element type must be {description}, got {element}"
                )
        if width == "widen" and not _bit_width(target) > _bit_width(source):
            raise VerifyException(f"{self.name} must widen: {source} to {target}")
        if width == "narrow" and not _bit_width(target) < _bit_width(source):
            raise VerifyException(f"{self.name} must narrow: {source} to {target}")


@_stock_when_valid(arith.SIToFPOp)
@irdl_op_definition
class SIToFPOp(CastOp):
    name = "arith.sitofp"


@_stock_when_valid(arith.UIToFPOp)
@irdl_op_definition
class UIToFPOp(CastOp):
    name = "arith.uitofp"


@_stock_when_valid(arith.FPToSIOp)
@irdl_op_definition
class FPToSIOp(CastOp):
    name = "arith.fptosi"


@_stock_when_valid(arith.FPToUIOp)
@irdl_op_definition
class FPToUIOp(CastOp):
    name = "arith.fptoui"


@_stock_when_valid(arith.ExtSIOp)
@irdl_op_definition
class ExtSIOp(CastOp):
    name = "arith.extsi"


@_stock_when_valid(arith.ExtUIOp)
@irdl_op_definition
class ExtUIOp(CastOp):
    name = "arith.extui"


@_stock_when_valid(arith.TruncIOp)
@irdl_op_definition
class TruncIOp(CastOp):
    name = "arith.trunci"


@_stock_when_valid(arith.IndexCastOp)
@irdl_op_definition
class IndexCastOp(CastOp):
    name = "arith.index_cast"

    def verify_(self) -> None:
        super().verify_()
        if isinstance(element_of(self.input.type), IndexType) == isinstance(
            element_of(self.result.type), IndexType
        ):
            raise VerifyException("arith.index_cast converts between index and an integer type")


COMPARISON_PREDICATES: dict[str, tuple[str, ...]] = {
    "arith.cmpi": tuple(arith.CMPI_COMPARISON_OPERATIONS),
    "arith.cmpf": tuple(arith.CMPF_COMPARISON_OPERATIONS),
}
"""The predicates of each comparison, in the order of their integer encoding."""


class ComparisonOp(IRDLOperation):
    """
    Base of `arith.cmpi slt, %a, %b : tensor<8xi32>`: the result is i1, in the shape
    of the operands (xDSL 0.74 gives i1 even for tensors).
    """

    T: ClassVar = VarConstraint("T", AnyAttr())
    lhs = operand_def(T)
    rhs = operand_def(T)
    predicate = prop_def(IntegerAttr)
    result = result_def()

    traits = traits_def(Pure())

    def __init__(self, predicate: str, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        lhs = SSAValue.get(lhs)
        super().__init__(
            operands=[lhs, rhs],
            properties={"predicate": IntegerAttr(self.predicates().index(predicate), 64)},
            result_types=[with_element(lhs.type, i1)],
        )

    @classmethod
    def predicates(cls) -> tuple[str, ...]:
        return COMPARISON_PREDICATES[cls.name]

    @property
    def predicate_name(self) -> str:
        return self.predicates()[self.predicate.value.data]

    ELEMENTS: ClassVar[ElementKind]
    """What the compared elements must be."""

    def verify_(self) -> None:
        kinds, description = self.ELEMENTS
        if not isinstance(element_of(self.lhs.type), kinds):
            raise VerifyException(
                f"{self.name} compares {description}, not {self.lhs.type}"
                + ("; use arith.cmpf" if self.name == "arith.cmpi" else "; use arith.cmpi")
            )
        if not 0 <= self.predicate.value.data < len(self.predicates()):
            raise VerifyException(
                f"{self.name}: predicate {self.predicate.value.data} is out of range"
            )
        if self.result.type != with_element(self.lhs.type, i1):
            raise VerifyException(
                f"comparing {self.lhs.type} gives {with_element(self.lhs.type, i1)}, not {self.result.type}"
            )

    TAKES_FASTMATH: ClassVar[bool] = False
    """Whether `fastmath<...>` may follow the operands (cmpf)."""

    @classmethod
    def parse(cls, parser: Parser):
        at = parser.pos
        predicate = parser.parse_identifier(" (a comparison predicate)")
        if predicate not in cls.predicates():
            parser.raise_error(
                f"unknown predicate '{predicate}' for {cls.name}: one of {', '.join(cls.predicates())}",
                at,
                parser.pos,
            )
        parser.parse_punctuation(",")
        names = [parser.parse_unresolved_operand()]
        parser.parse_punctuation(",")
        names.append(parser.parse_unresolved_operand())
        flags = None
        if cls.TAKES_FASTMATH and parser.parse_optional_keyword("fastmath"):
            flags = arith.FastMathFlagsAttr(arith.FastMathFlagsAttr.parse_parameter(parser))
        extra = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        type = parser.parse_type()
        op = cls(predicate, *parser.resolve_operands(names, [type, type], parser.pos))
        if flags is not None:
            op.properties["fastmath"] = flags
        op.attributes |= extra
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.predicate_name}, ")
        printer.print_list(self.operands, printer.print_operand)
        flags = self.properties.get("fastmath")
        if isinstance(flags, arith.FastMathFlagsAttr) and flags.data:
            printer.print_string(" fastmath")
            flags.print_parameter(printer)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.lhs.type)


@_stock_when_valid(arith.CmpiOp)
@irdl_op_definition
class CmpIOp(ComparisonOp):
    name = "arith.cmpi"
    ELEMENTS: ClassVar[ElementKind] = _INT_OR_INDEX


@_stock_when_valid(arith.CmpfOp)
@irdl_op_definition
class CmpFOp(ComparisonOp):
    """`arith.cmpf`, with MLIR's optional fast-math flags (`fastmath<fast>` before
    the type; "none" is not printed)."""

    name = "arith.cmpf"
    ELEMENTS: ClassVar[ElementKind] = _FLOAT

    fastmath = opt_prop_def(arith.FastMathFlagsAttr)

    TAKES_FASTMATH: ClassVar[bool] = True


@irdl_op_definition
class RemFOp(IRDLOperation):
    """`arith.remf %a, %b : f32`: the remainder of a / b, with the sign of a (C fmod)."""

    name = "arith.remf"

    T: ClassVar = VarConstraint("T", AnyAttr())
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($result)"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        super().__init__(operands=[lhs, rhs], result_types=[SSAValue.get(lhs).type])

    def verify_(self) -> None:
        if not isinstance(element_of(self.result.type), AnyFloat):
            raise VerifyException(f"arith.remf takes floats, got {self.result.type}")


TENSOR_ARITH_OPS: tuple[type[Operation], ...] = (
    SelectOp,
    CmpIOp,
    CmpFOp,
    SIToFPOp,
    UIToFPOp,
    FPToSIOp,
    FPToUIOp,
    ExtSIOp,
    ExtUIOp,
    TruncIOp,
    IndexCastOp,
    RemFOp,
)


def extend_arith() -> None:
    """Put the ops above in xDSL's `Arith` dialect, in place of its own (idempotent)."""
    operations = arith.Arith._operations  # pyright: ignore[reportPrivateUsage]
    by_name = {op.name: i for i, op in enumerate(operations)}
    for op in TENSOR_ARITH_OPS:
        if op.name in by_name:
            operations[by_name[op.name]] = op
        else:
            operations.append(op)


SHAPED_FORMS: dict[type[Operation], type[Operation]] = {
    op.stock: op for op in TENSOR_ARITH_OPS if hasattr(op, "stock")
}
"""xDSL's class -> xnpu's class of the same op, which takes tensor and vector forms."""


def both_forms(*ops: type[Operation]) -> tuple[type[Operation], ...]:
    """xnpu's classes of `ops` with xDSL's own, for isinstance checks: a scalar op of
    one of these names is xDSL's class, a shaped one may be xnpu's."""
    return (*ops, *(op.stock for op in ops if hasattr(op, "stock")))


def predicate_name(op: Operation) -> str:
    """The predicate of an `arith.cmpi`/`arith.cmpf` of either class, by name."""
    return COMPARISON_PREDICATES[op.name][op.properties["predicate"].value.data]


def shaped_create(
    op: Operation, operands: Sequence[SSAValue], result_types: Sequence[Attribute]
) -> Operation:
    """`op` rebuilt on new operands and result types (vectors, say), as xnpu's class
    when xDSL's own cannot hold the new form."""
    kind = SHAPED_FORMS.get(type(op), type(op))
    return kind.create(
        operands=operands,
        result_types=result_types,
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )
