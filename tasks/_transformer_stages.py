"""Stages of a one-layer transformer read at its last position (the task ``modadd-transformer``).

The network of Nanda et al. 2023 ("Progress measures for grokking via mechanistic
interpretability", arXiv 2301.05217): inputs "a b =", token plus learned positional
embedding, one attention layer, one MLP block with ReLU, residual connections, no
layer norm, logits read at the "=" position. Written as a :class:`StagedModel`::

    OperandsThenEquals(p, d)    (n, 2) tokens -> (n, 3, d) residual stream
    AttentionAtLast(d, heads)   (n, 3, d) -> (n, d): the "=" row after attention + residual
    ResidualMLP(d, d_mlp)       (n, d) -> (n, d): h + W_out ReLU(W_in h + b_in) + b_out
    nn.Linear(d, p, bias=False) unembedding -> (n, p) logits

Only the "=" row is computed after attention. With one layer and the logits read at
"=", the rows of "a" and "b" reach the logits only through the keys and values of the
"=" query: their own queries, attention outputs and MLP outputs feed nothing, so
leaving them out changes neither the logits nor any gradient (it saves about two
thirds of the attention-output and MLP work).

Initialisation follows Nanda et al.'s code: every weight N(0, 1/d_model), the
unembedding N(0, 1/p), biases 0.

The "=" token has its own vector (``OperandsThenEquals.equals``) beside the table of
the p operand tokens, instead of a (p+1)-row table: the same function and the same
AdamW updates (AdamW is elementwise), and the table's rows are exactly the elements
0..p-1 of Z_p, which is what a Fourier measure over the token axis needs.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class OperandsThenEquals(nn.Module):
    """(n, k) operand tokens in 0..p-1 -> (n, k+1, d): token embeddings, then the "=" token,
    plus one learned positional embedding per position."""

    def __init__(self, p: int, d: int, n_operands: int = 2):
        super().__init__()
        self.tokens = nn.Embedding(p, d)
        self.equals = nn.Parameter(torch.empty(d))
        self.position = nn.Parameter(torch.empty(n_operands + 1, d))
        for w in (self.tokens.weight, self.equals, self.position):
            nn.init.normal_(w, std=1 / math.sqrt(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.tokens(x)
        eq = self.equals.expand(x.shape[0], 1, e.shape[-1])
        return torch.cat([e, eq], dim=1) + self.position


class AttentionAtLast(nn.Module):
    """Multi-head attention of the last position over all positions, plus its residual.

    (n, T, d) -> (n, d). No biases (as Nanda et al.); scores scaled by 1/sqrt(d_head).
    The last position sees every position, so a causal mask would change nothing.
    """

    def __init__(self, d: int, heads: int):
        super().__init__()
        if d % heads:
            raise ValueError(f"d_model {d} is not a multiple of {heads} heads")
        self.heads = heads
        self.query, self.key, self.value, self.out = (nn.Linear(d, d, bias=False) for _ in range(4))
        for lin in (self.query, self.key, self.value, self.out):
            nn.init.normal_(lin.weight, std=1 / math.sqrt(d))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, t, d = h.shape
        dh = d // self.heads
        last = h[:, -1]
        q = self.query(last).view(n, 1, self.heads, dh)
        k = self.key(h).view(n, t, self.heads, dh)
        v = self.value(h).view(n, t, self.heads, dh)
        # T is 3: broadcast products beat batched matmuls of 1 x d_head by d_head x 3
        weights = ((q * k).sum(-1) / math.sqrt(dh)).softmax(dim=1)  # (n, T, heads)
        z = (weights.unsqueeze(-1) * v).sum(dim=1)  # (n, heads, d_head)
        return last + self.out(z.reshape(n, d))


class ResidualMLP(nn.Module):
    """h + W_out ReLU(W_in h + b_in) + b_out, (n, d) -> (n, d)."""

    # Affine in h on every region of constant ReLU pattern of W_in h + b_in: the block
    # is piecewise linear, and those patterns are its activation regions.
    piecewise_linear = True

    def __init__(self, d: int, d_mlp: int):
        super().__init__()
        self.fc_in = nn.Linear(d, d_mlp)
        self.act = nn.ReLU()
        self.fc_out = nn.Linear(d_mlp, d)
        for lin in (self.fc_in, self.fc_out):
            nn.init.normal_(lin.weight, std=1 / math.sqrt(d))
            nn.init.zeros_(lin.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc_out(self.act(self.fc_in(h)))

    def activation_pattern_layers(self) -> list[nn.Module]:
        """The layers whose activation pattern is this block's (Linear, ReLU): region
        counting walks these, and what follows the block must be affine (see
        measures/linear_regions.py)."""
        return [self.fc_in, self.act]


def unembedding(d: int, p: int) -> nn.Linear:
    """Residual stream -> p logits, no bias, N(0, 1/p) as in Nanda et al.'s code."""
    lin = nn.Linear(d, p, bias=False)
    nn.init.normal_(lin.weight, std=1 / math.sqrt(p))
    return lin
