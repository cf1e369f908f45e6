"""gelu_tanh on fp16 tensors: it computes in fp16 but for the exponential."""

from xnpu.kernels.gelu_tanh import CONSTEXPRS, gelu_tanh

SIGNATURE = {"x_ptr": "*fp16", "out_ptr": "*fp16", "n_elements": "i32"}

KERNEL = gelu_tanh
__all__ = ["CONSTEXPRS", "KERNEL", "SIGNATURE"]
