"""Models as a flat list of stages, so measures can cut them anywhere.

Every task model is a :class:`StagedModel`: ``forward(x)`` applies
``stages[0], stages[1], ...`` in turn. Two indices tell measures where to cut:

- ``input_stage``: the first stage whose input is a real vector. Stages before
  it map discrete tokens to vectors (embeddings). Region counting and
  input-space interpolation start here.
- ``hidden_stage``: the first stage after the first hidden layer's activation;
  ``stage_outputs(x)[hidden_stage - 1]`` is that hidden representation, and
  ``forward_from(h, hidden_stage)`` maps it to the logits. This is where the
  LMN paper measures.
"""

from __future__ import annotations

import torch
from torch import nn

# Activations under which the network is piecewise linear (exact region counts apply).
PIECEWISE_LINEAR = (nn.ReLU, nn.LeakyReLU, nn.Identity)
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}


class StagedModel(nn.Module):
    def __init__(self, stages: list[nn.Module], input_stage: int = 0, hidden_stage: int | None = None):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.input_stage = input_stage
        # default: after the first activation that follows input_stage
        self.hidden_stage = hidden_stage if hidden_stage is not None else self._first_activation_end()

    def _first_activation_end(self) -> int:
        for i in range(self.input_stage, len(self.stages)):
            if not isinstance(self.stages[i], nn.Linear):
                return i + 1
        return len(self.stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0)

    def forward_from(self, h: torch.Tensor, start: int) -> torch.Tensor:
        for stage in self.stages[start:]:
            h = stage(h)
        return h

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[stages[0](x), stages[1](stages[0](x)), ...]``."""
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def tail(self, start: int) -> nn.Sequential:
        """The sub-network ``stages[start:]`` as an ``nn.Sequential`` (shares weights)."""
        return nn.Sequential(*self.stages[start:])

    @property
    def piecewise_linear(self) -> bool:
        """True when every stage from ``input_stage`` on is Linear, a ReLU-family activation,
        or a block that declares ``piecewise_linear = True`` (e.g. a residual ReLU MLP)."""
        return all(isinstance(s, (nn.Linear, *PIECEWISE_LINEAR)) or getattr(s, "piecewise_linear", False) is True
                   for s in self.stages[self.input_stage:])


class PairEmbedding(nn.Module):
    """Embeds each token of an (n, k) integer input with one shared table and concatenates.

    A single table shared by both operands gives the 20,723 parameters the LMN
    paper's mod-31 net has (31·32 + 64·100+100 + 100·100+100 + 100·31+31).
    """

    def __init__(self, vocab: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens).flatten(1)


def mlp_stages(widths: list[int], activation: str, bias_last: bool = True) -> list[nn.Module]:
    """Linear/activation stages for widths [d_in, h1, ..., d_out] (no activation after the last)."""
    act = ACTIVATIONS[activation]
    stages: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        last = i == len(widths) - 2
        stages.append(nn.Linear(a, b, bias=bias_last or not last))
        if not last:
            stages.append(act())
    return stages


def scale_parameters_(model: nn.Module, alpha: float) -> nn.Module:
    """Multiply every initial parameter by ``alpha`` (Omnigrok's large-init knob)."""
    if alpha != 1.0:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(alpha)
    return model
