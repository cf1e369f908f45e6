"""Triton kernels Inductor generated, stored by `python -m xnpu.kernels.capture`."""
