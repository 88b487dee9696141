"""A plain-PyTorch grokking run with a Tracker: measures, events and the live early warning.

    python examples/grokking_tracker.py                       # (a+b) mod 23, weight decay 2: groks in ~1k steps
    python examples/grokking_tracker.py --weight-decay 0      # memorises, never generalises
    python examples/grokking_tracker.py --out runs/wd2        # save the run for `python -m complexity_bench score`

The model, data and loop are defined here, not taken from the suite's tasks:
an MLP with a token embedding on modular addition, full-batch AdamW. The default
3,000 steps took 5 min wall on this project's 2-core machine while four other jobs
shared it (not timed on an idle machine); most of it is the Tracker's measures
(lmn is the costly one: docs/tracker.md has the cost per log call).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench import Data, RunLabel, Schedule, Tracker

P = 23  # the modulus


class AdditionMLP(nn.Module):
    """Embeds both operands, concatenates them, and maps them through a ReLU MLP to P logits.

    ``forward`` applies the children in order, so the Tracker sees the stages and
    measures LMN where the suite does (after the first hidden ReLU). A forward that
    does more than chain its children needs ``Tracker(lmn_cut=...)``.
    """

    def __init__(self, dim: int = 24, width: int = 128):
        super().__init__()
        self.embed = nn.Embedding(P, dim)
        self.flatten = nn.Flatten()
        self.mlp = nn.Sequential(nn.Linear(2 * dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, P))

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.flatten(self.embed(pairs)))


def modular_addition(seed: int, train_frac: float = 0.6):
    """All (a, b) pairs with label (a + b) mod P, split at random into train and test."""
    a, b = torch.meshgrid(torch.arange(P), torch.arange(P), indexing="ij")
    x = torch.stack([a.flatten(), b.flatten()], 1)
    y = (x[:, 0] + x[:, 1]) % P
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n = int(train_frac * len(x))
    return (x[perm[:n]], y[perm[:n]]), (x[perm[n:]], y[perm[n:]])


def train(steps: int = 3000, weight_decay: float = 2.0, seed: int = 0, out: str | None = None,
          measures: str = "lmn,l2,effective-rank,train-loss,step", verbose: bool = True) -> Tracker:
    """One run; returns its Tracker (saved into ``out`` when given)."""
    (x_train, y_train), (x_test, y_test) = modular_addition(seed)
    torch.manual_seed(seed)
    model = AdditionMLP()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=weight_decay)
    tracker = Tracker(measures, Data(probe=x_train[:128], train=(x_train, y_train), test=(x_test, y_test)),
                      schedule=Schedule(steps=steps),
                      run=RunLabel(task="modadd23-own", seed=seed, hparams={"weight_decay": weight_decay}),
                      verbose=verbose)
    for step in range(steps + 1):
        if tracker.due(step):
            tracker.log(step, model)  # train/test loss and accuracy computed from Data's train and test
        optimizer.zero_grad()
        F.cross_entropy(model(x_train), y_train).backward()
        optimizer.step()
    if out:
        tracker.save(out)
    return tracker


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--weight-decay", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="save the run into this folder")
    ap.add_argument("--measures", default="lmn,l2,effective-rank,train-loss,step")
    args = ap.parse_args()
    tracker = train(args.steps, args.weight_decay, args.seed, args.out, args.measures)
    events = tracker.events()
    print(f"T_mem = {events.t_mem}, T_gen = {events.t_gen} (of {args.steps} steps)")
    print(tracker.warning())  # every column, whatever the terminal's width
    if tracker.skipped:
        print("skipped:", tracker.skipped)


if __name__ == "__main__":
    main()
