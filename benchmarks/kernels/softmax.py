"""Row softmax, one row per program instance (Triton tutorial style; BLOCK_SIZE >= n_cols)."""

import triton
import triton.language as tl


@triton.jit
def softmax(out_ptr, in_ptr, in_row_stride, out_row_stride, n_cols, BLOCK_SIZE: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_SIZE)
    mask = cols < n_cols
    x = tl.load(in_ptr + row * in_row_stride + cols, mask=mask, other=-float("inf"))
    x = x - tl.max(x, axis=0)
    numerator = tl.exp(x)
    denominator = tl.sum(numerator, axis=0)
    tl.store(out_ptr + row * out_row_stride + cols, numerator / denominator, mask=mask)


SIGNATURE = {
    "out_ptr": "*fp32",
    "in_ptr": "*fp32",
    "in_row_stride": "i32",
    "out_row_stride": "i32",
    "n_cols": "i32",
}
CONSTEXPRS = {"BLOCK_SIZE": 1024}

KERNEL = softmax
