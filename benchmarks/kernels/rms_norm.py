"""RMS norm over rows, one row per program instance (BLOCK_SIZE >= n_cols)."""

import triton
import triton.language as tl


@triton.jit
def rms_norm(x_ptr, y_ptr, w_ptr, row_stride, n_cols, eps, BLOCK_SIZE: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_SIZE)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * row_stride + cols, mask=mask, other=0.0)
    mean_square = tl.sum(x * x, axis=0) / n_cols
    w = tl.load(w_ptr + cols, mask=mask)
    tl.store(y_ptr + row * row_stride + cols, x * tl.math.rsqrt(mean_square + eps) * w, mask=mask)


SIGNATURE = {
    "x_ptr": "*fp32",
    "y_ptr": "*fp32",
    "w_ptr": "*fp32",
    "row_stride": "i32",
    "n_cols": "i32",
    "eps": "fp32",
}
CONSTEXPRS = {"BLOCK_SIZE": 1024}

KERNEL = rms_norm
