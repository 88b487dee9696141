"""A small modular-addition model for the callback tests: (a + b) mod P, full batch."""

from __future__ import annotations

import torch
from torch import nn

P = 11


def modular_addition(train_frac: float = 0.6):
    """((x_train, y_train), (x_test, y_test)) for (a + b) mod P, a fixed random split."""
    a, b = torch.meshgrid(torch.arange(P), torch.arange(P), indexing="ij")
    x = torch.stack([a.flatten(), b.flatten()], 1)
    y = (x[:, 0] + x[:, 1]) % P
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    n = int(train_frac * len(x))
    return (x[perm[:n]], y[perm[:n]]), (x[perm[n:]], y[perm[n:]])


def grokking_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(P, 16), nn.Flatten(), nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, P))
