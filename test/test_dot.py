"""`tl.dot` on the NPU: matrix products with and without an accumulator, in a K loop
with ragged tails, fused with a bias and an activation, batched, against a
transposed operand, in fp16, fp32 and int8, and flash attention (online softmax,
two dots a key block, causal or not), at every level, against PyTorch."""

from __future__ import annotations

import math

import pytest
import torch
import triton
import triton.language as tl

import xnpu
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.kernels import corpus_kernel
from xnpu.kernels.cases import make_case
from xnpu.kernels.flash_attention import flash_attention
from xnpu.kernels.matmul import matmul
from xnpu.machines import MACHINES_DIR
from xnpu.transforms.pipelines import LEVELS


@triton.jit
def linear_relu(x_ptr, w_ptr, bias_ptr, y_ptr, N: tl.constexpr, K: tl.constexpr,
                BM: tl.constexpr):  # fmt: skip
    """y = relu(x @ w + bias) for one block of rows: a dot with no accumulator of its
    own, fused with what follows."""
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn, rk = tl.arange(0, N), tl.arange(0, K)
    x = tl.load(x_ptr + rm[:, None] * K + rk[None, :])
    w = tl.load(w_ptr + rk[:, None] * N + rn[None, :])
    y = tl.dot(x, w) + tl.load(bias_ptr + rn)[None, :]
    tl.store(y_ptr + rm[:, None] * N + rn[None, :], tl.maximum(y, 0.0))


@triton.jit
def scores(q_ptr, k_ptr, s_ptr, L: tl.constexpr, D: tl.constexpr):
    """q @ k^T, scaled: attention's first product, k read as stored and transposed."""
    rl, rd = tl.arange(0, L), tl.arange(0, D)
    q = tl.load(q_ptr + rl[:, None] * D + rd[None, :])
    k = tl.load(k_ptr + rl[:, None] * D + rd[None, :])
    s = tl.dot(q, tl.trans(k)) * 0.125
    tl.store(s_ptr + rl[:, None] * L + rl[None, :], s)


@triton.jit
def batched(a_ptr, b_ptr, c_ptr, B: tl.constexpr, M: tl.constexpr, N: tl.constexpr,
            K: tl.constexpr):  # fmt: skip
    """A rank-3 dot: a batch of products, matched lane by lane along the first dim."""
    rb, rm = tl.arange(0, B), tl.arange(0, M)
    rn, rk = tl.arange(0, N), tl.arange(0, K)
    a = tl.load(a_ptr + rb[:, None, None] * M * K + rm[None, :, None] * K + rk[None, None, :])
    b = tl.load(b_ptr + rb[:, None, None] * K * N + rk[None, :, None] * N + rn[None, None, :])
    c = tl.dot(a, b)
    tl.store(c_ptr + rb[:, None, None] * M * N + rm[None, :, None] * N + rn[None, None, :], c)


def _tolerance(dtype: torch.dtype, depth: int) -> float:
    """Sums of `depth` products in f32 may add in another order than PyTorch's."""
    return 1e-5 * depth if dtype != torch.int8 else 0.0


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_the_tutorial_matmul_matches_pytorch(xnpu_driver, level, dtype):
    """The corpus matmul (Triton's tutorial: grouped ordering, a K loop that bumps its
    pointers) with tails in every dim, in each input type."""
    M, N, K = 70, 50, 90
    gen = torch.Generator().manual_seed(1)
    a, b = (torch.randn(*s, generator=gen).to(dtype) for s in ((M, K), (K, N)))
    c = torch.full((M, N), float("nan"))
    grid = (triton.cdiv(M, 32) * triton.cdiv(N, 32),)
    matmul[grid](a, b, c, M, N, K, K, N, N, BLOCK_M=32, BLOCK_N=32, BLOCK_K=32, GROUP_M=2,
                 level=level)  # fmt: skip
    torch.testing.assert_close(c, a.float() @ b.float(), atol=_tolerance(dtype, K), rtol=1e-5)
    assert xnpu.last_report().cycles > 0


@pytest.mark.parametrize("level", LEVELS)
def test_a_dot_fused_with_bias_and_relu_matches_pytorch(xnpu_driver, level):
    gen = torch.Generator().manual_seed(2)
    x, w, bias = (
        torch.randn(64, 32, generator=gen),
        torch.randn(32, 16, generator=gen),
        torch.randn(16, generator=gen),
    )
    y = torch.empty(64, 16)
    linear_relu[(4,)](x, w, bias, y, N=16, K=32, BM=16, level=level)
    torch.testing.assert_close(y, torch.relu(x @ w + bias), atol=1e-4, rtol=1e-5)
    # fp32 stays on the vector unit, and the remark says why
    report = xnpu.last_report()
    assert report.matrix_cycles == 0
    left = "npu-matrix: product left on the vector unit: the matrix unit multiplies f16 into "
    assert any(f"{left}f32 or f16; i8 into i32, not f32 into f32" in r for r in report.remarks) == (
        level != "scalar"
    )


@pytest.mark.parametrize("level", ["scalar", "vec+mt+db"])
def test_a_dot_against_a_transposed_operand_matches_pytorch(xnpu_driver, level):
    gen = torch.Generator().manual_seed(3)
    q, k = (torch.randn(16, 32, generator=gen).half() for _ in range(2))
    s = torch.empty(16, 16)
    scores[(1,)](q, k, s, L=16, D=32, level=level)
    torch.testing.assert_close(s, (q.float() @ k.float().T) * 0.125, atol=1e-4, rtol=1e-5)
    # input precision concerns fp32 inputs only: an fp16 dot has nothing to say of it
    assert not any("inputPrecision" in r for r in xnpu.last_report().remarks)


@pytest.mark.parametrize("level", ["scalar", "vec+mt+db"])
def test_a_batched_dot_matches_pytorch(xnpu_driver, level):
    gen = torch.Generator().manual_seed(4)
    a, b = torch.randn(2, 8, 16, generator=gen), torch.randn(2, 16, 4, generator=gen)
    c = torch.empty(2, 8, 4)
    batched[(1,)](a, b, c, B=2, M=8, N=4, K=16, level=level)
    torch.testing.assert_close(c, a @ b, atol=1e-4, rtol=1e-5)


def test_an_int8_dot_accumulates_exactly_in_int32(xnpu_driver):
    """int8 into int32: on the matrix unit from vec on, exact."""
    gen = torch.Generator().manual_seed(5)
    a = torch.randint(-128, 128, (32, 64), generator=gen, dtype=torch.int8)
    b = torch.randint(-128, 128, (64, 16), generator=gen, dtype=torch.int8)
    for level in ("scalar", "vec"):
        c = torch.empty(1, 32, 16, dtype=torch.int32)
        batched[(1,)](a[None], b[None], c, B=1, M=32, N=16, K=64, level=level)
        assert torch.equal(c[0], a.int() @ b.int())
        assert (xnpu.last_report().matrix_cycles > 0) == (level == "vec")


def test_a_tf32_dot_is_computed_in_fp32_and_says_so(xnpu_driver):
    """input_precision="tf32" lets the hardware round fp32 inputs to tf32; xnpu
    multiplies them as they are (closer to PyTorch's fp32), and the remark says so."""
    gen = torch.Generator().manual_seed(6)
    x, w, bias = (
        torch.randn(16, 32, generator=gen),
        torch.randn(32, 16, generator=gen),
        torch.zeros(16),
    )
    y = torch.empty(16, 16)
    tf32_linear[(1,)](x, w, bias, y, N=16, K=32, BM=16, level="scalar")
    torch.testing.assert_close(y, x @ w, atol=1e-4, rtol=1e-5)
    assert any("inputPrecision=tf32" in r for r in xnpu.last_report().remarks)


@triton.jit
def tf32_linear(x_ptr, w_ptr, bias_ptr, y_ptr, N: tl.constexpr, K: tl.constexpr,
                BM: tl.constexpr):  # fmt: skip
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn, rk = tl.arange(0, N), tl.arange(0, K)
    x = tl.load(x_ptr + rm[:, None] * K + rk[None, :])
    w = tl.load(w_ptr + rk[:, None] * N + rn[None, :])
    y = tl.dot(x, w, input_precision="tf32") + tl.load(bias_ptr + rn)[None, :]
    tl.store(y_ptr + rm[:, None] * N + rn[None, :], y)


@pytest.mark.parametrize(
    ("dtype", "level"),
    [*((torch.float32, level) for level in LEVELS), (torch.float16, "vec+mt+db")],
)
@pytest.mark.parametrize("causal", [False, True])
def test_flash_attention_matches_pytorchs_attention(xnpu_driver, dtype, level, causal):
    """hexagon-mlir's own flash attention test, in Triton's style: 2 heads of 100
    queries (a ragged last block) of 32 dims, blocks of 32 queries and 32 keys."""
    heads, length, dims = 2, 100, 32
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(heads, length, dims, generator=gen).to(dtype) for _ in range(3))
    o = torch.full((heads, length, dims), float("nan"), dtype=dtype)
    flash_attention[(triton.cdiv(length, 32), heads)](
        q,
        k,
        v,
        o,
        length,
        1 / math.sqrt(dims),
        D=dims,
        BLOCK_M=32,
        BLOCK_N=32,
        CAUSAL=causal,
        level=level,
    )
    want = torch.nn.functional.scaled_dot_product_attention(
        q.float(), k.float(), v.float(), is_causal=causal
    )
    tolerance = 1e-5 if dtype == torch.float32 else 2e-3  # fp16's output rounding
    torch.testing.assert_close(o.float(), want, atol=tolerance, rtol=tolerance)


@triton.jit
def widened_dot(a_ptr, b_ptr, c_ptr, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    """The fuzzer's 5:76, minimized: operands converted before the dot (so computed
    into tiles of their own), masked on N and K, the store masked on M and N."""
    rm, rn, rk = tl.arange(0, BM), tl.arange(0, BN), tl.arange(0, BK)
    a_mask = (rm[:, None] < 35) & (rk[None, :] < K)
    b_mask = (rk[:, None] < K) & (rn[None, :] < N)
    a = tl.load(a_ptr + rm[:, None] * K + rk[None, :], mask=a_mask, other=0.0)
    b = tl.load(b_ptr + rk[:, None] * N + rn[None, :], mask=b_mask, other=0.0)
    c = tl.dot(a.to(tl.float32), b.to(tl.float32))
    c_mask = (rm[:, None] < 35) & (rn[None, :] < N)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], c, mask=c_mask)


@pytest.mark.parametrize("level", ["scalar", "vec+mt+db"])
def test_operands_computed_into_tiles_cover_their_own_lanes(xnpu_driver, level):
    """A dot's converted operand went to a tile computed only over the store's mask
    box (rows < 35, columns < N), which its own lanes (rows and k) do not follow: the
    k lanes past N were never written. A tile follows a store's box only when it
    reaches the store lane for lane."""
    gen = torch.Generator().manual_seed(8)
    a, b = torch.randn(35, 52, generator=gen).half(), torch.randn(52, 7, generator=gen).half()
    c = torch.zeros(35, 7)
    widened_dot[(1,)](a, b, c, 7, 52, BM=64, BN=16, BK=64, level=level)
    torch.testing.assert_close(c, a.float() @ b.float(), atol=1e-4, rtol=1e-5)


def test_an_fp16_dot_runs_on_the_matrix_unit_from_vec_on(xnpu_driver):
    """q @ k^T of 16 x 32 by 32 x 16 in fp16: one tile product on the matrix unit at
    vec (its setup, one 32 x 32 x 32 product, one accumulator moved: 100 + 32 + 32
    cycles on edge-npu), none at the scalar level, which multiplies element by element."""
    gen = torch.Generator().manual_seed(9)
    q, k = (torch.randn(16, 32, generator=gen).half() for _ in range(2))
    for level, matrix_cycles in (("scalar", 0), ("vec", 164)):
        s = torch.empty(16, 16)
        scores[(1,)](q, k, s, L=16, D=32, level=level)
        torch.testing.assert_close(s, (q.float() @ k.float().T) * 0.125, atol=1e-4, rtol=1e-5)
        assert xnpu.last_report().matrix_cycles == matrix_cycles


@pytest.fixture
def no_matrix_machine(tmp_path) -> str:
    """edge-npu's machine file without its [matrix] section, named no-matrix."""
    text = MACHINES_DIR.joinpath("edge-npu.toml").read_text()
    start = text.index("[matrix]")
    end = text.index("\n[", start + 1)
    path = tmp_path / "no-matrix.toml"
    path.write_text((text[:start] + text[end + 1 :]).replace('"edge-npu"', '"no-matrix"', 1))
    return str(path)


def test_a_machine_with_no_matrix_unit_multiplies_on_the_vector_unit(
    xnpu_driver, no_matrix_machine
):
    """A machine file without [matrix]: the fp16 dot stays a loop nest (vectorized),
    with a remark that names the machine."""
    gen = torch.Generator().manual_seed(11)
    q, k = (torch.randn(16, 32, generator=gen).half() for _ in range(2))
    s = torch.empty(16, 16)
    scores[(1,)](q, k, s, L=16, D=32, level="vec", machine=no_matrix_machine)
    torch.testing.assert_close(s, (q.float() @ k.float().T) * 0.125, atol=1e-4, rtol=1e-5)
    report = xnpu.last_report()
    assert report.matrix_cycles == 0
    assert any("machine 'no-matrix' has no matrix unit" in r for r in report.remarks)


@triton.jit
def wrapped_rows(a_ptr, b_ptr, c_ptr, M: tl.constexpr, N: tl.constexpr, K: tl.constexpr,
                 BM: tl.constexpr):  # fmt: skip
    """Inductor's mm template's rows: wrapped modulo M, hinted contiguous in blocks of BM
    (a hint Inductor gives even when M is no multiple of BM)."""
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    am = tl.max_contiguous(tl.multiple_of(rm % M, BM), BM)
    rn, rk = tl.arange(0, N), tl.arange(0, K)
    a = tl.load(a_ptr + am[:, None] * K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * N + rn[None, :])
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], tl.dot(a, b), mask=rm[:, None] < M)


@pytest.mark.parametrize(("rows", "moved_as_a_box"), [(96, True), (100, False)])
def test_rows_wrapped_modulo_m_move_as_a_box_only_when_no_block_wraps(
    xnpu_driver, rows, moved_as_a_box
):
    """M = 96 in blocks of 32: no block wraps, so each block's rows are one box. M = 100:
    the last block wraps (rows 96..99, then 0..27), whatever the hint says: its rows are
    read element by element, and the result is still right."""
    gen = torch.Generator().manual_seed(13)
    a, b = torch.randn(rows, 32, generator=gen).half(), torch.randn(32, 16, generator=gen).half()
    c = torch.zeros(rows, 16)
    wrapped_rows[(triton.cdiv(rows, 32),)](a, b, c, M=rows, N=16, K=32, BM=32, level="vec")
    torch.testing.assert_close(c, a.float() @ b.float(), atol=1e-4, rtol=1e-5)
    gathered = any("gathered element by element" in r for r in xnpu.last_report().remarks)
    assert gathered != moved_as_a_box


def test_a_product_lowered_for_the_matrix_unit_refuses_a_machine_without_one(no_matrix_machine):
    """A module lowered for edge-npu holds spm.matmul; run on a machine with no matrix
    unit, it fails naming the op and what to do, and leaves the output as it was."""
    module = xnpu.lower(corpus_kernel("matmul").to_tt(), "vec")
    case = make_case("matmul", 100)
    with pytest.raises(InterpreterError, match="machine 'no-matrix' has no matrix unit"):
        xnpu.run(module, *case.args, grid=case.grid, machine=no_matrix_machine)
    assert torch.isnan(case.args[2]).all()  # the output, NaN before the run, untouched
