"""A small transformer block as a PyTorch function, for torch.compile(backend="xnpu"):
layer norm, causal self-attention of `HEADS` heads, residual, layer norm, GELU MLP,
residual; fp16 throughout, as the matrix unit takes it. `block_inputs` draws its
input and weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F

HEADS = 2


def transformer_block(x, wq, wk, wv, wo, w1, w2, norm_w, norm_b):
    """x: (tokens, dims); each w a (dims, dims) projection, w1 (dims, 2 dims) and w2
    (2 dims, dims) the MLP's."""
    tokens, dims = x.shape
    h = F.layer_norm(x, (dims,), norm_w, norm_b)
    q, k, v = ((h @ w).view(tokens, HEADS, dims // HEADS).transpose(0, 1) for w in (wq, wk, wv))
    attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + attended.transpose(0, 1).reshape(tokens, dims) @ wo
    h = F.layer_norm(x, (dims,), norm_w, norm_b)
    return x + F.gelu(h @ w1) @ w2


def block_inputs(tokens: int, dims: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """The block's arguments in fp16, weights scaled by 1/sqrt(fan-in)."""
    gen = torch.Generator().manual_seed(seed)

    def weight(rows: int, cols: int) -> torch.Tensor:
        return (torch.randn(rows, cols, generator=gen) / rows**0.5).half()

    x = torch.randn(tokens, dims, generator=gen).half()
    projections = [weight(dims, dims) for _ in range(4)]
    mlp = [weight(dims, 2 * dims), weight(2 * dims, dims)]
    norm = [torch.ones(dims).half(), torch.zeros(dims).half()]
    return (x, *projections, *mlp, *norm)
