"""Triton beyond the corpus, through every level of the ladder, against PyTorch:
runtime strides, tensor descriptors, two-sided masks, argmax/argmin, scans, loops
inside kernels, fp16 and bf16."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from xdsl.dialects import arith, math
from xdsl.dialects import vector as vector_dialect
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, VectorType, f16, f32, i1

import xnpu
from xnpu.costs.ops import op_price
from xnpu.dialects.remarks import remarks_in
from xnpu.frontend.ttir import module_text
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.kernels import forms as kernels
from xnpu.machines import load_machine
from xnpu.transforms.pipelines import LEVELS


@dataclass(frozen=True)
class Case:
    kernel: object
    signature: dict[str, str]
    constexprs: dict[str, int]
    inputs: Callable[[torch.Generator], list]
    """The launch's arguments; the output is the one `reference` is compared with."""
    grid: tuple[int, ...]
    output: int
    reference: Callable[[list], torch.Tensor]
    atol: float = 1e-5


def _matrix(rows, cols, stride):
    def inputs(g):
        x = torch.randn(rows, stride, generator=g)
        return [x, torch.full((rows, stride), -7.0), rows, cols, stride, stride]

    return inputs


def _rows_reference(args):
    x, _, rows, cols, stride, _ = args
    want = torch.full((rows, stride), -7.0)
    want[:, :cols] = x[:, :cols] * 2 + 1
    return want


def _softmax_reference(args):
    x, out, cols = args[0], args[1], args[2]
    want = out.clone()
    want[:, :cols] = torch.softmax(x[:, :cols], dim=1)
    return want


def _shifted_reference(args):
    x, _, n, shift = args
    want = torch.zeros(n)
    want[max(shift, 0) : n + min(shift, 0)] = x[max(-shift, 0) : n - max(shift, 0)]
    return want


MATRIX = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_rows": "i32", "n_cols": "i32"}
STRIDES = {"stride_xm": "i32", "stride_om": "i32"}

CASES = {
    "runtime row stride": Case(
        kernels.strided_rows,
        MATRIX | STRIDES,
        {"BLOCK_M": 4, "BLOCK_N": 128},
        _matrix(37, 100, 130),
        (10,),
        1,
        _rows_reference,
    ),
    "softmax with row strides": Case(
        kernels.strided_softmax,
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "n_cols": "i32"} | STRIDES,
        {"BLOCK": 128},
        lambda g: [torch.randn(9, 120, generator=g), torch.full((9, 120), 5.0), 100, 120, 120],
        (9,),
        1,
        _softmax_reference,
    ),
    "runtime column stride": Case(
        kernels.strided_columns,
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "stride": "i32"},
        {"BLOCK": 64},
        lambda g: [torch.randn(150, 3, generator=g), torch.zeros(150), 150, 3],
        (3,),
        1,
        lambda a: a[0][:, 0] + 1,
    ),
    "tensor descriptors": Case(
        kernels.descriptor_add,
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "M": "i32", "N": "i32"},
        {"BM": 16, "BN": 64},
        lambda g: [torch.randn(40, 100, generator=g), torch.zeros(40, 100), 40, 100],
        (3, 2),
        1,
        lambda a: a[0] + 1,
    ),
    "two-sided mask, shifted right": Case(
        kernels.shifted_window,
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "shift": "i32"},
        {"BLOCK": 64},
        lambda g: [torch.randn(200, generator=g), torch.full((200,), 9.0), 200, 37],
        (4,),
        1,
        _shifted_reference,
    ),
    "two-sided mask, shifted left": Case(
        kernels.shifted_window,
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "shift": "i32"},
        {"BLOCK": 64},
        lambda g: [torch.randn(200, generator=g), torch.full((200,), 9.0), 200, -70],
        (4,),
        1,
        _shifted_reference,
    ),
}


def _ties(g):
    """Rows with repeated maxima and minima: the first index must win."""
    x = torch.randint(-3, 4, (6, 50), generator=g).float()
    return [x, torch.zeros(6, dtype=torch.int32), torch.zeros(6, dtype=torch.int32), 50]


def _scan_block(x, reverse=False, op=torch.cumsum):
    blocks = x.split(64)
    if reverse:
        return torch.cat([op(b.flip(0), 0).flip(0) for b in blocks])
    return torch.cat([op(b, 0) for b in blocks])


SCAN_INPUTS = {"x_ptr": "*fp32", "sum_ptr": "*fp32", "prod_ptr": "*fp32", "rsum_ptr": "*fp32"}


def _scan_inputs(g):
    x = 0.5 + torch.rand(150, generator=g)
    return [x, torch.zeros(150), torch.zeros(150), torch.zeros(150), 150]


def _arg_case(output: int, pick) -> Case:
    """argmax (output 1) or argmin (output 2) of rows with ties."""
    signature = {"x_ptr": "*fp32", "max_ptr": "*i32", "min_ptr": "*i32", "n_cols": "i32"}
    reference = lambda a: _first_index(a[0], pick)  # noqa: E731
    return Case(kernels.row_argmax, signature, {"BLOCK": 64}, _ties, (6,), output, reference)


def _scan_case(output: int, reference) -> Case:
    """One of `scans`' outputs: cumsum (1), cumprod (2) or reversed cumsum (3)."""
    signature = SCAN_INPUTS | {"n": "i32"}
    return Case(
        kernels.scans, signature, {"BLOCK": 64}, _scan_inputs, (3,), output,
        lambda a: reference(a[0]), atol=1e-4,
    )  # fmt: skip


CASES.update(
    {
        "argmax, first index on ties": _arg_case(1, max),
        "argmin, first index on ties": _arg_case(2, min),
        "argmax of a 2-D block along its rows": Case(
            kernels.block_argmax,
            MATRIX | {"out_ptr": "*i32"},
            {"BLOCK_M": 4, "BLOCK_N": 64},
            lambda g: [
                torch.randn(10, 50, generator=g),
                torch.zeros(10, dtype=torch.int32),
                10,
                50,
            ],
            (3,),
            1,
            lambda a: a[0].argmax(1).int(),
        ),
        "cumsum": _scan_case(1, lambda x: _scan_block(x)),
        "cumprod": _scan_case(2, lambda x: _scan_block(x, op=torch.cumprod)),
        "reversed cumsum": _scan_case(3, lambda x: _scan_block(x, reverse=True)),
        "cumsum along the rows of a 2-D block": Case(
            kernels.row_cumsum,
            MATRIX,
            {"BLOCK_M": 4, "BLOCK_N": 64},
            lambda g: [torch.randn(10, 50, generator=g), torch.zeros(10, 50), 10, 50],
            (3,),
            1,
            lambda a: a[0].cumsum(1),
            atol=1e-4,
        ),
    }
)


def _padded_chunks(x, block):
    """x's columns padded with zeros to whole chunks of `block`: [rows, chunks, block]."""
    pad = -x.shape[1] % block
    return torch.nn.functional.pad(x, (0, pad)).reshape(x.shape[0], -1, block)


def _carried_reference(args):
    x, _, n = args[0], args[1], args[2]
    col, grid = torch.zeros(16), torch.zeros(4, 16)
    scale = torch.arange(4.0)[:, None] + 1
    for chunk in x[:n].split(16):
        grid, col = grid * 0.5 + col[None, :] * scale, col * 0.5 + chunk
    return grid


ROW_ARGS = {"x_ptr": "*fp32", "out_ptr": "*fp32"}
CASES.update(
    {
        "layer norm looping over column chunks": Case(
            kernels.looped_layer_norm,
            ROW_ARGS
            | {"w_ptr": "*fp32", "b_ptr": "*fp32", "stride": "i32", "n_cols": "i32"}
            | {"eps": "fp32"},
            {"BLOCK": 64},
            lambda g: [
                torch.randn(5, 300, generator=g),
                torch.randn(300, generator=g),
                torch.randn(300, generator=g),
                torch.zeros(5, 300),
                300,
                300,
                1e-5,
            ],
            (5,),
            3,
            lambda a: torch.nn.functional.layer_norm(a[0], (300,), a[1], a[2], eps=1e-5),
            atol=1e-4,
        ),
        "online softmax carrying scalars": Case(
            kernels.online_softmax,
            ROW_ARGS | {"n_cols": "i32"},
            {"BLOCK": 64},
            lambda g: [torch.randn(4, 200, generator=g) * 4, torch.zeros(4, 200), 200],
            (4,),
            1,
            lambda a: torch.softmax(a[0], 1),
        ),
        "looped reduction with a 2-D accumulator": Case(
            kernels.looped_row_sums,
            MATRIX,
            {"XBLOCK": 4, "RBLOCK": 32},
            lambda g: [torch.randn(10, 100, generator=g), torch.zeros(10), 10, 100],
            (3,),
            1,
            lambda a: a[0].sum(1),
            atol=1e-4,
        ),
        "carried tensors read across lanes": Case(
            kernels.carried_across_lanes,
            ROW_ARGS | {"n": "i32"},
            {"R": 4, "C": 16},
            lambda g: [torch.randn(80, generator=g), torch.zeros(4, 16), 80],
            (1,),
            1,
            _carried_reference,
            atol=1e-4,
        ),
        "a loop in a loop": Case(
            kernels.nested_loops,
            ROW_ARGS | {"w_ptr": "*fp32", "n_rows": "i32", "n_cols": "i32"},
            {"BLOCK": 32},
            lambda g: [
                torch.randn(6, 70, generator=g),
                torch.randn(6, generator=g),
                torch.zeros(32),
                6,
                70,
            ],
            (1,),
            2,
            lambda a: (_padded_chunks(a[0], 32) * a[1][:, None, None]).sum((0, 1)),
            atol=1e-4,
        ),
    }
)


def _doubled_columns(args):
    x, rows, cols = args[0], args[2], args[3]
    want = torch.zeros_like(x)
    want[:rows, :cols] = x[:rows, :cols] * 2
    return want


CASES.update(
    {
        "pointers bumped each trip": Case(
            kernels.bumped_sum,
            ROW_ARGS | {"n": "i32"},
            {"BLOCK": 64},
            lambda g: [torch.randn(640, generator=g), torch.zeros(64), 640],
            (1,),
            1,
            lambda a: a[0].reshape(10, 64).sum(0),
            atol=1e-5,
        ),
        "row pointers bumped by a runtime stride": Case(
            kernels.bumped_rows,
            ROW_ARGS | {"n_rows": "i32", "n_cols": "i32", "stride": "i32"},
            {"BLOCK": 64},
            lambda g: [torch.randn(10, 70, generator=g), torch.zeros(10, 70), 10, 50, 70],
            (1,),
            1,
            _doubled_columns,
        ),
    }
)


def _read_back_case(kernel, block: int) -> Case:
    """12 rows of 200 stored as 2 x, then read back and stored as 2 x + 1."""
    return Case(
        kernel,
        ROW_ARGS | {"n_cols": "i32"},
        {"BLOCK": block},
        lambda g: [torch.randn(12, 200, generator=g), torch.full((12, 200), -5.0), 200],
        (12,),
        1,
        lambda a: a[0] * 2 + 1,
    )


CASES["a row stored, then read back"] = _read_back_case(kernels.stored_then_read_back, 256)
CASES["a row stored, then read back by a later loop"] = _read_back_case(
    kernels.read_back_in_a_later_loop, 64
)


CASES["online softmax of a block of rows"] = Case(
    kernels.rows_online_softmax,
    MATRIX,
    {"BM": 4, "BN": 64},
    lambda g: [torch.randn(10, 300, generator=g) * 3, torch.zeros(10, 300), 10, 300],
    (3,),
    1,
    lambda a: torch.softmax(a[0], 1),
)


def _sixteen_bit_case(kernel, dtype: torch.dtype, type_name: str, reference, atol) -> Case:
    """A 16-bit kernel on 3000 elements: its pointers all of `type_name`."""
    pointers = ["x_ptr", "y_ptr", "out_ptr"] if kernel is kernels.half_add else ["x_ptr", "out_ptr"]

    def inputs(g):
        tensors = [torch.randn(3000, generator=g).to(dtype) for _ in pointers[:-1]]
        return [*tensors, torch.zeros(3000, dtype=dtype), 3000]

    signature = dict.fromkeys(pointers, f"*{type_name}") | {"n": "i32"}
    return Case(kernel, signature, {"BLOCK": 1024}, inputs, (3,), len(pointers) - 1,
                reference, atol)  # fmt: skip


def _gelu_in_f32(args):
    return torch.nn.functional.gelu(args[0].float()).to(args[0].dtype)


CASES.update(
    {
        "fp16 GELU computed in f32": _sixteen_bit_case(
            kernels.half_gelu, torch.float16, "fp16", _gelu_in_f32, 1e-3
        ),
        "fp16 add": _sixteen_bit_case(
            kernels.half_add, torch.float16, "fp16", lambda a: a[0] + a[1], 0.0
        ),
        "bf16 GELU computed in f32": _sixteen_bit_case(
            kernels.half_gelu, torch.bfloat16, "bf16", _gelu_in_f32, 1e-2
        ),
        "bf16 add": _sixteen_bit_case(
            kernels.half_add, torch.bfloat16, "bf16", lambda a: a[0] + a[1], 0.0
        ),
    }
)


def _first_index(x, pick):
    """The first index of each row's max (or min), as Triton's argmax breaks ties."""
    best = x.max(1, keepdim=True).values if pick is max else x.min(1, keepdim=True).values
    return (x == best).int().argmax(1).int()


@functools.cache
def tt_module(name: str):
    case = CASES[name]
    return xnpu.from_triton(case.kernel, case.signature, case.constexprs)


def run_case(name: str, level: str):
    case = CASES[name]
    args = case.inputs(torch.Generator().manual_seed(0))
    lowered = xnpu.lower(tt_module(name), level)
    report = xnpu.run(lowered, *args, grid=case.grid)
    return args, report, lowered


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", CASES)
def test_feature_matches_pytorch_at_every_level(name, level):
    args, _, _ = run_case(name, level)
    case = CASES[name]
    want = case.reference(args)
    got = args[case.output]
    assert torch.allclose(got.reshape(want.shape), want, atol=case.atol), (name, level)


@pytest.mark.parametrize(
    "name", ["runtime row stride", "tensor descriptors", "softmax with row strides"]
)
def test_runtime_strides_move_as_boxes_and_vectorize(name):
    """A row stride known only at run time moves as rows of a 2-D copy, so
    vectorization pays as it does with a constant stride: no gather is left."""
    _, scalar, lowered_scalar = run_case(name, "scalar")
    _, vec, lowered_vec = run_case(name, "vec")
    text = module_text(lowered_scalar)
    assert " rows " in text and "memref.load %x_ptr" not in text
    assert vec.cycles * 5 < scalar.cycles
    assert "vector.load" in module_text(lowered_vec)
    assert not [r for r in remarks_in(lowered_vec) if "gathered" in r or "left scalar" in r]


def test_loads_left_to_gathers_say_why():
    """Rows and columns both at runtime strides have no contiguous run to copy: the
    load is gathered, and the remark names it and the reason."""
    module = xnpu.from_triton(
        kernels.both_strides, MATRIX | {"stride_m": "i32", "stride_n": "i32"}, {"BLOCK": 16}
    )
    lowered = xnpu.lower(module, "vec")
    (remark,) = [r for r in remarks_in(lowered) if "npu-lower-triton" in r]
    assert "forms.py:" in remark
    assert "gathered element by element from DDR: its inner dimension is not contiguous" in remark
    a = torch.randn(10, 20)  # the matrix is a.t(): rows 1 apart, columns 20 apart
    out = torch.zeros(20, 10)
    xnpu.run(lowered, a, out, 20, 10, 1, 20, grid=(2,))
    assert torch.equal(out, a.t())


@pytest.mark.parametrize("name", ["fp16 GELU computed in f32", "bf16 GELU computed in f32"])
def test_sixteen_bit_loops_take_a_whole_vector_and_pay_for_wide_values(name):
    """A 16-bit loop computing in f32 takes 64 lanes (a whole 128-byte vector of its
    data); its f32 values span two registers, so their ops, the conversions included,
    cost twice a one-register op."""
    _, _, lowered = run_case(name, "vec")
    text = module_text(lowered)
    assert "vector<64xf32>" in text and "vector<32x" not in text
    machine = load_machine("edge-npu")
    widening = next(op for op in lowered.walk() if isinstance(op, arith.ExtFOp)
                    and isinstance(op.result.type, VectorType))  # fmt: skip
    assert op_price(widening, machine)[0] == 2 * machine.vector["convert"]


@pytest.mark.parametrize("level", LEVELS)
def test_masked_scalar_loads_and_stores_touch_memory_only_when_their_mask_holds(level):
    """Masked off, a load gives `other` and reads nothing (an empty tensor is fine),
    and a store leaves memory as it was."""
    signature = {"x_ptr": "*fp32", "out_ptr": "*fp32", "flag": "i32"}
    lowered = xnpu.lower(xnpu.from_triton(kernels.masked_scalar_load, signature, {}), level)
    for x, flag, want in (
        (torch.tensor([5.0]), 2, [5.0, 7.0]),
        (torch.tensor([5.0]), 1, [5.0, 9.0]),
        (torch.zeros(0), 0, [-1.0, 9.0]),
    ):
        out = torch.tensor([9.0, 9.0])
        xnpu.run(lowered, x, out, flag, grid=1)
        assert out.tolist() == want


@pytest.mark.parametrize(
    "name", ["argmax, first index on ties", "argmax of a 2-D block along its rows", "cumsum",
             "cumprod", "cumsum along the rows of a 2-D block",
             "online softmax of a block of rows"],
)  # fmt: skip
def test_argmax_and_scans_vectorize(name):
    """argmax (lane-wise partials, then a butterfly), forward scans (a log-step scan of
    each vector) and row statistics read through broadcasts (an element loaded once
    before the loop) run on vectors: the only loop left scalar is the reversed cumsum
    that `scans` also computes (it reads its lanes backwards)."""
    _, vec, lowered = run_case(name, "vec")
    _, scalar, _ = run_case(name, "scalar")
    assert "vector." in module_text(lowered)
    left = [r for r in remarks_in(lowered) if "left scalar" in r]
    backwards = "@scans: npu-vectorize: left scalar: an access is not at consecutive addresses"
    assert len(left) == (CASES[name].kernel is kernels.scans)
    assert all(r.startswith(backwards) for r in left)
    assert vec.cycles * 4 < scalar.cycles


def test_the_layer_norm_tutorial_vectorizes_its_loops():
    """Its three loops over column chunks (row start at a runtime stride, masks on the
    chunk's columns) each move chunks as copies and run on vectors."""
    _, scalar, _ = run_case("layer norm looping over column chunks", "scalar")
    _, vec, lowered = run_case("layer norm looping over column chunks", "vec")
    left = [r for r in remarks_in(lowered) if "gathered" in r or "left scalar" in r]
    assert not left and vec.cycles * 5 < scalar.cycles


def test_kernel_loops_are_double_buffered_across_their_trips():
    """npu-double-buffer pipelines the layer-norm tutorial's three loops: each trip
    starts the next chunk's DMA before computing on its own."""
    _, report, lowered = run_case("layer norm looping over column chunks", "vec+mt+db")
    moved = [
        tuple(map(int, found.groups()))
        for r in remarks_in(lowered)
        if (found := re.search(r"pipelined over 2 buffers .*: (\d+) input and (\d+) output", r))
    ]
    assert sorted(moved) == [(1, 0), (1, 0), (3, 1)]  # x twice; x, w, b in and out back
    assert report.dma_busy > 0


def test_a_ddr_buffer_read_back_after_its_own_store_keeps_its_order():
    """Programs that read back what they stored share no tile (a tile's copies in come
    before its copies out), and DMA neither prefetches such a read nor writes back
    asynchronously before it: the remarks say so, and every variant gives 2 x + 1."""
    name = "a row stored, then read back"
    for options in ({}, {"buffers": 1}, {"writeback": "sync"}):
        lowered = xnpu.lower(tt_module(name), "vec+mt+db", **options)
        args = CASES[name].inputs(torch.Generator().manual_seed(0))
        xnpu.run(lowered, *args, grid=(12,))
        assert torch.allclose(args[1], args[0] * 2 + 1), options
        remark = " ".join(remarks_in(lowered))
        assert "reads back %out_ptr, which the program wrote before" in remark, remark
        assert "it reads back a DDR buffer the iteration wrote before" in remark, remark


@pytest.mark.parametrize("level", LEVELS)
def test_a_loop_step_that_is_not_positive_is_named(level):
    """`range(0, n, step)` with a step of 0 or less never ends: the run says so, naming
    the loop's source line, and leaves the output as it was."""
    signature = {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "step": "i32"}
    lowered = xnpu.lower(xnpu.from_triton(kernels.stepped_sum, signature, {"BLOCK": 64}), level)
    x, out = torch.randn(640), torch.full((64,), 3.0)
    for step in (0, -64):
        with pytest.raises(InterpreterError, match=rf"scf.for at .*forms.py:\d+.* steps by {step}"):
            xnpu.run(lowered, x, out, 640, step, grid=1)
    assert torch.equal(out, torch.full((64,), 3.0))
    xnpu.run(lowered, x, out, 640, 128, grid=1)
    assert torch.allclose(out, x.reshape(5, 128)[:, :64].sum(0), atol=1e-5)


@pytest.mark.parametrize("level", LEVELS)
def test_carried_integer_and_mask_tensors(level):
    """A loop carrying f32, i32 and i1 tensors (a per-lane argmax and an any())."""
    signature = {"x_ptr": "*fp32", "best_ptr": "*fp32", "where_ptr": "*i32", "seen_ptr": "*i32"}
    module = xnpu.from_triton(kernels.lane_argmax, signature | {"n": "i32"}, {"BLOCK": 32})
    x = torch.randn(300, generator=torch.Generator().manual_seed(1)) * 1.5
    chunks = torch.nn.functional.pad(x, (0, 20), value=-float("inf")).reshape(-1, 32)
    best = torch.zeros(32)
    where, seen = (torch.zeros(32, dtype=torch.int32) for _ in range(2))
    xnpu.run(xnpu.lower(module, level), x, best, where, seen, 300, grid=1)
    want_best, chunk = chunks.max(0)
    assert torch.equal(best, want_best)
    assert torch.equal(where, (chunk * 32 + torch.arange(32)).int())
    assert torch.equal(seen, (chunks > 2.0).any(0).int())


def test_scalar_half_precision_pays_a_conversion_per_half_value():
    """The scalar core computes in f32 only: an fp16 op widens each half operand and
    narrows its half result; a select moves bits and a vector op is native fp16."""
    machine = load_machine("edge-npu")
    scalar, vector = machine.scalar, machine.vector
    h = arith.ConstantOp(FloatAttr(1.0, f16))
    f = arith.ConstantOp(FloatAttr(1.0, f32))
    flag = arith.ConstantOp(IntegerAttr(1, i1))
    assert op_price(arith.AddfOp(h, h), machine)[0] == scalar["fp_add"] + 3 * scalar["half_convert"]
    assert op_price(arith.AddfOp(f, f), machine)[0] == scalar["fp_add"]
    assert op_price(arith.ExtFOp(h, f32), machine)[0] == scalar["half_convert"]
    assert op_price(arith.SelectOp(flag, h, h), machine)[0] == scalar["select"]
    exp = op_price(math.ExpOp(h), machine)[0]
    assert exp == op_price(math.ExpOp(f), machine)[0] + 2 * scalar["half_convert"]
    v = vector_dialect.BroadcastOp(h, VectorType(f16, [64]))
    assert op_price(arith.AddfOp(v, v), machine)[0] == vector["fp_add"]
