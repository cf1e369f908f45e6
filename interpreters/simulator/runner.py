"""
`run`: executes a lowered kernel on numpy data and times it on a machine model.

    report = run(module, x, y, out, n, grid=(1024,), machine="edge-npu")

Pointer arguments take numpy arrays or CPU torch tensors: the run works on copies and
writes them back into them once it has succeeded, so a failing run leaves them as they
were; scalars take Python numbers; the grid sizes are the lowered
function's trailing `index` arguments. A `tt` module, or one at the tile level, is
lowered at the scalar level first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from math import prod

import numpy as np
from xdsl.dialects import func, memref, vector
from xdsl.dialects.builtin import BFloat16Type, IndexType, IntegerType, MemRefType, ModuleOp

from xnpu.dialects import spm
from xnpu.dialects.remarks import remarks_in
from xnpu.interpreters.simulator.prepared import prepared
from xnpu.interpreters.simulator.report import Report
from xnpu.interpreters.simulator.timing import replay
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.interpreters.simulator.values import UnsupportedType, numpy_dtype, to_bfloat16
from xnpu.machines import Machine, load_machine
from xnpu.transforms.pipelines import lower, needs_lowering


def entry_function(module: ModuleOp, name: str | None = None) -> func.FuncOp:
    functions = [
        op for op in module.body.block.ops if isinstance(op, func.FuncOp) and op.body.blocks
    ]
    if name is not None:
        functions = [f for f in functions if f.sym_name.data == name]
    if len(functions) != 1:
        found = ", ".join(f.sym_name.data for f in functions) or "none"
        wanted = f"named '{name}'" if name else "to run"
        raise InterpreterError(f"expected one function {wanted} in the module, found: {found}")
    return functions[0]


def grid_rank(function: func.FuncOp) -> int:
    """The number of trailing `index` arguments: the grid's sizes."""
    rank = 0
    for type in reversed(function.function_type.inputs.data):
        if not isinstance(type, IndexType):
            break
        rank += 1
    return rank


def _is_torch_tensor(value) -> bool:
    """Whether `value` is a torch tensor, without importing torch: a value can only be
    one if the caller already imported it (so `xnpu-run` and numpy users never pay
    for the import)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _addressed_span(tensor, position: int, name: str):
    """A pointer argument is its first element's address: the kernel reaches elements
    by its own offsets. A strided tensor (a column slice, an expanded view) is passed
    as the flat run of memory from its first to its last element, as Triton sees it."""
    if tensor.is_contiguous():
        return tensor
    if any(stride < 0 for stride in tensor.stride()):
        raise InterpreterError(f"argument {position} ({name}) has a negative stride")
    extent = 1 + sum((size - 1) * stride for size, stride in zip(tensor.shape, tensor.stride()))
    return tensor.as_strided((extent if tensor.numel() else 0,), (1,))


def _as_buffer(value, type: MemRefType, position: int, name: str) -> np.ndarray:
    if _is_torch_tensor(value):
        if value.device.type != "cpu":
            raise InterpreterError(
                f"argument {position} ({name}) is on {value.device}; xnpu runs on CPU tensors"
            )
        value = _addressed_span(value, position, name)
        torch = sys.modules["torch"]
        if value.dtype == torch.bfloat16 and isinstance(type.element_type, BFloat16Type):
            return value.detach().view(torch.int16).numpy().reshape(-1)  # its bits
        try:
            value = value.detach().numpy()
        except TypeError:  # a dtype numpy has not: bfloat16, float8...
            raise InterpreterError(
                f"argument {position} ({name}) holds {value.dtype}, which numpy cannot hold; "
                f"the kernel reads {type.element_type}"
            ) from None
    if not isinstance(value, np.ndarray):
        raise InterpreterError(
            f"argument {position} ({name}) is a pointer ({type}): pass a numpy array or "
            f"a CPU torch tensor, not {value!r:.60}"
        )
    expected = numpy_dtype(type)
    if value.dtype != expected and _same_bits(value.dtype, expected):
        value = value.view(expected)  # bools and unsigned ints: the kernel's ops say how
    if value.dtype != expected:
        raise InterpreterError(
            f"argument {position} ({name}) holds {value.dtype}, but the kernel reads "
            f"{type.element_type}"
        )
    if not value.flags.c_contiguous:
        raise InterpreterError(f"argument {position} ({name}) must be C-contiguous")
    return value.reshape(-1)


def _same_bits(held: np.dtype, read: np.dtype) -> bool:
    """Integers (or bools) of one width: a kernel's i8 reads a uint8 or bool tensor's
    bytes as they are (Triton's signless integers; bools are bytes in memory)."""
    kinds = "biu"
    return held.kind in kinds and read.kind in kinds and held.itemsize == read.itemsize


def _grid(grid) -> tuple[int, ...]:
    """`grid` as a tuple of sizes: an int, or a sequence of ints (Triton's forms)."""
    sizes = (grid,) if isinstance(grid, int | np.integer) else grid
    if (
        isinstance(sizes, str | bytes)
        or not isinstance(sizes, Sequence)
        or not all(isinstance(g, int | np.integer) and not isinstance(g, bool) for g in sizes)
    ):
        raise InterpreterError(
            f"grid must be an int or a tuple of ints (programs per axis), not {grid!r}"
        )
    return tuple(int(g) for g in sizes)


def bind_arguments(function: func.FuncOp, args: Sequence, grid: Sequence[int]) -> list:
    types = function.function_type.inputs.data
    rank = grid_rank(function)
    kernel_types = types[: len(types) - rank]
    names = [a.name_hint or f"arg{i}" for i, a in enumerate(function.args)]
    if len(args) != len(kernel_types):
        raise InterpreterError(
            f"{function.sym_name.data} takes {len(kernel_types)} arguments "
            f"({', '.join(names[: len(kernel_types)])}), got {len(args)}"
        )
    if len(grid) > 3 or any(int(g) < 0 for g in grid):
        raise InterpreterError(
            f"grid {tuple(grid)} does not fit {function.sym_name.data}: a grid is one to "
            f"three non-negative sizes"
        )
    for position, type in enumerate(kernel_types):
        try:
            numpy_dtype(type)
        except UnsupportedType as error:
            raise InterpreterError(f"parameter {position} ({names[position]}): {error}") from None
    values: list = []
    for position, (value, type) in enumerate(zip(args, kernel_types)):
        name = names[position]
        if isinstance(type, MemRefType):
            values.append(_as_buffer(value, type, position, name))
        elif isinstance(type, IntegerType):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InterpreterError(
                    f"argument {position} ({name}) is {type}: pass an int, not {value!r}"
                )
            width = type.width.data
            low, high = (0, 1) if width == 1 else (-(1 << (width - 1)), (1 << (width - 1)) - 1)
            if not low <= int(value) <= high:
                raise InterpreterError(
                    f"argument {position} ({name}) is {type}: {int(value)} is outside {low}..{high}"
                )
            values.append(bool(value) if width == 1 else int(value))
        else:
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise InterpreterError(
                    f"argument {position} ({name}) is {type}: pass a number, not {value!r}"
                )
            try:
                with np.errstate(over="ignore"):
                    narrowed = numpy_dtype(type).type(value)
                    if isinstance(type, BFloat16Type):
                        narrowed = to_bfloat16(narrowed)
            except OverflowError:  # a Python int beyond any float
                narrowed = np.inf
            was_finite = not isinstance(value, float | np.floating) or np.isfinite(value)
            if was_finite and not np.isfinite(narrowed):
                raise InterpreterError(
                    f"argument {position} ({name}) is {type}: {value!r} does not fit it"
                )
            values.append(narrowed)
    sizes = [int(g) for g in grid[:rank]] + [1] * (rank - len(grid))
    return values + sizes


def unread_programs(function: func.FuncOp, grid: Sequence[int]) -> int:
    """How many times each program runs: the product of the grid's sizes on axes the
    kernel never reads (Triton still runs a program for each; it redoes the same work,
    e.g. when Triton folded away every use of program_id(1))."""
    return prod(int(g) for g in grid[grid_rank(function) :])


def _only_read(function: func.FuncOp, position: int) -> bool:
    """Whether the kernel only reads pointer argument `position`: every use loads from
    it or is the source of a copy or DMA (a store, or any use the interpreter cannot
    see through, may write it)."""
    return all(
        use.index == 0 and isinstance(use.operation, memref.LoadOp | vector.LoadOp | spm.TransferOp)
        for use in function.args[position].uses
    )


def _working_copy(memory: np.ndarray, type: MemRefType, only_read: bool) -> np.ndarray:
    """What the run reads and writes for a caller's array: a copy, so that a failing
    run changes nothing; an array the kernel only reads is not copied but seen through
    a read-only view. bf16 is held as float32: a bf16 tensor's bits are widened, a
    float32 array for a bf16 pointer is rounded to bf16."""
    if isinstance(type.element_type, BFloat16Type):
        if memory.dtype == np.int16:
            return (memory.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        return to_bfloat16(memory)
    if only_read:
        view = memory.view()
        view.flags.writeable = False
        return view
    return memory.copy()


def _in_callers_form(values: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """The run's values as the caller's array holds them (a bf16 tensor: their bits)."""
    if memory.dtype == np.int16 and values.dtype == np.float32:
        return (to_bfloat16(values).view(np.uint32) >> 16).astype(np.uint16).view(np.int16)
    return values


def _write_back(entry: func.FuncOp, callers: dict[int, np.ndarray], values: list) -> None:
    """The run's buffers into the caller's arrays, once the run has succeeded; a
    read-only array the kernel changed is an error, and then nothing is written."""
    written = {i: _in_callers_form(values[i], original) for i, original in callers.items()}
    for i, original in callers.items():
        if not original.flags.writeable and not np.array_equal(
            original, written[i], equal_nan=True
        ):
            name = entry.args[i].name_hint or f"arg{i}"
            raise InterpreterError(f"argument {i} ({name}) is read-only, but the kernel writes it")
    for i, original in callers.items():
        if original.flags.writeable:
            np.copyto(original, written[i])


def run(
    module: ModuleOp,
    *args,
    grid: int | Sequence[int],
    machine: str | Machine = "edge-npu",
    function: str | None = None,
    reference: bool = False,
) -> Report:
    """Runs the kernel in `module` on `args` over `grid` programs; returns the report.
    `reference` runs every op through xDSL's own interpreter dispatch instead of
    xnpu's compiled blocks: slower, the same values and cycles (tests hold them so)."""
    if not isinstance(module, ModuleOp):
        raise InterpreterError(f"run takes a module (builtin.module), not {type(module).__name__}")
    grid = _grid(grid)
    machine_model = load_machine(machine)
    if needs_lowering(module):
        module = lower(module, "scalar", machine=machine_model)
    with prepared(module, machine_model, reference) as ready:
        entry = entry_function(module, function)
        values = bind_arguments(entry, args, grid)
        arrays = {i: v for i, v in enumerate(values) if isinstance(v, np.ndarray)}
        only_read = {i for i in arrays if _only_read(entry, i)}
        types = entry.function_type.inputs.data
        for i, buffer in arrays.items():  # the run works on copies: a failure changes nothing
            values[i] = _working_copy(buffer, types[i], i in only_read)
        callers = {i: v for i, v in arrays.items() if i not in only_read}
        with np.errstate(all="ignore"):
            try:
                for repeat in range(unread_programs(entry, grid)):
                    try:
                        ready.interpreter.call_op(entry, tuple(values))
                    except InterpreterError as error:
                        if repeat == 0 or not str(error).startswith("race"):
                            raise
                        raise InterpreterError(
                            f"{error}; the kernel never reads program_id on grid axes "
                            f"{grid_rank(entry)} and up, so the programs there redo the "
                            f"same writes (grid {grid})"
                        ) from None
            except InterpreterError as error:  # it names the op: drop xDSL's module dumps
                error.__notes__ = []
                raise
        ready.state.check_all_waited(f"@{entry.sym_name.data}")
        ready.state.flush()
        traces = ready.state.traces
        scratchpad_bytes = ready.state.scratchpad_peak
    timeline = replay(traces, machine_model)
    _write_back(entry, callers, values)
    return Report(
        kernel=entry.sym_name.data,
        machine=machine_model.name,
        clock_mhz=machine_model.clock_mhz,
        grid=tuple(values[len(values) - grid_rank(entry) :]) or grid,
        cycles=timeline.cycles,
        contexts=timeline.contexts,
        dma_busy=timeline.dma_busy,
        timeline=timeline,
        remarks=remarks_in(entry),
        scratchpad_bytes=scratchpad_bytes,
    )
