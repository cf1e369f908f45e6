"""A workload for `xnpu-bench explore --kernel benchmarks/workloads/gelu_mlp.py`: a
PyTorch function compiled with torch.compile(backend="xnpu"); a size is its tokens."""

import torch

import xnpu.dynamo  # noqa: F401  (registers the "xnpu" backend when not installed)

WIDTH = 64


def mlp(x, w1, w2):
    return torch.nn.functional.gelu(x @ w1) @ w2


def inputs(size, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(size, WIDTH, generator=generator).half()
    w1, w2 = (torch.randn(WIDTH, WIDTH, generator=generator).half() / WIDTH**0.5 for _ in range(2))
    return x, w1, w2


run = torch.compile(mlp, backend="xnpu", dynamic=False)


def reference(x, w1, w2):
    return mlp(x.float(), w1.float(), w2.float())


ATOL, RTOL = 2e-2, 2e-2
