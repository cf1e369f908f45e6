"""
What each operation costs on the machine model: one price per op, by its name,
whether it works on vectors, and for loads and stores the memory space it touches,
read from the machine's `[scalar]` and `[vector]` tables. The interpreter's cycle
counter charges these prices; the passes' profitability estimates read them too.
"""

from __future__ import annotations

from xdsl.dialects.builtin import BFloat16Type, Float16Type, IndexType, MemRefType, VectorType, i1
from xdsl.ir import Attribute, Operation

from xnpu.dialects.spm import is_scratchpad
from xnpu.machines import Machine

FREE = "free"

APPROXIMATIONS: dict[str, dict[str, int]] = {
    # exp: clamp, scale by log2(e) and round, a two-constant range reduction, a degree-6
    # polynomial, and 2^k built in the exponent bits
    "exp": {"fp_mul": 9, "fp_add": 8, "fp_minmax": 3, "convert": 1, "int_alu": 2},
    # log: split exponent and mantissa in the bits, fold the mantissa to [sqrt(1/2),
    # sqrt(2)), a degree-8 polynomial, and k * ln(2) added back
    "log": {"fp_mul": 11, "fp_add": 11, "int_alu": 4, "convert": 1, "compare": 2, "select": 2},
    # erf: three intervals of |x| each with a rational P3/Q3 (the interval's coefficients
    # picked by selects), one divide, the offset, the clamp to 1 and the sign
    "erf": {"fp_mul": 6, "fp_add": 7, "fp_div": 1, "compare": 4, "select": 18, "fp_minmax": 2},
    # tanh: clamp, an odd rational P7/Q6 in x^2, one divide
    "tanh": {"fp_mul": 8, "fp_add": 7, "fp_div": 1, "fp_minmax": 3, "compare": 1, "select": 1},
    # rsqrt: an exponent-halving first guess and two Newton steps
    "rsqrt": {"fp_mul": 6, "fp_add": 2, "int_alu": 2, "compare": 1, "select": 1},
    # sqrt: x * rsqrt(x), zero kept as zero
    "sqrt": {"fp_mul": 7, "fp_add": 2, "int_alu": 2, "compare": 2, "select": 2},
    # sin, cos: reduction by pi/2 (round, two-constant), an odd or even polynomial of
    # degree 7, the quadrant's sign and swap
    "sin": {"fp_mul": 8, "fp_add": 6, "fp_minmax": 1, "convert": 1, "int_alu": 2,
            "compare": 2, "select": 4},
    # pow: exp(y * log(x)) and the sign and special cases of x
    "pow": {"fp_mul": 21, "fp_add": 19, "fp_minmax": 3, "convert": 2, "int_alu": 6,
            "compare": 4, "select": 4},
}  # fmt: skip
"""The ops a math function becomes (estimate): what a polynomial approximation, such as
MLIR's math-polynomial-approximation rewrites or a libm routine, evaluates per element,
by cost class. Scalar and vector code evaluate the same sequence; its price is the sum
of the machine's own op costs, so a math function has no cost parameter of its own."""
APPROXIMATIONS["cos"] = APPROXIMATIONS["sin"]

MATH_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "math.exp": ("exp",), "math.exp2": ("exp",), "math.expm1": ("exp", "fp_add"),
    "math.log": ("log",), "math.log2": ("log", "fp_mul"), "math.log10": ("log", "fp_mul"),
    "math.log1p": ("log", "fp_add"), "math.erf": ("erf",), "math.tanh": ("tanh",),
    "math.rsqrt": ("rsqrt",), "math.sqrt": ("sqrt",), "math.sin": ("sin",),
    "math.cos": ("cos",), "math.powf": ("pow",), "math.cbrt": ("pow",),
    # functions with no approximation of their own cost what they are computed from
    "math.tan": ("sin", "cos", "fp_div"), "math.atan": ("sin", "fp_div", "select"),
    "math.asin": ("sin", "sqrt", "fp_div"), "math.acos": ("sin", "sqrt", "fp_div"),
    "math.atan2": ("sin", "fp_div", "select"), "math.sinh": ("exp", "fp_div", "fp_add"),
    "math.cosh": ("exp", "fp_div", "fp_add"), "math.asinh": ("log", "sqrt", "fp_mul", "fp_add"),
    "math.acosh": ("log", "sqrt", "fp_mul", "fp_add"), "math.atanh": ("log", "fp_div", "fp_add"),
}  # fmt: skip
"""Math op -> the approximations (APPROXIMATIONS) and single ops it is evaluated by."""


def _sequence(parts: tuple[str, ...]) -> dict[str, int]:
    """Op counts by cost class of approximations and single ops evaluated one after another."""
    counts: dict[str, int] = {}
    for part in parts:
        for cost_class, count in APPROXIMATIONS.get(part, {part: 1}).items():
            counts[cost_class] = counts.get(cost_class, 0) + count
    return counts


COST_CLASS: dict[str, str | dict[str, int]] = {
    **dict.fromkeys(
        ["arith.addi", "arith.subi", "arith.andi", "arith.ori", "arith.xori",
         "arith.shli", "arith.shrsi", "arith.shrui", "arith.maxsi", "arith.minsi",
         "arith.maxui", "arith.minui"], "int_alu"),
    **dict.fromkeys(["arith.muli"], "int_mul"),
    **dict.fromkeys(
        ["arith.divsi", "arith.divui", "arith.remsi", "arith.remui",
         "arith.floordivsi", "arith.ceildivsi", "arith.ceildivui"], "int_div"),
    **dict.fromkeys(["arith.addf", "arith.subf"], "fp_add"),
    **dict.fromkeys(["arith.mulf", "math.fma"], "fp_mul"),
    **dict.fromkeys(["arith.divf", "arith.remf"], "fp_div"),
    **dict.fromkeys(
        ["arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf",
         "arith.negf", "math.absf", "math.floor", "math.ceil", "math.copysign"],
        "fp_minmax"),
    **dict.fromkeys(["arith.cmpi", "arith.cmpf", "cf.assert"], "compare"),
    **dict.fromkeys(["arith.select", "scf.if"], "select"),  # small ifs are predicated
    "vector.broadcast": "int_alu", "vector.reduction": "horizontal_reduce",
    "spm.gather": "spm_gather",
    "vector.shuffle": "int_alu",  # a lane rotation (vror): one HVX permute
    "vector.extract": "int_alu",  # a lane to a scalar register (vextract)
    "vector.fma": "fp_mul",
    **dict.fromkeys(
        ["arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui", "arith.extf",
         "arith.truncf", "arith.extsi", "arith.extui", "arith.trunci"],
        "convert"),
    "arith.bitcast": "int_alu",  # the same register read as another type
    **{name: _sequence(parts) for name, parts in MATH_FUNCTIONS.items()},
    "math.trunc": "fp_minmax", "math.round": "fp_minmax", "math.roundeven": "fp_minmax",
    # free: folded into addressing, immediates, or priced as a whole elsewhere
    **dict.fromkeys(
        ["arith.constant", "arith.index_cast", "scf.yield", "scf.for", "func.return",
         "func.call", "spm.alloc", "spm.copy", "spm.dma_start", "spm.dma_wait",
         "spm.completed", "spm.matmul", "hwctx.parallel", "hwctx.yield", "hwctx.barrier"], FREE),
}  # fmt: skip
"""Op name -> cost class of the machine tables ("free" costs nothing), or the counts of
the classes whose costs add up to its own (a math function's approximation)."""


MEMORY_ACCESSES = {
    "memref.load": "load", "memref.store": "store",
    "vector.load": "load", "vector.store": "store",
}  # fmt: skip
"""Ops priced as loads or stores of the memory space they touch."""


class UnpricedOp(ValueError):
    """An op the machine model cannot price."""


def vector_registers(op: Operation, machine: Machine) -> int:
    """Machine vectors the op's widest vector value spans: a vector<64xf32> (an f16
    loop's values widened to f32) is two 128-byte registers, so its op is issued twice.
    Masks are predicates and indices 32-bit addresses; a vector of masks alone is one."""
    spans = [
        -(-(value.type.element_count() * element_bytes(value.type.element_type))
          // machine.core.vector_bytes)
        for value in (*op.operands, *op.results)
        if isinstance(value.type, VectorType) and value.type.element_type != i1
    ]  # fmt: skip
    return max(spans, default=1)


def element_bytes(element: Attribute) -> int:
    """Bytes of a vector element: an index is a 32-bit address on the NPU."""
    if isinstance(element, IndexType):
        return 4
    return max(1, getattr(element, "bitwidth", 32) // 8)


def op_price(op: Operation, machine: Machine) -> tuple[float, bool, int]:
    """(cycles, runs on the vector unit, DDR bytes it moves) for one execution."""
    is_vector = any(isinstance(v.type, VectorType) for v in (*op.operands, *op.results))
    cycles, is_vector, nbytes = _one_register_price(op, machine, is_vector)
    if is_vector:
        cycles *= vector_registers(op, machine)
    return cycles, is_vector, nbytes


def _one_register_price(
    op: Operation, machine: Machine, is_vector: bool
) -> tuple[float, bool, int]:
    table = machine.vector if is_vector else machine.scalar
    if op.name in MEMORY_ACCESSES:
        kind = MEMORY_ACCESSES[op.name]
        buffer = op.operands[0] if kind == "load" else op.operands[1]
        assert isinstance(buffer.type, MemRefType)
        where = "spm" if is_scratchpad(buffer.type) else "ddr"
        value = op.results[0] if kind == "load" else op.operands[0]
        nbytes = 0
        if where == "ddr":
            element = buffer.type.element_type
            lanes = value.type.element_count() if isinstance(value.type, VectorType) else 1
            nbytes = lanes * element.bitwidth // 8
        return table[f"{where}_{kind}"], is_vector, nbytes
    cost_class = COST_CLASS.get(op.name)
    if cost_class is None:
        raise UnpricedOp(
            f"machine '{machine.name}' has no cost for '{op.name}' (costs/ops.py "
            "maps ops to cost classes)"
        )
    if cost_class == FREE:
        return 0.0, False, 0
    if isinstance(cost_class, dict):
        cycles = sum(table[c] * n for c, n in cost_class.items())
    else:
        cycles = table[cost_class]
    halves = 0 if is_vector else _half_values(op)
    if halves and cost_class == "convert":  # to or from half precision: the routine itself
        cycles = table["half_convert"]
    elif halves and op.name in HALF_WIDENED:
        cycles += table["half_convert"] * halves
    return cycles, is_vector, 0


HALF_WIDENED = frozenset(
    name for name, cost_class in COST_CLASS.items()
    if isinstance(cost_class, dict) or cost_class.startswith("fp_") or name == "arith.cmpf"
)  # fmt: skip
"""Scalar ops that compute in floating point: the scalar core's floating point is single
precision only (Hexagon PRM, "Data processing"; half precision is HVX's), so on fp16 or bf16 values each one widens its
half operands and narrows its half result, a `half_convert` each. (A select moves bits:
it needs none.)"""


def _half_values(op: Operation) -> int:
    return sum(
        isinstance(value.type, Float16Type | BFloat16Type) for value in (*op.operands, *op.results)
    )
