"""Kernels the tests use beyond the corpus."""

import triton
import triton.language as tl


@triton.jit
def scale_rows(
    x_ptr,
    s_ptr,
    out_ptr,
    n_rows,
    n_cols,
    STRIDE: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    """A 2-D tile per program: rows x columns of a STRIDE-wide matrix, times a per-row scale."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * STRIDE + cols, mask=mask)
    s = tl.load(s_ptr + rows, mask=rows < n_rows)
    tl.store(out_ptr + rows * STRIDE + cols, x * s, mask=mask)


@triton.jit
def gather(x_ptr, idx_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """out[i] = x[idx[i]]: addresses that are data, not affine."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    idx = tl.load(idx_ptr + offs, mask=mask, other=0)
    tl.store(out_ptr + offs, tl.load(x_ptr + idx, mask=mask), mask=mask)


@triton.jit
def looped_sum(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """A loop inside the kernel carrying an accumulator: lane j sums x[k * BLOCK + j]."""
    acc = tl.zeros((BLOCK,), tl.float32)
    for start in range(0, n, BLOCK):
        acc += tl.load(x_ptr + start + tl.arange(0, BLOCK))
    tl.store(out_ptr + tl.arange(0, BLOCK), acc)


@triton.jit
def halving_while(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """A while loop inside the kernel (scf.while): not supported by npu-lower-triton."""
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    k = n
    while k > 1:
        x = x * 0.5
        k = k // 2
    tl.store(out_ptr + offs, x)


@triton.jit
def leaky_above(x_ptr, out_ptr, n, threshold, BLOCK: tl.constexpr):
    """tl.where on a float comparison with a scalar argument, and an inclusive mask."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs <= n - 1
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    tl.store(out_ptr + offs, tl.where(x > threshold, x, 0.1 * x), mask=mask)


@triton.jit
def ramp(out_ptr, n, BLOCK: tl.constexpr):
    """Writes without reading: a tile loop with write-backs and no input to prefetch."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, offs.to(tl.float32) * 0.5, mask=offs < n)


@triton.jit
def scale_by_loaded(x_ptr, s_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """A scalar load from a pointer argument (`tl.load(s_ptr)`) used by tensor math."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    s = tl.load(s_ptr)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * s, mask=mask)


@triton.jit
def row_max(x_ptr, out_ptr, n_rows, n_cols, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """A 2-D block reduced along its rows: BLOCK_M maxima a program."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * n_cols + cols, mask=mask, other=-float("inf"))
    out = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    tl.store(out_ptr + out, tl.max(x, axis=1), mask=out < n_rows)


@triton.jit
def column_sum(x_ptr, out_ptr, n_rows, n_cols, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """A 2-D block reduced along its columns: BLOCK_N sums of the first BLOCK_M rows."""
    rows = tl.arange(0, BLOCK_M)[:, None]
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * n_cols + cols, mask=mask, other=0.0)
    out = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    tl.store(out_ptr + out, tl.sum(x, axis=0), mask=out < n_cols)


@triton.jit
def whole_block_add(x_ptr, y_ptr, out_ptr, BLOCK: tl.constexpr):
    """Reference style with no program_id term: one program holds the whole tensor."""
    offs = tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs) + tl.load(y_ptr + offs))


@triton.jit
def whole_block_add_2d(x_ptr, y_ptr, out_ptr, R: tl.constexpr, C: tl.constexpr):
    """The 2-D twin: rows x columns of a C-wide matrix, no program_id term."""
    offs = tl.arange(0, R)[:, None] * C + tl.arange(0, C)[None, :]
    tl.store(out_ptr + offs, tl.load(x_ptr + offs) + tl.load(y_ptr + offs))


@triton.jit
def reversed_store(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """Stores on reversed lanes under a mask on them: out[i] = x[i] + 1 for i < n."""
    back = BLOCK - 1 - tl.arange(0, BLOCK)
    tl.store(out_ptr + back, tl.load(x_ptr + back, mask=back < n) + 1.0, mask=back < n)


@triton.jit
def row_shift(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """out[i] = x[i] - max(x[0..n)): one program reduces its whole block, so npu-tile
    cannot cut it; at 2^20 elements a context's set of tiles fills half the scratchpad."""
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=float("-inf"))
    tl.store(out_ptr + offs, x - tl.max(x, axis=0), mask=offs < n)


@triton.jit
def half_to_brain(x_ptr, out_ptr, first_ptr, BLOCK: tl.constexpr):
    """fp16 to bf16 (`tt.fp_to_fp`): a block, and its first element as a scalar."""
    offs = tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs).to(tl.bfloat16))
    tl.store(first_ptr, tl.load(x_ptr).to(tl.bfloat16))


@triton.jit
def sums_then_scaled(x_ptr, sum_ptr, out_ptr, BR: tl.constexpr, BC: tl.constexpr):
    """Row sums stored, then the rows read again and scaled: an output tile is written
    before the program's last input arrives."""
    rows = tl.program_id(0) * BR + tl.arange(0, BR)
    acc = tl.zeros((BR, BC), tl.float32)
    for start in range(0, BC, BC):
        acc += tl.load(x_ptr + rows[:, None] * BC + start + tl.arange(0, BC)[None, :])
    total = tl.sum(acc, axis=1)
    tl.store(sum_ptr + rows, total)
    for start in range(0, BC, BC):
        offs = rows[:, None] * BC + start + tl.arange(0, BC)[None, :]
        tl.store(out_ptr + offs, tl.load(x_ptr + offs) / total[:, None])


@triton.jit
def reversed_rows(x_ptr, out_ptr, stride, R: tl.constexpr, C: tl.constexpr):
    """The rows of a matrix in reverse order, at a runtime row stride."""
    back = (R - 1 - tl.arange(0, R))[:, None]
    cols = tl.arange(0, C)[None, :]
    tl.store(out_ptr + tl.arange(0, R)[:, None] * C + cols, tl.load(x_ptr + back * stride + cols))


@triton.jit
def only_shared_tile(w_ptr, out_ptr, B: tl.constexpr):
    """Its one tile holds what every program loads alike; each program stores a scalar."""
    pid = tl.program_id(0)
    w = tl.load(w_ptr + tl.arange(0, B))
    tl.store(out_ptr + pid, tl.sum(w, axis=0) + pid)
