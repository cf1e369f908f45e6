"""
Random Triton kernels from a seed: the fuzzer's generator.

`generate(seed, index)` writes one kernel as Python source with its launches. Every
access is in bounds by construction: each buffer is sized from the range of the
offsets that reach it, and every masked-off lane that a value is read from has an
`other=`. What a kernel exercises is listed in its `features` (one value per
category), so a run can be counted by category.

Two families:

* map: a block of rank 1 to 3 over a tensor, each dimension tiled over a grid axis
  (`program_id(0)` or `(1)`) or whole (no program_id term); lanes straight, reversed
  or strided, offsets shifted by constants or by two-sided windows, row strides
  constexpr or runtime; an expression tree over several loads (full, broadcast rows,
  scalar loads), scalar arguments and constants; optionally a reduction (sum, max,
  min, argmax, argmin) along any axis, broadcast back and stored.
* loop: rows of a matrix walked in chunks by a `for` loop, with a pointer bumped each
  iteration or offsets recomputed, carrying an accumulator tile and a running
  maximum; the row sums stored, and a second loop writing each chunk scaled by them.
* dot: `tl.dot` of an M x K and a K x N block (sizes ragged or not), over a K loop
  into an accumulator or one dot with or without one, its B operand stored as is or
  transposed (`tl.trans`), output tiles over a 1-D or 2-D grid, and an epilogue
  (a bias row, a scale, a relu) before the store.

bf16 values are widened to fp32 once loaded and narrowed when stored (Triton's
interpreter cannot compute in bf16); fp16 values are computed on as they are.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

DTYPES = ("fp32", "fp16", "bf16", "i32")
TL_DTYPE = {"fp32": "tl.float32", "fp16": "tl.float16", "bf16": "tl.bfloat16", "i32": "tl.int32"}
MAX_PROGRAMS = 64
"""Programs a launch may have: Triton's interpreter, the oracle, runs them one by one."""
MAX_TRIPS = 32
MAX_ITERATIONS = 512
"""A loop's trips, and its trips over all programs: the oracle interprets each."""


@dataclass(frozen=True)
class Buffer:
    """A pointer argument: its element type, how many elements it needs, and whether
    the kernel writes it (then its initial values are a pattern the kernel must leave
    wherever it does not store)."""

    dtype: str
    elements: int
    written: bool


@dataclass
class Launch:
    grid: tuple[int, ...]
    values: dict[str, object]
    """Each runtime parameter's value: a Buffer for a pointer, a number for a scalar."""


@dataclass
class FuzzKernel:
    seed: int
    index: int
    name: str
    source: str
    parameters: list[str]
    """The runtime parameters in order (the constexprs are not among them)."""
    signature: dict[str, str]
    constexprs: dict[str, int]
    launches: list[Launch]
    features: dict[str, str]
    half_sum: int = 0
    """Lanes an fp16 `tl.sum` adds (0: none). Triton leaves a sum's order open, and
    half-precision sums of n terms in different orders differ by about n units of
    roundoff: the runner allows that much more in every output."""

    @property
    def case_id(self) -> str:
        return f"{self.seed}:{self.index}"


class _Source:
    """The kernel's body, a line at a time, with fresh names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def let(self, prefix: str, expression: str, indent: int = 1) -> str:
        name = self.fresh(prefix)
        self.lines.append("    " * indent + f"{name} = {expression}")
        return name

    def line(self, text: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + text)


@dataclass
class _Kernel:
    """What the generator has decided so far."""

    rng: random.Random
    dtype: str
    src: _Source = field(default_factory=_Source)
    params: list[tuple[str, str]] = field(default_factory=list)
    """(name, Triton type) of every runtime parameter, in order."""
    constexprs: dict[str, int] = field(default_factory=dict)
    buffers: dict[str, Buffer] = field(default_factory=dict)
    scalars: dict[str, object] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)
    half_sum: int = 0

    def pointer(self, prefix: str, buffer: Buffer) -> str:
        name = f"{prefix}{len(self.buffers)}_ptr"
        self.params.append((name, f"*{buffer.dtype}"))
        self.buffers[name] = buffer
        return name

    def scalar(self, name: str, kind: str, value) -> str:
        self.params.append((name, kind))
        self.scalars[name] = value
        return name

    def widened(self, value: str, dtype: str | None = None, indent: int = 1) -> str:
        """A loaded bf16 value widened to fp32, as Inductor's kernels do: Triton's
        interpreter, the oracle, cannot compute in bf16 (it works on the bits)."""
        if (dtype or self.dtype) != "bf16":
            return value
        return self.src.let("w", f"{value}.to(tl.float32)", indent)

    def constexpr(self, name: str, value: int) -> str:
        self.constexprs[name] = value
        return name

    def size(self, name: str, value: int) -> str:
        """A size known at run time (an i32 argument) or at compile time (a literal)."""
        if self.rng.random() < 0.7:
            return self.scalar(name, "i32", value)
        return str(value)


def generate(seed: int, index: int) -> FuzzKernel:
    """Kernel `index` of `seed`: the same pair always gives the same kernel."""
    rng = random.Random(f"xnpu-fuzz:{seed}:{index}")
    dtype = rng.choices(DTYPES, weights=(5, 2, 2, 2))[0]
    kernel = _Kernel(rng, dtype)
    family = rng.choices(("map", "loop", "dot"), weights=(4, 1, 1))[0]
    if family == "dot" and dtype == "i32":  # Triton's integer dot takes int8
        dtype = kernel.dtype = "fp32"
    kernel.features["family"] = family
    kernel.features["dtype"] = dtype
    grid = {"map": _map, "loop": _loop, "dot": _dot}[family](kernel)
    name = f"fuzz_{seed}_{index}"
    parameters = [p for p, _ in kernel.params]
    header = ", ".join([*parameters, *(f"{c}: tl.constexpr" for c in kernel.constexprs)])
    source = "\n".join(
        [
            "import triton",
            "import triton.language as tl",
            "",
            "",
            "@triton.jit",
            f"def {name}({header}):",
            *kernel.src.lines,
            "",
        ]
    )
    values = {**kernel.buffers, **kernel.scalars}
    return FuzzKernel(
        seed=seed,
        index=index,
        name=name,
        source=source,
        parameters=parameters,
        signature=dict(kernel.params),
        constexprs=dict(kernel.constexprs),
        launches=[Launch(grid, {p: values[p] for p in parameters})],
        features=kernel.features,
        half_sum=kernel.half_sum,
    )


# ---------------------------------------------------------------- the map family


@dataclass
class _Dim:
    size: int
    block: int
    axis: int | None
    """The grid axis that tiles it, or None: a whole dimension, no program_id term."""
    bound: str = ""
    """The size as the kernel reads it: an argument's name or a literal."""

    @property
    def programs(self) -> int:
        return 1 if self.axis is None else -(-self.size // self.block)

    @property
    def ragged(self) -> bool:
        return self.size != self.block * self.programs


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


LARGEST_LOG = {1: 18, 2: 14, 3: 12}
"""log2 of the most elements a kernel of each rank covers (xnpu walks a block's outer
dimensions one by one: larger 2-D and 3-D ones take seconds a run)."""


def _split_size(rng: random.Random, rank: int) -> list[int]:
    """Sizes of `rank` dimensions whose product is about 16 to 2^LARGEST_LOG elements,
    some powers of two and some ragged."""
    total_log = rng.uniform(4, LARGEST_LOG[rank])
    shares = sorted(rng.random() for _ in range(rank - 1))
    logs = [b - a for a, b in zip([0.0, *shares], [*shares, 1.0])]
    sizes = []
    for share in logs:
        log = max(0.0, total_log * share)
        exact = 1 << round(log)
        sizes.append(exact if rng.random() < 0.5 else max(1, round(2**log) + rng.randint(-3, 3)))
    return sizes


def _choose_blocks(rng: random.Random, sizes: list[int]) -> list[_Dim]:
    """Whole or tiled dimensions (at most two grid axes), blocks within Triton's limits
    and programs within MAX_PROGRAMS."""
    rank = len(sizes)
    tiled = [d for d in range(rank) if rng.random() < 0.6][:2]
    axes = [0, 1]
    rng.shuffle(axes)
    dims = []
    for d, size in enumerate(sizes):
        if d in tiled:
            axis = axes[tiled.index(d)]
            block = 1 << rng.randint(0, max(0, min(12, size.bit_length() - 1)))
            dims.append(_Dim(size, block, axis))
        else:
            dims.append(_Dim(size, _pow2_at_least(size) << rng.choice((0, 0, 0, 1)), None))
    # at most MAX_PROGRAMS: widen the blocks of the dimension with the most programs
    while math.prod(d.programs for d in dims) > MAX_PROGRAMS:
        widest = max((d for d in dims if d.axis is not None), key=lambda d: d.programs)
        widest.block *= 2
    while math.prod(d.block for d in dims) > 2**18:
        largest = max(dims, key=lambda d: d.block)
        if largest.axis is None:
            break
        largest.block //= 2
    return dims


def _expand(d: int, rank: int) -> str:
    """The indexing that makes a 1-D range dimension `d` of a rank-`rank` block."""
    if rank == 1:
        return ""
    return "[" + ", ".join(":" if i == d else "None" for i in range(rank)) + "]"


def _map(k: _Kernel) -> tuple[int, ...]:
    rng, src = k.rng, k.src
    rank = rng.choices((1, 2, 3), weights=(5, 4, 2))[0]
    dims = _choose_blocks(rng, _split_size(rng, rank))
    k.features["rank"] = f"{rank}-D"
    grid_axes = sorted({d.axis for d in dims if d.axis is not None})
    k.features["grid"] = "2-D" if 1 in grid_axes else "1-D"
    k.features["program_id"] = (
        "none" if not grid_axes else "all dims" if len(grid_axes) == rank else "some dims"
    )
    blocks = [k.constexpr(f"B{d}", dim.block) for d, dim in enumerate(dims)]
    for d, dim in enumerate(dims):
        dim.bound = k.size(f"n{d}", dim.size)
    reversed_dims = {d for d in range(rank) if rng.random() < 0.15}
    k.features["lanes"] = "reversed" if reversed_dims else "straight"
    pids = {axis: src.let("pid", f"tl.program_id({axis})") for axis in grid_axes}
    index, reverse, ranges = [], [], []
    for d, dim in enumerate(dims):
        lanes = f"tl.arange(0, {blocks[d]})"
        start = "" if dim.axis is None else f"{pids[dim.axis]} * {blocks[d]} + "
        ranges.append(f"({start}{lanes})")
        index.append(src.let("i", f"{ranges[-1]}{_expand(d, rank)}"))
        if d in reversed_dims:
            back = f"({blocks[d]} - 1 - {lanes})"
            reverse.append(src.let("r", f"({start}{back}){_expand(d, rank)}"))
        else:
            reverse.append(index[-1])
    needs_mask = any(dim.ragged for dim in dims) or rng.random() < 0.3
    k.features["mask"] = "none" if not needs_mask else f"{rank}-D" if rank > 1 else "one-sided"
    k.features["size"] = _size_class(dims)

    def access(prefix: str, dtype: str, written: bool, dims_used=None, **how):
        """A pointer's offsets over the block (or over `dims_used` of it), its mask and
        the buffer it needs."""
        used = list(range(rank)) if dims_used is None else dims_used
        lanes = [(reverse if how.get("reversed") else index)[d] for d in used]
        inner = how.get("inner_stride", 1)
        shift = how.get("shift", 0)
        window = how.get("window", 0)
        strides, extent = [], 1
        for position, d in reversed(list(enumerate(used))):
            if position == len(used) - 1:
                stride = inner
                extent = inner * (dims[d].size - 1) + 1
            else:
                padded = extent + how.get("pad", 0)
                stride = padded
                extent = padded * (dims[d].size - 1) + extent
            strides.insert(0, stride)
        terms, bounds = [], []
        for key in how:
            if key != "runtime_stride" or len(used) > 1:
                k.features[f"offsets:{key}"] = "yes"
        tighter = how.get("tighter", 0)
        for (position, d), stride in zip(enumerate(used), strides):
            at = lanes[position] if not window else f"({lanes[position]} - {window})"
            if window:
                bounds.append(f"({at} >= 0)")
            if needs_mask or window or tighter:
                bound = f"({dims[d].bound} - {tighter})" if tighter else dims[d].bound
                bounds.append(f"({at} < {bound})")
            if stride == 1:
                terms.append(at)
            elif position < len(used) - 1 and how.get("runtime_stride"):
                terms.append(f"{at} * {k.scalar(src.fresh('stride'), 'i32', stride)}")
            else:
                terms.append(f"{at} * {stride}")
        buffer = Buffer(dtype, shift + extent, written)
        pointer = k.pointer(prefix, buffer)
        offsets = " + ".join(terms) + (f" + {shift}" if shift else "")
        mask = " & ".join(bounds) if bounds else None
        return f"{pointer} + {offsets}", mask

    def how_to_reach(storing: bool = False) -> dict:
        """How an access reaches its elements beyond the block's own offsets."""
        how = {}
        roll = rng.random()
        if roll < 0.15 and reversed_dims:
            how["reversed"] = True
        elif roll < 0.3:
            how["shift"] = rng.choice((1, 3, 17, 64))
        elif roll < 0.42:
            how["window"] = rng.choice((1, 2, 5))
        elif roll < 0.5 and not storing:
            how["tighter"] = rng.choice((1, 3))
        if rng.random() < 0.15:
            how["inner_stride"] = rng.choice((2, 3))
        if rng.random() < 0.3:
            how["pad"] = rng.choice((1, 8, 32))
        if rng.random() < 0.4:
            how["runtime_stride"] = True
        return how

    accesses: list[tuple[str, str | None, str]] = []
    """Each full load's pointer, mask and buffer: one may be stored back in place."""

    def load(dims_used=None, other=None, exact=False, dtype=None) -> str:
        dtype = dtype or k.dtype
        how = {} if exact else how_to_reach()
        pointer, mask = access("x", dtype, False, dims_used, **how)
        if dims_used is None:
            accesses.append((pointer, mask, list(k.buffers)[-1]))
        if mask is None:
            return k.widened(src.let("x", f"tl.load({pointer})"), dtype)
        if other is None:
            other = "0" if dtype == "i32" else "0.0"
            if rng.random() < 0.5:
                other = "2" if dtype == "i32" else "-1.5"
        k.features["other="] = "yes"
        return k.widened(src.let("x", f"tl.load({pointer}, mask={mask}, other={other})"), dtype)

    leaves = [load() for _ in range(rng.randint(1, 3))]
    if rank > 1 and rng.random() < 0.3:
        used = sorted(rng.sample(range(rank), rng.randint(1, rank - 1)))
        leaves.append(load(dims_used=used))
        k.features["broadcast load"] = "yes"
    if rng.random() < 0.25:
        scale = k.pointer("s", Buffer(k.dtype, _programs(dims), False))
        at = f" + {pids[grid_axes[0]]}" if grid_axes and len(grid_axes) == 1 else ""
        if len(grid_axes) == 2:
            at = f" + {pids[0]} * {_programs_on(dims, 1)} + {pids[1]}"
        leaves.append(k.widened(src.let("s", f"tl.load({scale}{at})")))
        k.features["scalar load"] = "yes"
    if k.dtype != "i32" and rng.random() < 0.2:
        leaves.append(load(dtype=rng.choice([t for t in ("fp32", "fp16", "bf16") if t != k.dtype])))
        k.features["mixed dtypes"] = "yes"
    if rng.random() < 0.2:  # the element's index, as a value
        d = rng.randrange(rank)
        as_value = "" if k.dtype == "i32" else f".to({TL_DTYPE[k.dtype]})"
        leaves.append(k.widened(src.let("v", f"{index[d]}{as_value}")))
        k.features["index as value"] = "yes"
    if grid_axes and rng.random() < 0.15:
        as_value = "" if k.dtype == "i32" else f".to({TL_DTYPE[k.dtype]})"
        leaves.append(k.widened(src.let("v", f"({pids[rng.choice(grid_axes)]} + 0){as_value}")))
        k.features["program_id as value"] = "yes"
    if rng.random() < 0.3:
        value = rng.choice((-3, 2, 5)) if k.dtype == "i32" else rng.choice((0.5, -1.25, 3.0))
        leaves.append(k.scalar("alpha", "i32" if k.dtype == "i32" else "fp32", value))
        k.features["scalar argument"] = "yes"
    expression = _expression(k, leaves, depth=rng.randint(1, 3))
    if rng.random() < 0.35:
        expression = _reduction(k, dims, ranges, needs_mask, load, expression)
    in_place = [a for a in accesses if k.buffers[a[2]].dtype == k.dtype]
    if in_place and rng.random() < 0.12:
        pointer, mask, buffer = in_place[0]
        k.buffers[buffer] = replace(k.buffers[buffer], written=True)
        k.features["store"] = "in place"
    else:
        how = how_to_reach(storing=True)
        pointer, mask = access("out", k.dtype, True, **how)
        k.features["store"] = "shifted or strided" if how else "straight"
    value = f"({expression}).to({TL_DTYPE[k.dtype]})"
    src.line(f"tl.store({pointer}, {value}" + (f", mask={mask})" if mask else ")"))
    grid = tuple(_programs_on(dims, axis) for axis in range(max(grid_axes, default=0) + 1))
    return grid


def _programs(dims: list[_Dim]) -> int:
    return math.prod(d.programs for d in dims)


def _programs_on(dims: list[_Dim], axis: int) -> int:
    return math.prod(d.programs for d in dims if d.axis == axis)


def _size_class(dims: list[_Dim]) -> str:
    if any(d.size < d.block and d.axis is None for d in dims):
        return "n < BLOCK"
    if any(d.ragged for d in dims):
        return "ragged tail"
    return "exact"


def _expression(k: _Kernel, leaves: list[str], depth: int) -> str:
    """A random expression over `leaves`; conditions test leaves only, so both sides
    pick the same branch whatever their rounding."""
    rng = k.rng
    floating = k.dtype != "i32"
    scalars = set(k.scalars)
    tensors = [leaf for leaf in leaves if leaf not in scalars]
    plain = set()  # Python numbers in Triton's interpreter: no .to(), no tl.exp()

    def tree(level: int) -> str:
        if level == 0 or rng.random() < 0.2:
            leaf = rng.choice(leaves)
            if rng.random() < 0.15:
                leaf = rng.choice(("2", "3")) if not floating else rng.choice(("0.5", "1.5"))
            if leaf in scalars or leaf[0].isdigit():
                plain.add(leaf)
            return leaf
        a, b = tree(level - 1), tree(level - 1)
        if a in plain:
            a, b = b, a
        if a in plain:
            a = tensors[0]
        ops = ["+", "-", "*", "max", "min", "where"]
        if floating:
            ops += ["/", "exp", "log", "sqrt", "sigmoid", "cast", "abs"]
        else:
            ops += ["&", "^", ">>"]
        op = rng.choice(ops)
        k.features.setdefault(f"op:{op}", "yes")
        match op:
            case "+" | "-" | "*" | "&" | "^":
                return f"({a} {op} {b})"
            case ">>":
                return f"({a} >> {rng.randint(0, 3)})"
            case "/":
                return f"({a} / (tl.abs({b}) + 1.0))"
            case "max":
                return f"tl.maximum({a}, {b})"
            case "min":
                return f"tl.minimum({a}, {b})"
            case "where":
                test = rng.choice(tensors)
                return f"tl.where({test} > {'0' if not floating else '0.25'}, {a}, {b})"
            case "exp":
                return f"tl.exp(tl.minimum({a}.to(tl.float32), 8.0))"
            case "log":
                return f"tl.log(tl.abs({a}.to(tl.float32)) + 1.0)"
            case "sqrt":
                return f"tl.sqrt(tl.abs({a}.to(tl.float32)))"
            case "sigmoid":
                return f"tl.sigmoid({a}.to(tl.float32))"
            case "cast":  # bf16 goes back to fp32 at once (see _Kernel.widened)
                narrow = rng.choice(("tl.float16", "tl.bfloat16", "tl.float32"))
                back = ".to(tl.float32)" if narrow == "tl.bfloat16" else ""
                return f"{a}.to({narrow}){back}"
            case "abs":
                return f"tl.abs({a})"
        raise AssertionError(op)

    top = tree(depth)
    return rng.choice(tensors) if top in plain else top


REDUCTIONS = ("sum", "max", "min", "argmax", "argmin")


def _reduction(k: _Kernel, dims, ranges, needs_mask, load, expression):
    """A reduction of a fresh load along one axis, broadcast back into `expression`,
    and stored on its own over the other axes."""
    rng, src = k.rng, k.src
    rank = len(dims)
    axis = rng.randrange(rank)
    kind = rng.choice(REDUCTIONS)
    k.features["reduction"] = f"{kind} axis {axis}"
    floating = k.dtype != "i32"
    neutral = {
        "sum": "0" if not floating else "0.0",
        "max": "-2147483648" if not floating else "float('-inf')",
        "min": "2147483647" if not floating else "float('inf')",
    }
    neutral["argmax"], neutral["argmin"] = neutral["max"], neutral["min"]
    operand = load(other=neutral[kind], exact=rng.random() < 0.5)
    reduced = src.let("red", f"tl.{kind}({operand}, axis={axis})")
    if kind == "sum" and k.dtype == "fp16":
        k.half_sum = dims[axis].block
    back = src.let("back", f"tl.expand_dims({reduced}, {axis})") if rank > 1 else reduced
    if kind.startswith("arg") and floating:
        back = f"{back}.to(tl.float32)"
    combined = (
        f"({expression} - {back})"
        if kind != "sum" or not floating
        else (f"({expression} * 0.5 + {back} * 0.25)")
    )
    others = [d for d in range(rank) if d != axis]
    out_type = "i32" if kind.startswith("arg") else k.dtype
    if others:
        pointer, mask = _reduced_access(k, dims, ranges, needs_mask, axis, others, out_type)
    else:
        pointer, mask = _scalar_access(k, dims, out_type)
    value = f"{reduced}.to({TL_DTYPE[out_type]})"
    src.line(f"tl.store({pointer}, {value}" + (f", mask={mask})" if mask else ")"))
    return combined


def _reduced_access(k: _Kernel, dims, ranges, needs_mask, axis, others, dtype):
    """Offsets and mask of a result over the axes `others` (a reduction's), row-major."""
    terms, bounds, extent = [], [], 1
    strides = {}
    for d in reversed(others):
        strides[d] = extent
        extent *= dims[d].size
    for position, d in enumerate(others):
        at = k.src.let("o", f"{ranges[d]}{_expand(position, len(others))}")
        terms.append(at if strides[d] == 1 else f"{at} * {strides[d]}")
        if needs_mask:
            bounds.append(f"({at} < {dims[d].bound})")
    tiled = dims[axis].axis
    if tiled is not None:  # every program along the reduced axis stores its own part
        terms.append(f"tl.program_id({tiled}) * {extent}")
        extent *= dims[axis].programs
    pointer = k.pointer("red", Buffer(dtype, extent, True))
    return f"{pointer} + " + " + ".join(terms), " & ".join(bounds) or None


def _scalar_access(k: _Kernel, dims, dtype):
    """A rank-0 result: one element per program."""
    pointer = k.pointer("red", Buffer(dtype, _programs(dims), True))
    axes = sorted({d.axis for d in dims if d.axis is not None})
    if not axes:
        return pointer, None
    if len(axes) == 1:
        return f"{pointer} + tl.program_id({axes[0]})", None
    return f"{pointer} + tl.program_id(0) * {_programs_on(dims, 1)} + tl.program_id(1)", None


# ---------------------------------------------------------------- the loop family


def _loop(k: _Kernel) -> tuple[int, ...]:
    """Rows walked in chunks of BC columns: an accumulator tile and a running maximum
    carried through the loop, the row sums stored, and (sometimes) a second loop
    writing every chunk divided by its row's sum."""
    rng, src = k.rng, k.src
    floating = k.dtype != "i32"
    rows = 1 << rng.randint(0, 8) if rng.random() < 0.6 else rng.randint(1, 200)
    cols = 1 << rng.randint(2, 11) if rng.random() < 0.5 else rng.randint(3, 3000)
    chunk = 1 << rng.randint(2, min(10, max(2, cols.bit_length())))
    per_program = rng.choice((1, 1, 2, 4, 8)) if rows > 1 else 1
    row_block = k.constexpr("BR", per_program)
    col_block = k.constexpr("BC", chunk)
    while -(-cols // chunk) > MAX_TRIPS:
        chunk *= 2
    k.constexprs["BC"] = chunk
    programs = -(-rows // per_program)
    while programs > MAX_PROGRAMS or programs * -(-cols // chunk) > MAX_ITERATIONS:
        per_program *= 2
        k.constexprs["BR"] = per_program
        programs = -(-rows // per_program)
    pad = rng.choice((0, 0, 5, 64))
    stride = cols + pad
    n_rows = k.size("n_rows", rows)
    n_cols = k.size("n_cols", cols)
    runtime_stride = rng.random() < 0.5
    stride_name = k.scalar("stride", "i32", stride) if runtime_stride else str(stride)
    k.features["rank"] = "2-D"
    k.features["grid"] = "1-D"
    k.features["program_id"] = "all dims" if programs > 1 or rng.random() < 0.5 else "none"
    k.features["row stride"] = "runtime" if runtime_stride else "constexpr"
    k.features["size"] = "ragged tail" if cols % chunk else "exact"
    x = k.pointer("x", Buffer(k.dtype, (rows - 1) * stride + cols, False))
    sums_type = "fp32" if floating else "i32"
    sums = k.pointer("sum", Buffer(sums_type, rows, True))
    if k.features["program_id"] == "none":
        programs = 1
        per_program = _pow2_at_least(rows)
        k.constexprs["BR"] = per_program
        first = "0"
    else:
        first = src.let("pid", "tl.program_id(0)") + f" * {row_block}"
    row = src.let("rows", f"{first} + tl.arange(0, {row_block})")
    live = src.let("live", f"{row} < {n_rows}")
    acc_type = "tl.float32" if floating else "tl.int32"
    acc = src.let("acc", f"tl.zeros(({row_block}, {col_block}), {acc_type})")
    top = src.let("top", f"tl.full(({row_block},), {'-1e30' if floating else '-2147483647'}, "
                  f"{acc_type})")  # fmt: skip
    bump = rng.random() < 0.5
    k.features["loop"] = "pointer bump" if bump else "recomputed offsets"
    constexpr_trips = rng.random() < 0.3
    k.features["trip count"] = "constexpr" if constexpr_trips else "runtime"
    bound = str(cols) if constexpr_trips else n_cols
    if bump:
        ptrs = src.let(
            "p", f"{x} + {row}[:, None] * {stride_name} + tl.arange(0, {col_block})[None, :]"
        )
    src.line(f"for start in range(0, {bound}, {col_block}):")
    cols_now = src.let("c", f"start + tl.arange(0, {col_block})", indent=2)
    mask = src.let("m", f"{live}[:, None] & ({cols_now} < {n_cols})[None, :]", indent=2)
    where = ptrs if bump else f"{x} + {row}[:, None] * {stride_name} + {cols_now}[None, :]"
    other = "0.0" if floating else "0"
    value = src.let("v", f"tl.load({where}, mask={mask}, other={other})", indent=2)
    if floating:
        value = src.let("v", f"{value}.to(tl.float32)", indent=2)
    term = rng.choice(("v", "v * v", "tl.abs(v)" if floating else "v & 7"))
    src.line(f"{acc} += {term.replace('v', value)}", indent=2)
    masked = f"tl.where({mask}, {value}, {'-1e30' if floating else '-2147483647'})"
    src.line(f"{top} = tl.maximum({top}, tl.max({masked}, axis=1))", indent=2)
    if rng.random() < 0.3:  # a running sum in DDR: each trip reads what the last wrote
        k.features["DDR accumulator"] = "yes"
        running = k.pointer("run", Buffer(sums_type, rows, True))
        before = src.let("r", f"tl.load({running} + {row}, mask={live}, other=0)", indent=2)
        src.line(
            f"tl.store({running} + {row}, {before} + tl.sum({term.replace('v', value)}, axis=1)"
            f".to({acc_type}), mask={live})",
            indent=2,
        )
    if bump:
        src.line(f"{ptrs} += {col_block}", indent=2)
    total = src.let("total", f"tl.sum({acc}, axis=1)")
    src.line(f"tl.store({sums} + {row}, {total} + {top} * 0, mask={live})")
    if rng.random() < 0.5:
        out = k.pointer("out", Buffer(k.dtype, (rows - 1) * stride + cols, True))
        k.features["second loop"] = "yes"
        src.line(f"for start in range(0, {bound}, {col_block}):")
        cols_now = src.let("c", f"start + tl.arange(0, {col_block})", indent=2)
        mask = src.let("m", f"{live}[:, None] & ({cols_now} < {n_cols})[None, :]", indent=2)
        offsets = f"{row}[:, None] * {stride_name} + {cols_now}[None, :]"
        value = src.let("v", f"tl.load({x} + {offsets}, mask={mask}, other={other})", indent=2)
        value = k.widened(value, indent=2)
        if floating:
            scaled = f"{value} / (tl.abs({total}[:, None]) + 1.0) + {top}[:, None]"
        else:
            scaled = f"{value} - {total}[:, None] + {top}[:, None]"
        store = f"({scaled}).to({TL_DTYPE[k.dtype]})"
        src.line(f"tl.store({out} + {offsets}, {store}, mask={mask})", indent=2)
    return (programs,)


# ---------------------------------------------------------------- the dot family


def _dot(k: _Kernel) -> tuple[int, ...]:
    """C = epilogue(A @ B [+ C0]) over output tiles of BM x BN (see the module
    docstring). A is M x K row-major; B is K x N, or N x K read through tl.trans."""
    rng, src = k.rng, k.src
    sizes = [rng.randint(1, 80) if rng.random() < 0.6 else 16 << rng.randint(0, 2)
             for _ in range(3)]  # fmt: skip
    m, n, depth = sizes
    bm, bn, bk = (rng.choice((16, 32, 64)) for _ in range(3))
    while -(-m // bm) * -(-n // bn) > MAX_PROGRAMS:
        bm, bn = bm * 2, bn * 2
    looped = rng.random() < 0.6
    if not looped:
        bk = max(16, _pow2_at_least(depth))
    transposed = rng.random() < 0.4
    wrapped = rng.random() < 0.3  # Triton's and Inductor's `% M` rows, hinted contiguous
    added = looped and rng.random() < 0.4  # `acc += tl.dot(x, y)`, as Inductor writes it
    k.features.update(
        rank="2-D",
        dot="K loop" if looped else "one dot",
        operand="transposed" if transposed else "as stored",
        size="ragged tail" if any(x % b for x, b in zip(sizes, (bm, bn, bk))) else "exact",
        rows="wrapped (% M)" if wrapped else "masked",
        accumulate="acc += dot" if added else "dot(x, y, acc)",
    )
    M, N, K = k.size("M", m), k.size("N", n), k.size("K", depth)
    BM, BN, BK = k.constexpr("BM", bm), k.constexpr("BN", bn), k.constexpr("BK", bk)
    a = k.pointer("a", Buffer(k.dtype, m * depth, False))
    b = k.pointer("b", Buffer(k.dtype, depth * n, False))
    c = k.pointer("c", Buffer("fp32", m * n, True))
    two_axes = rng.random() < 0.5
    k.features["grid"] = "2-D" if two_axes else "1-D"
    tiles_n = -(-n // bn)
    if two_axes:
        pid_m, pid_n = src.let("pm", "tl.program_id(0)"), src.let("pn", "tl.program_id(1)")
        grid: tuple[int, ...] = (-(-m // bm), tiles_n)
    else:
        pid = src.let("pid", "tl.program_id(0)")
        pid_m, pid_n = src.let("pm", f"{pid} // {tiles_n}"), src.let("pn", f"{pid} % {tiles_n}")
        grid = (-(-m // bm) * tiles_n,)
    rm = src.let("rm", f"{pid_m} * {BM} + tl.arange(0, {BM})")
    rn = src.let("rn", f"{pid_n} * {BN} + tl.arange(0, {BN})")
    # wrapped: rows and columns read modulo M and N, unmasked
    am, bn_ = rm, rn
    if wrapped:  # a hint that would lie is undefined behaviour: given only when true
        am, bn_ = (
            src.let(name, f"tl.max_contiguous(tl.multiple_of({r} % {S}, {B}), {B})")
            if size % block == 0
            else src.let(name, f"{r} % {S}")
            for name, r, S, B, size, block in (("am", rm, M, BM, m, bm), ("bn", rn, N, BN, n, bn))
        )
    rows_a = "" if wrapped else f"({am}[:, None] < {M}) & "
    rows_b = "" if wrapped else f" & ({bn_}[None, :] < {N})"
    cols_b = "" if wrapped else f"({bn_}[:, None] < {N}) & "

    def operands(start: str, indent: int) -> tuple[str, str]:
        rk = src.let("rk", f"{start} + tl.arange(0, {BK})", indent)
        a_mask = f"{rows_a}({rk}[None, :] < {K})"
        a_tile = src.let("x", f"tl.load({a} + {am}[:, None] * {K} + {rk}[None, :], "
                              f"mask={a_mask}, other=0.0)", indent)  # fmt: skip
        a_tile = k.widened(a_tile, indent=indent)
        if transposed:  # B held as N x K
            b_mask = f"{cols_b}({rk}[None, :] < {K})"
            stored = src.let("y", f"tl.load({b} + {bn_}[:, None] * {K} + {rk}[None, :], "
                                  f"mask={b_mask}, other=0.0)", indent)  # fmt: skip
            return a_tile, src.let("y", f"tl.trans({k.widened(stored, indent=indent)})", indent)
        b_mask = f"({rk}[:, None] < {K}){rows_b}"
        b_tile = src.let("y", f"tl.load({b} + {rk}[:, None] * {N} + {bn_}[None, :], "
                              f"mask={b_mask}, other=0.0)", indent)  # fmt: skip
        return a_tile, k.widened(b_tile, indent=indent)

    if looped:
        acc = src.let("acc", f"tl.zeros(({BM}, {BN}), tl.float32)")
        src.line(f"for start in range(0, {K}, {BK}):")
        x, y = operands("start", 2)
        if added:
            src.line(f"{acc} += tl.dot({x}, {y})", indent=2)
        else:
            src.line(f"{acc} = tl.dot({x}, {y}, {acc})", indent=2)
    else:
        x, y = operands("0", 1)
        acc = src.let("acc", f"tl.dot({x}, {y})")
    if k.dtype == "fp16":
        k.half_sum = depth  # Triton's interpreter may add fp16 products in fp16
    epilogue = rng.choice(("none", "bias", "scale", "relu"))
    k.features["epilogue"] = epilogue
    if epilogue == "bias":
        bias = k.pointer("bias", Buffer("fp32", n, False))
        acc = src.let("acc", f"{acc} + tl.load({bias} + {rn}, mask={rn} < {N}, other=0.0)[None, :]")
    elif epilogue == "scale":
        acc = src.let("acc", f"{acc} * {k.scalar('alpha', 'fp32', 0.5)}")
    elif epilogue == "relu":
        acc = src.let("acc", f"tl.maximum({acc}, 0.0)")
    c_mask = f"({rm}[:, None] < {M}) & ({rn}[None, :] < {N})"
    src.line(f"tl.store({c} + {rm}[:, None] * {N} + {rn}[None, :], {acc}, mask={c_mask})")
    return grid
