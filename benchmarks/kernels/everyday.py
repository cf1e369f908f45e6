"""
Everyday PyTorch functions (norms, activations, losses, indexing) that
`torch.compile(backend="xnpu")` runs on the NPU: each with its inputs. The tests run
them at every level against eager PyTorch (test/test_everyday.py); the benchmark
prints their ladder (benchmarks/everyday.py, the table in docs/results.md).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

_G = torch.Generator().manual_seed(29)
_X = torch.randn(32, 512, generator=_G)
_TARGET = torch.randint(0, 512, (32,), generator=_G)
_TABLE = torch.randn(1000, 128, generator=_G)
_TOKENS = torch.randint(0, 1000, (64,), generator=_G)
_IMAGE = torch.randn(8, 32, 16, 16, generator=_G)
_GAMMA, _BETA = torch.randn(32, generator=_G), torch.randn(32, generator=_G)


_HEADS = torch.randn(2, 4, 32, 64, generator=_G)
_COS, _SIN = torch.randn(32, 64, generator=_G), torch.randn(32, 64, generator=_G)


def _rotary(x, cos, sin):
    """Rotary position embedding as transformer code writes it: slices and a cat."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def _batch_norm_eval(x):
    mean, var = torch.linspace(-1, 1, 32), torch.linspace(0.5, 2, 32)
    return F.batch_norm(x, mean, var, _GAMMA, _BETA, training=False)


EVERYDAY: dict[str, tuple[Callable, tuple]] = {
    "normalize": (lambda x: F.normalize(x, dim=-1), (_X,)),
    "batch_norm (eval)": (_batch_norm_eval, (_IMAGE,)),
    "group_norm": (lambda x: F.group_norm(x, 8, _GAMMA, _BETA), (_IMAGE,)),
    "masked_fill": (lambda x: x.masked_fill(x > 1.0, -1e4), (_X,)),
    "log_softmax": (lambda x: F.log_softmax(x, -1), (_X,)),
    "cross_entropy": (F.cross_entropy, (_X, _TARGET)),
    "mse_loss": (lambda x: F.mse_loss(x, torch.tanh(x)), (_X,)),
    "embedding": (F.embedding, (_TOKENS, _TABLE)),
    "hardswish": (F.hardswish, (_X,)),
    "softplus": (F.softplus, (_X,)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), (_X,)),
    "sqrt": (lambda x: x.abs().sqrt() + 1.0, (_X,)),
    "rotary (slices, cat)": (_rotary, (_HEADS, _COS, _SIN)),
}
"""Name -> (the function, its inputs)."""
