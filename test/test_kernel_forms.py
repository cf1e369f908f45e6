"""Kernel forms real kernels use, at every level against PyTorch: bool and uint8
tensors, correctly rounded sqrt and divide, and the kernel's own assertions (run,
checked, and a named error when one fails, with the outputs left as they were)."""

from __future__ import annotations

import pytest
import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice

import xnpu
from xnpu.interpreters.cf import KernelAssertionError
from xnpu.transforms.pipelines import LEVELS

pytestmark = pytest.mark.usefixtures("xnpu_driver")


@triton.jit
def select_and_flag(x_ptr, keep_ptr, bias_ptr, out_ptr, positive_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < n
    x = tl.load(x_ptr + offs, mask=ok)
    keep = tl.load(keep_ptr + offs, mask=ok)  # bool
    bias = tl.load(bias_ptr + offs, mask=ok)  # uint8: 0..255
    y = tl.where(keep, x, -1.0) + bias.to(tl.float32)
    y += tl.math.sqrt_rn(tl.abs(x)) + tl.math.div_rn(x, 3.0)
    tl.store(out_ptr + offs, y, mask=ok)
    tl.store(positive_ptr + offs, x > 0, mask=ok)


@pytest.mark.parametrize("level", LEVELS)
def test_bool_and_uint8_tensors_and_precise_math_match_pytorch(level):
    g = torch.Generator().manual_seed(1)
    n = 3000
    x = torch.randn(n, generator=g)
    keep = torch.rand(n, generator=g) > 0.5
    bias = torch.randint(0, 256, (n,), generator=g, dtype=torch.uint8)
    out, positive = torch.empty(n), torch.zeros(n, dtype=torch.bool)
    select_and_flag[(3,)](x, keep, bias, out, positive, n, BLOCK=1024, level=level)
    want = torch.where(keep, x, -1.0) + bias.float() + x.abs().sqrt() + x / 3.0
    assert torch.allclose(out, want, rtol=1e-6, atol=1e-6)
    assert torch.equal(positive, x > 0)


@triton.jit
def checked_gather(x_ptr, index_ptr, out_ptr, n, size, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < n
    index = tl.load(index_ptr + offs, mask=ok, other=0)
    tl.device_assert(((0 <= index) & (index < size)) | ~ok, "index out of bounds")
    tl.store(out_ptr + offs, tl.load(x_ptr + index, mask=ok), mask=ok)


@pytest.mark.parametrize("level", LEVELS)
def test_a_kernels_assertion_runs_checked_at_every_level(level):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(100, generator=g)
    index = torch.randint(0, 100, (3000,), generator=g, dtype=torch.int32)
    out = torch.zeros(3000)
    checked_gather[(3,)](x, index, out, 3000, 100, BLOCK=1024, level=level, debug=True)
    assert torch.equal(out, x[index.long()])
    index[2345] = 100
    out.zero_()
    with pytest.raises(
        KernelAssertionError,
        match=r"assertion failed at .*test_kernel_forms.py:\d+:\d+: index out of bounds",
    ):
        checked_gather[(3,)](x, index, out, 3000, 100, BLOCK=1024, level=level, debug=True)
    assert not out.any()  # a failed run leaves the caller's data as it was


def test_a_load_through_an_i1_pointer_is_refused_by_name():
    from xnpu.frontend.ttir import parse_ttir

    text = """
    tt.func public @k(%p: !tt.ptr<i1>, %o: !tt.ptr<i1>) {
      %v = tt.load %p : !tt.ptr<i1>
      tt.store %o, %v : !tt.ptr<i1>
      tt.return
    }"""
    with pytest.raises(
        Exception, match="memory holds bools as bytes: access them through an i8 pointer"
    ):
        xnpu.lower(parse_ttir(text), "scalar")


@triton.jit
def gelu_4d(x_ptr, out_ptr, N: tl.constexpr, H: tl.constexpr, W: tl.constexpr, C: tl.constexpr):
    """A block pointer over a 4-D tensor, ported to plain pointers (hexagon-mlir's
    GELU test of its 4-D layout)."""
    n = tl.arange(0, N)[:, None, None, None]
    h = tl.arange(0, H)[None, :, None, None]
    w = tl.arange(0, W)[None, None, :, None]
    c = tl.arange(0, C)[None, None, None, :]
    offsets = n * (H * W * C) + h * (W * C) + w * C + c
    x = tl.load(x_ptr + offsets)
    inner = 0.797885 * x + 0.035677 * x * x * x
    tl.store(out_ptr + offsets, 0.5 * x * (1 + libdevice.tanh(inner.to(tl.float32)).to(tl.float16)))


def test_a_contiguous_4d_block_moves_as_a_copy_and_vectorizes():
    x = torch.rand(4, 8, 32, 2, generator=torch.Generator().manual_seed(4)).to(torch.float16)
    want = 0.5 * x.float() * (1 + torch.tanh(0.797885 * x.float() + 0.035677 * x.float() ** 3))
    cycles = {}
    for level in LEVELS:
        out = torch.empty_like(x)
        gelu_4d[(1,)](x, out, 4, 8, 32, 2, level=level)
        assert torch.allclose(out.float(), want, atol=2e-3), level
        report = xnpu.last_report()
        assert not [r for r in report.remarks if "element by element" in r or "left scalar" in r]
        cycles[level] = report.cycles
    assert cycles["vec"] < cycles["scalar"] / 10  # one flat loop of 2,048 lanes, not 1,024 of 2


@triton.jit
def wide_softmax(x_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    offsets = rows[:, None] * N + cols[None, :]
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + offsets, mask=mask, other=-float("inf"))
    e = tl.exp(x - tl.max(x, axis=1)[:, None])
    tl.store(out_ptr + offsets, e / tl.sum(e, axis=1)[:, None], mask=mask)


@pytest.mark.parametrize("level", ["scalar", "vec", "vec+mt+db"])
def test_a_block_of_rows_larger_than_the_scratchpad_is_cut_by_rows(level):
    """64 rows of 16,384 fp32 (4 MiB a tile, three tiles) cannot stay whole: npu-tile
    cuts them by rows, each row's reductions whole."""
    x = torch.randn(100, 16000, generator=torch.Generator().manual_seed(5))
    out = torch.empty_like(x)
    wide_softmax[(2,)](x, out, 100, 16000, BM=64, BN=16384, level=level)
    assert torch.allclose(out, torch.softmax(x, 1), atol=1e-6)
    assert any("strip-mined" in r for r in xnpu.last_report().remarks)


@triton.jit
def rows_in_a_loop(x_ptr, out_ptr, ROWS: tl.constexpr, COLS: tl.constexpr):
    """hexagon-mlir's layer norm shape: each program loops over its rows."""
    cols = tl.arange(0, COLS)
    for row in range(tl.program_id(0), ROWS, tl.num_programs(0)):
        x = tl.load(x_ptr + row * COLS + cols)
        tl.store(out_ptr + row * COLS + cols, x - tl.sum(x, axis=0) / COLS)


def test_one_program_looping_over_rows_spreads_its_rows_over_contexts():
    """hexagon-mlir's layer norm launch: one program, MT on. npu-lower-triton proves
    the row loop's trips independent, npu-multithread spreads them; its estimate of
    the work is near the one-context time (it was 300x off)."""
    x = torch.randn(27, 4096, generator=torch.Generator().manual_seed(6))
    measured = {}
    for level in ("vec", "vec+mt"):
        out = torch.empty_like(x)
        rows_in_a_loop[(1,)](x, out, 27, 4096, level=level)
        assert torch.allclose(out, x - x.mean(1, keepdim=True), atol=1e-5)
        measured[level] = xnpu.last_report()
    (remark,) = [r for r in measured["vec+mt"].remarks if "npu-multithread" in r]
    assert "on 4 contexts (model)" in remark and "in 27 iterations" in remark, remark
    estimate = float(remark.split("~")[1].split(" cycles")[0].replace(",", ""))
    assert 0.75 < estimate / measured["vec"].cycles < 1.33, remark
    assert measured["vec+mt"].cycles < measured["vec"].cycles


@triton.jit
def rows_accumulated(x_ptr, out_ptr, ROWS: tl.constexpr, COLS: tl.constexpr):
    """Every trip adds its row into one output row: trips depend on each other."""
    cols = tl.arange(0, COLS)
    for row in range(tl.program_id(0), ROWS, tl.num_programs(0)):
        total = tl.load(out_ptr + cols)
        tl.store(out_ptr + cols, total + tl.load(x_ptr + row * COLS + cols))


@pytest.mark.parametrize("level", LEVELS)
def test_trips_that_depend_on_each_other_stay_in_order(level):
    """MT keeps them on one context; DB does not prefetch the next trip's read of a
    buffer this trip writes back (it read stale sums before)."""
    x = torch.randn(9, 256, generator=torch.Generator().manual_seed(8))
    out = torch.zeros(256)
    rows_accumulated[(1,)](x, out, 9, 256, level=level)
    assert torch.allclose(out, x.sum(0), atol=1e-5)
    remarks = [r for r in xnpu.last_report().remarks if "npu-multithread" in r]
    assert all("kept on one context" in r for r in remarks)


@triton.jit
def regroup(x_ptr, pairs_ptr, transposed_ptr, regrouped_ptr, N: tl.constexpr):
    offsets = tl.arange(0, 2 * N)
    x = tl.load(x_ptr + offsets)
    even, odd = tl.split(x.reshape(N, 2))
    tl.store(pairs_ptr + offsets, tl.join(odd, -even).reshape(2 * N))  # rotate pairs
    m = tl.load(x_ptr + tl.arange(0, 4)[:, None] * 8 + tl.arange(0, 8)[None, :])
    tl.store(transposed_ptr + tl.arange(0, 8)[:, None] * 4 + tl.arange(0, 4)[None, :], tl.trans(m))
    flat = tl.arange(0, 32).reshape(4, 8)  # an arange regrouped stays affine
    tl.store(regrouped_ptr + flat, (m * 2).reshape(8, 4).reshape(4, 8) + flat.to(tl.float32))


@pytest.mark.parametrize("level", LEVELS)
def test_reshape_trans_join_and_split_match_pytorch(level):
    x = torch.randn(64, generator=torch.Generator().manual_seed(7))
    pairs, transposed, regrouped = torch.zeros(64), torch.zeros(32), torch.zeros(32)
    regroup[(1,)](x, pairs, transposed, regrouped, N=32, level=level)
    two = x.reshape(32, 2)
    assert torch.equal(pairs, torch.stack([two[:, 1], -two[:, 0]], 1).reshape(64))
    m = x[:32].reshape(4, 8)
    assert torch.equal(transposed, m.t().reshape(32))
    assert torch.equal(regrouped, (m * 2 + torch.arange(32.0).reshape(4, 8)).reshape(32))


@triton.jit
def per_group(
    x_ptr, w_ptr, out_ptr, n, GROUP: tl.constexpr, GROUPS: tl.constexpr, BLOCK: tl.constexpr
):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offsets)
    w = tl.load(w_ptr + (offsets // GROUP) % GROUPS)  # affine piece by piece
    tl.store(out_ptr + offsets, x * w + (offsets % GROUP).to(tl.float32))


@pytest.mark.parametrize("seed", range(6))
def test_per_group_indices_move_as_one_window_and_vectorize(seed):
    """Group sizes and counts drawn at random (groups straddling blocks, and blocks
    whose groups wrap past the last), against PyTorch at every level."""
    g = torch.Generator().manual_seed(100 + seed)
    group = int(torch.randint(1, 700, (1,), generator=g))
    groups = int(torch.randint(1, 40, (1,), generator=g))
    block = 1 << int(torch.randint(6, 11, (1,), generator=g))
    programs = int(torch.randint(1, 9, (1,), generator=g))
    n = block * programs
    x, w = torch.randn(n, generator=g), torch.randn(groups, generator=g)
    offsets = torch.arange(n)
    want = x * w[(offsets // group) % groups] + (offsets % group).float()
    cycles = {}
    for level in LEVELS:
        out = torch.empty(n)
        per_group[(programs,)](x, w, out, n, GROUP=group, GROUPS=groups, BLOCK=block, level=level)
        assert torch.allclose(out, want, atol=1e-5), (level, group, groups, block)
        report = xnpu.last_report()
        assert any("in one copy, and gathers from the scratchpad" in r for r in report.remarks)
        cycles[level] = report.cycles
    assert not any("left scalar" in r for r in report.remarks), report.remarks
    assert cycles["vec"] < cycles["scalar"] / 4


@triton.jit
def per_group_masked(x_ptr, w_ptr, out_ptr, n, GROUP: tl.constexpr, GROUPS: tl.constexpr,
                     BLOCK: tl.constexpr):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    live = offsets < n
    x = tl.load(x_ptr + offsets, mask=live)
    w = tl.load(w_ptr + (offsets // GROUP) % GROUPS, mask=live, other=0.0)
    tl.store(out_ptr + offsets, x * w, mask=live)


@pytest.mark.parametrize("seed", range(4))
def test_a_masked_window_moves_only_what_live_lanes_read(seed):
    """A ragged last block, and a program past the end (no live lane): the window
    holds what live lanes read, so a buffer of exactly the groups used suffices."""
    g = torch.Generator().manual_seed(200 + seed)
    group = int(torch.randint(1, 300, (1,), generator=g))
    block = 1 << int(torch.randint(6, 10, (1,), generator=g))
    n = int(torch.randint(1, 4 * block, (1,), generator=g))
    groups = (n - 1) // group + 1  # no more groups than the live lanes reach
    x, w = torch.randn(n, generator=g), torch.randn(groups, generator=g)
    offsets = torch.arange(n)
    want = x * w[(offsets // group) % groups]
    programs = (n - 1) // block + 2  # one more than needed
    for level in LEVELS:
        out = torch.zeros(n)
        per_group_masked[(programs,)](x, w, out, n, GROUP=group, GROUPS=groups, BLOCK=block,
                                      level=level)  # fmt: skip
        assert torch.allclose(out, want, atol=1e-6), (level, group, block, n)


@triton.jit
def rows_to_block(x_ptr, out_ptr, n0, n1, B0: tl.constexpr, B1: tl.constexpr):
    """Rows of B1 at a stride of 2 * B1 in, one contiguous block out (fuzz 8080:508)."""
    i = tl.arange(0, B0)[:, None]
    j = tl.arange(0, B1)[None, :]
    x = tl.load(x_ptr + i * (2 * B1) + j, mask=(i < n0 - 3) & (j < n1 - 3), other=-1.5)
    tl.store(out_ptr + i * B1 + j, x)


@pytest.mark.parametrize("level", LEVELS)
def test_a_contiguous_block_written_beside_tiles_of_rows_moves_as_rows(level):
    """The store's block is contiguous, but the load's tile moves as rows: the store
    moves as rows too, so npu-tile cuts both alike (it moved as one range and npu-tile
    cut it as rows: 7,361 of 8,192 elements wrong)."""
    x = torch.randn(256 * 64, generator=torch.Generator().manual_seed(9))
    out = torch.zeros(256 * 32)
    rows_to_block[(1,)](x, out, 256, 32, B0=256, B1=32, level=level)
    want = torch.full((256, 32), -1.5)
    want[:253, :29] = x.reshape(256, 64)[:253, :29]
    assert torch.equal(out, want.reshape(-1))
