"""Triton kernels in the forms real code is written in, beyond the corpus: runtime
strides, tensor descriptors, two-sided masks, argmax, scans, loops inside kernels,
16-bit floats. test/test_coverage.py checks each against PyTorch at every level;
benchmarks/triton_forms.py measures them."""

import triton
import triton.language as tl


@triton.jit
def strided_rows(
    x_ptr,
    out_ptr,
    n_rows,
    n_cols,
    stride_xm,
    stride_om,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    """Rows at a runtime stride (a kernel argument), as Triton's tutorials index them."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * stride_xm + cols, mask=mask, other=0.0)
    tl.store(out_ptr + rows * stride_om + cols, x * 2.0 + 1.0, mask=mask)


@triton.jit
def strided_softmax(x_ptr, out_ptr, n_cols, stride_xm, stride_om, BLOCK: tl.constexpr):
    """Triton's softmax tutorial: one row a program, its start at row * stride."""
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride_xm + cols, mask=cols < n_cols, other=-float("inf"))
    e = tl.exp(x - tl.max(x, axis=0))
    tl.store(out_ptr + row * stride_om + cols, e / tl.sum(e, axis=0), mask=cols < n_cols)


@triton.jit
def strided_columns(x_ptr, out_ptr, n, stride, BLOCK: tl.constexpr):
    """A column of a matrix: lanes a runtime stride apart."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs * stride, mask=offs < n, other=0.0)
    tl.store(out_ptr + offs, x + 1.0, mask=offs < n)


@triton.jit
def both_strides(x_ptr, out_ptr, n_rows, n_cols, stride_m, stride_n, BLOCK: tl.constexpr):
    """Rows and columns both at runtime strides: nothing contiguous to copy."""
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)[:, None]
    cols = tl.arange(0, BLOCK)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * stride_m + cols * stride_n, mask=mask, other=0.0)
    tl.store(out_ptr + rows * n_cols + cols, x, mask=mask)


@triton.jit
def descriptor_add(x_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    """Tensor descriptors (Triton 3.9's block-pointer replacement) on a 2-D matrix."""
    xd = tl.make_tensor_descriptor(x_ptr, shape=[M, N], strides=[N, 1], block_shape=[BM, BN])
    od = tl.make_tensor_descriptor(out_ptr, shape=[M, N], strides=[N, 1], block_shape=[BM, BN])
    m = tl.program_id(0) * BM
    n = tl.program_id(1) * BN
    od.store([m, n], xd.load([m, n]) + 1.0)


@triton.jit
def shifted_window(x_ptr, out_ptr, n, shift, BLOCK: tl.constexpr):
    """out[i] = x[i - shift] where 0 <= i - shift < n, else 0: a mask bounded on both sides."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    src = offs - shift
    x = tl.load(x_ptr + src, mask=(src >= 0) & (src < n), other=0.0)
    tl.store(out_ptr + offs, x, mask=offs < n)


@triton.jit
def row_argmax(x_ptr, max_ptr, min_ptr, n_cols, BLOCK: tl.constexpr):
    """argmax and argmin of each row: reductions of values and indices together."""
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * n_cols + cols, mask=cols < n_cols, other=float("nan"))
    x = tl.where(cols < n_cols, x, -float("inf"))
    tl.store(max_ptr + row, tl.argmax(x, axis=0))
    y = tl.load(x_ptr + row * n_cols + cols, mask=cols < n_cols, other=float("inf"))
    tl.store(min_ptr + row, tl.argmin(y, axis=0))


@triton.jit
def block_argmax(x_ptr, out_ptr, n_rows, n_cols, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """argmax along the rows of a 2-D block: a tile of BLOCK_M indices per program."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    mask = (rows[:, None] < n_rows) & (cols[None, :] < n_cols)
    x = tl.load(x_ptr + rows[:, None] * n_cols + cols[None, :], mask=mask, other=-float("inf"))
    tl.store(out_ptr + rows, tl.argmax(x, axis=1), mask=rows < n_rows)


@triton.jit
def scans(x_ptr, sum_ptr, prod_ptr, rsum_ptr, n, BLOCK: tl.constexpr):
    """tl.cumsum, tl.cumprod and a reversed cumsum of one block a program."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    tl.store(sum_ptr + offs, tl.cumsum(x, axis=0), mask=mask)
    tl.store(rsum_ptr + offs, tl.cumsum(x, axis=0, reverse=True), mask=mask)
    one = tl.load(x_ptr + offs, mask=mask, other=1.0)
    tl.store(prod_ptr + offs, tl.cumprod(one, axis=0), mask=mask)


@triton.jit
def row_cumsum(x_ptr, out_ptr, n_rows, n_cols, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """cumsum along the columns of a 2-D block."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.arange(0, BLOCK_N)[None, :]
    mask = (rows < n_rows) & (cols < n_cols)
    x = tl.load(x_ptr + rows * n_cols + cols, mask=mask, other=0.0)
    tl.store(out_ptr + rows * n_cols + cols, tl.cumsum(x, axis=1), mask=mask)


@triton.jit
def looped_layer_norm(x_ptr, w_ptr, b_ptr, out_ptr, stride, n_cols, eps, BLOCK: tl.constexpr):
    """Triton's layer-norm tutorial: a row a program, three loops over its column chunks."""
    row = tl.program_id(0)
    x_ptr += row * stride
    out_ptr += row * stride
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for off in range(0, n_cols, BLOCK):
        cols = off + tl.arange(0, BLOCK)
        acc += tl.load(x_ptr + cols, mask=cols < n_cols, other=0.0)
    mean = tl.sum(acc, axis=0) / n_cols
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for off in range(0, n_cols, BLOCK):
        cols = off + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + cols, mask=cols < n_cols, other=0.0)
        x = tl.where(cols < n_cols, x - mean, 0.0)
        acc += x * x
    rstd = 1 / tl.sqrt(tl.sum(acc, axis=0) / n_cols + eps)
    for off in range(0, n_cols, BLOCK):
        cols = off + tl.arange(0, BLOCK)
        mask = cols < n_cols
        w = tl.load(w_ptr + cols, mask=mask)
        b = tl.load(b_ptr + cols, mask=mask)
        x = tl.load(x_ptr + cols, mask=mask, other=0.0)
        tl.store(out_ptr + cols, (x - mean) * rstd * w + b, mask=mask)


@triton.jit
def online_softmax(x_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    """Softmax of a row in two passes: the first carries the running max and sum as
    scalars (rescaling the sum when the max grows)."""
    row = tl.program_id(0)
    x_ptr += row * n_cols
    out_ptr += row * n_cols
    m = -float("inf")
    total = 0.0
    for off in range(0, n_cols, BLOCK):
        cols = off + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + cols, mask=cols < n_cols, other=-float("inf"))
        m_new = tl.maximum(m, tl.max(x, axis=0))
        total = total * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0)
        m = m_new
    for off in range(0, n_cols, BLOCK):
        cols = off + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + cols, mask=cols < n_cols, other=-float("inf"))
        tl.store(out_ptr + cols, tl.exp(x - m) / total, mask=cols < n_cols)


@triton.jit
def looped_row_sums(x_ptr, out_ptr, n_rows, n_cols, XBLOCK: tl.constexpr, RBLOCK: tl.constexpr):
    """Inductor's looped reduction (triton_red_*): a 2-D accumulator carried over
    column chunks, updated under the chunk's mask, reduced after the loop."""
    rows = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)[:, None]
    rmask = rows < n_rows
    acc = tl.full([XBLOCK, RBLOCK], 0, tl.float32)
    for off in range(0, n_cols, RBLOCK):
        cols = off + tl.arange(0, RBLOCK)[None, :]
        cmask = cols < n_cols
        x = tl.load(x_ptr + cols + n_cols * rows, cmask & rmask, other=0.0)
        acc = tl.where(cmask & rmask, acc + x, acc)
    tl.store(out_ptr + rows, tl.sum(acc, 1)[:, None], rmask)


@triton.jit
def carried_across_lanes(x_ptr, out_ptr, n, R: tl.constexpr, C: tl.constexpr):
    """Two carried tensors, where one's update reads the other through a broadcast:
    both updates must see the values from before the trip."""
    col = tl.zeros([C], tl.float32)
    grid = tl.zeros([R, C], tl.float32)
    scale = tl.arange(0, R)[:, None] + 1.0
    for off in range(0, n, C):
        x = tl.load(x_ptr + off + tl.arange(0, C))
        grid, col = grid * 0.5 + col[None, :] * scale, col * 0.5 + x
    tl.store(out_ptr + tl.arange(0, R)[:, None] * C + tl.arange(0, C)[None, :], grid)


@triton.jit
def nested_loops(x_ptr, w_ptr, out_ptr, n_rows, n_cols, BLOCK: tl.constexpr):
    """A loop in a loop, with a scalar load in the outer one: lane j sums
    w[r] * x[r, k * BLOCK + j] over rows r and chunks k."""
    acc = tl.zeros([BLOCK], tl.float32)
    for r in range(0, n_rows):
        w = tl.load(w_ptr + r)
        for off in range(0, n_cols, BLOCK):
            cols = off + tl.arange(0, BLOCK)
            acc += w * tl.load(x_ptr + r * n_cols + cols, mask=cols < n_cols, other=0.0)
    tl.store(out_ptr + tl.arange(0, BLOCK), acc)


@triton.jit
def half_gelu(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """GELU on 16-bit floats computed in f32, as Triton code usually does."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    y = 0.5 * x * (1.0 + tl.erf(x * 0.7071067811865476))
    tl.store(out_ptr + offs, y.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def half_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """An add in the 16-bit type itself."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x + tl.load(y_ptr + offs, mask=mask), mask=mask)


@triton.jit
def masked_scalar_load(x_ptr, out_ptr, flag):
    """A scalar load and a scalar store under scalar masks: each touches memory only
    when its mask holds."""
    tl.store(out_ptr, tl.load(x_ptr, mask=flag > 0, other=-1.0))
    tl.store(out_ptr + 1, 7.0, mask=flag > 1)


@triton.jit
def bumped_sum(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """Pointers carried by a loop and bumped each trip: lane j sums x[k * BLOCK + j]."""
    acc = tl.zeros([BLOCK], tl.float32)
    pointers = x_ptr + tl.arange(0, BLOCK)
    for _ in range(0, n, BLOCK):
        acc += tl.load(pointers)
        pointers += BLOCK
    tl.store(out_ptr + tl.arange(0, BLOCK), acc)


@triton.jit
def bumped_rows(x_ptr, out_ptr, n_rows, n_cols, stride, BLOCK: tl.constexpr):
    """Scalar row pointers moved by a runtime stride each trip: out = 2 x, row by row."""
    row_in = x_ptr
    row_out = out_ptr
    cols = tl.arange(0, BLOCK)
    for _ in range(n_rows):
        x = tl.load(row_in + cols, mask=cols < n_cols, other=0.0)
        tl.store(row_out + cols, x * 2.0, mask=cols < n_cols)
        row_in += stride
        row_out += stride


@triton.jit
def stepped_sum(x_ptr, out_ptr, n, step, BLOCK: tl.constexpr):
    """A kernel loop whose step is an argument: lane j sums x[k * step + j]."""
    acc = tl.zeros([BLOCK], tl.float32)
    for off in range(0, n, step):
        acc += tl.load(x_ptr + off + tl.arange(0, BLOCK))
    tl.store(out_ptr + tl.arange(0, BLOCK), acc)


@triton.jit
def lane_argmax(x_ptr, best_ptr, where_ptr, seen_ptr, n, BLOCK: tl.constexpr):
    """Carried tensors of f32, i32 and i1: each lane's running max over the chunks, the
    column it was found at, and whether any element passed 2."""
    best = tl.full([BLOCK], -float("inf"), tl.float32)
    where = tl.zeros([BLOCK], tl.int32)
    seen = tl.zeros([BLOCK], tl.int1)
    for off in range(0, n, BLOCK):
        cols = off + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + cols, mask=cols < n, other=-float("inf"))
        take = x > best
        best = tl.where(take, x, best)
        where = tl.where(take, cols, where)
        seen = seen | (x > 2.0)
    lanes = tl.arange(0, BLOCK)
    tl.store(best_ptr + lanes, best)
    tl.store(where_ptr + lanes, where)
    tl.store(seen_ptr + lanes, seen.to(tl.int32))


@triton.jit
def rows_online_softmax(x_ptr, out_ptr, n_rows, n_cols, BM: tl.constexpr, BN: tl.constexpr):
    """Online softmax of a block of rows (flash attention's row statistics): the running
    max and sum of each row carried as tensors, updated from row reductions of each
    chunk and read back through broadcasts."""
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    rmask = rows < n_rows
    m = tl.full([BM], -float("inf"), tl.float32)
    total = tl.zeros([BM], tl.float32)
    for off in range(0, n_cols, BN):
        cols = off + tl.arange(0, BN)
        mask = rmask[:, None] & (cols[None, :] < n_cols)
        x = tl.load(x_ptr + rows[:, None] * n_cols + cols[None, :], mask=mask, other=-float("inf"))
        m_new = tl.maximum(m, tl.max(x, axis=1))
        total = total * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new[:, None]), axis=1)
        m = m_new
    for off in range(0, n_cols, BN):
        cols = off + tl.arange(0, BN)
        mask = rmask[:, None] & (cols[None, :] < n_cols)
        x = tl.load(x_ptr + rows[:, None] * n_cols + cols[None, :], mask=mask, other=-float("inf"))
        y = tl.exp(x - m[:, None]) / total[:, None]
        tl.store(out_ptr + rows[:, None] * n_cols + cols[None, :], y, mask=mask)


@triton.jit
def stored_then_read_back(x_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    """A row stored, then read back from DDR and stored again: out = 2 x + 1."""
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * n_cols + cols, mask=mask, other=0.0)
    tl.store(out_ptr + row * n_cols + cols, x * 2.0, mask=mask)
    back = tl.load(out_ptr + row * n_cols + cols, mask=mask, other=0.0)
    tl.store(out_ptr + row * n_cols + cols, back + 1.0, mask=mask)


@triton.jit
def read_back_in_a_later_loop(x_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    """Inductor's in_out_ptr, as its looped softmax keeps exp(x - max): a row stored
    chunk by chunk, then read back and stored again by a second loop: out = 2 x + 1."""
    row = tl.program_id(0)
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        mask = cols < n_cols
        x = tl.load(x_ptr + row * n_cols + cols, mask=mask, other=0.0)
        tl.store(out_ptr + row * n_cols + cols, x * 2.0, mask=mask)
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        mask = cols < n_cols
        back = tl.load(out_ptr + row * n_cols + cols, mask=mask, other=0.0)
        tl.store(out_ptr + row * n_cols + cols, back + 1.0, mask=mask)
