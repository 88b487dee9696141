"""Composition in the symmetric group S5 on the one-layer transformer (Power et al. 2022).

Power, Burda, Edwards, Babuschkin & Misra 2022 (arXiv 2201.02177) include composition
of permutations of 5 elements among their operations: S5 is non-abelian, so no
commutative trick solves it. Elements are the 120 permutations of (0, ..., 4) in
lexicographic order (``itertools.permutations``); the label of (a, b) is the index of
a∘b with (a∘b)(k) = a[b[k]] (apply b first), as for ``s4-*`` (``tasks/algorithmic.py``).
14,400 pairs, 120 classes.

Model and recipe: ``modadd-transformer``'s (``tasks/transformer.py``: d_model 128, 4
heads, MLP 512, AdamW lr 1e-3, weight decay 1.0, betas (0.9, 0.98), full batch) with a
vocabulary of 120, and train fraction 0.5 (7,200 training pairs; Power et al. needed
larger fractions for S5 than for the modular operations).

The training set is 8x that of ``modadd-transformer``, and so is a full-batch step's
cost (docs/tasks.md, "S5 composition"), so it runs only in the ``gpu`` suite. Its
budget was fixed by a seed-0 pilot on CPU before any other seed ran (docs/protocol.md,
"Budgets").

Example::

    >>> from complexity_bench.contracts.task import get_task
    >>> t = get_task("s5-transformer")
    >>> d = t.make_data(t.resolve({}), seed=0)
    >>> len(d.x), len(d.train_idx), int(d.y[d.x.tolist().index([0, 7])])   # element 0 is the identity
    (14400, 7200, 7)
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import torch

from complexity_bench.contracts.task import register_task

from .transformer import NANDA, ModAddTransformer

S5_ELEMENTS: tuple[tuple[int, ...], ...] = tuple(itertools.permutations(range(5)))


def composition_table(elements: tuple[tuple[int, ...], ...]) -> torch.Tensor:
    """Table t[a, b] = index of a∘b, (a∘b)(k) = a[b[k]], for permutations listed in ``elements``."""
    index = {p: i for i, p in enumerate(elements)}
    n = len(elements[0])
    return torch.tensor([[index[tuple(pa[pb[k]] for k in range(n))] for pb in elements] for pa in elements])


# The same for every variant: registered provisionally at 3x modadd-transformer's 15,000,
# and fixed by the seed-0 pilot, which generalised at 9,632 (docs/tasks.md, "S5 composition").
BUDGET = 45_000


@register_task
class S5Transformer(ModAddTransformer):
    """Composition in S5 (120 classes) with Nanda et al.'s one-layer transformer; ``gpu`` suite only."""

    name = "s5-transformer"
    version = "1"
    family = "permutation-composition"
    description = "composition a∘b in S5 (120 classes) with a one-layer transformer, AdamW wd 1, full batch"
    reference = ("Power, Burda, Edwards, Babuschkin & Misra 2022, Grokking: generalization beyond overfitting "
                 "on small algorithmic datasets (arXiv 2201.02177); " + NANDA)
    vocab = 120
    n_out = 120
    properties = frozenset({"classification", "piecewise_linear"})
    defaults: ClassVar[dict[str, Any]] = {**ModAddTransformer.defaults, "train_frac": 0.5, "steps": BUDGET}
    long_budget: ClassVar[dict[str, Any]] = {}
    full_seeds_in: ClassVar[frozenset[str]] = frozenset()
    grids: ClassVar[dict[str, list[dict[str, Any]]]] = {
        "smoke": [{"steps": 4}],  # a pipeline check on CPU (it does not grok)
        "gpu": [{"weight_decay": 1.0}, {"weight_decay": 0.0}],  # the recipe and its control
    }

    def label(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return composition_table(S5_ELEMENTS)[a, b]
