"""Power et al. 2022's binary operations on the paper's MLP and on the one-layer transformer.

Power, Burda, Edwards, Babuschkin & Misra 2022 ("Grokking: generalization beyond
overfitting on small algorithmic datasets", arXiv 2201.02177) trained on tables of
binary operations mod a prime. Four of them, each a task family here (label of the
pair (x, y), p prime):

- ``modsub``: x - y mod p;
- ``moddiv``: x · y⁻¹ mod p for y ≠ 0 (the pairs with y = 0 are not inputs, p (p - 1) pairs);
- ``modsumsq``: x² + y² mod p;
- ``modcubexy``: x³ + x·y mod p.

``*-mlp``: the LMN paper's 3-layer SiLU MLP on learned pair embeddings with its recipe
(``tasks/algorithmic.py``: p = 31, train fraction 0.8, AdamW lr 1e-3, weight decay
0.2), the same net and recipe as ``modadd-mlp``. ``*-transformer``: Nanda et al.'s
one-layer transformer with ``modadd-transformer``'s recipe (``tasks/transformer.py``:
p = 47, train fraction 0.4, weight decay 1.0).

Only subtraction keeps the ``cyclic_group`` property (a measure in the Fourier basis of
Z_p): division lives in the multiplicative group and the two polynomials are not group
operations, so the additive Fourier basis is not their natural one.

Budgets (docs/protocol.md, "Budgets"), one per task, fixed from one pilot of seed 0
before any other seed ran; numbers and commands in docs/tasks.md, "Power et al.'s
operations". The MLP tasks run in the ``operations`` suite (their paper configuration
and its weight-decay-0 control, 3 seeds), except ``modcubexy-mlp``, which generalised in
no CPU run (seeds 0-2, 200,000 steps); it and the transformer tasks (~13 CPU-minutes per
45,000-step run on the Xeon's own MKL path, several times that on the compatible path
``run`` sets) run only in the ``gpu`` suite.

Example::

    >>> from complexity_bench.contracts.task import get_task
    >>> t = get_task("moddiv-mlp")
    >>> d = t.make_data(t.resolve({}), seed=0)
    >>> len(d.x), int(d.y[d.x.tolist().index([3, 2])])   # 3 · 2⁻¹ = 3 · 16 = 48 = 17 mod 31
    (930, 17)
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import torch

from complexity_bench.contracts.task import register_task

from .algorithmic import AlgorithmicTask, all_pairs
from .transformer import NANDA, ModAddTransformer

POWER = ("Power, Burda, Edwards, Babuschkin & Misra 2022, Grokking: generalization beyond overfitting on "
         "small algorithmic datasets (arXiv 2201.02177)")


def modular_inverses(p: int) -> torch.Tensor:
    """Table t with t[y] = y⁻¹ mod p for y = 1..p-1 (Fermat: y^(p-2)); t[0] = 0 is never used.

    >>> modular_inverses(7).tolist()
    [0, 1, 4, 5, 2, 3, 6]
    """
    return torch.tensor([0] + [pow(y, p - 2, p) for y in range(1, p)])


# operation -> (formula for descriptions, label of (x, y) mod p)
OPERATIONS: dict[str, tuple[str, Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]]] = {
    "modsub": ("x - y mod p", lambda x, y, p: (x - y) % p),
    "moddiv": ("x · y⁻¹ mod p, y ≠ 0", lambda x, y, p: (x * modular_inverses(p)[y]) % p),
    "modsumsq": ("x² + y² mod p", lambda x, y, p: (x * x + y * y) % p),
    "modcubexy": ("x³ + x·y mod p", lambda x, y, p: (x * x * x + x * y) % p),
}


class PowerOperation:
    """Mixin: the label and the input pairs of ``operation`` mod ``vocab``."""

    operation: ClassVar[str]
    vocab: ClassVar[int]
    grids: ClassVar[dict[str, list[dict[str, Any]]]]
    family = "modular-operation"
    reference = POWER

    def label(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return OPERATIONS[self.operation][1](a, b, self.vocab)

    def pairs(self) -> torch.Tensor:
        x = all_pairs(self.vocab)
        return x[x[:, 1] != 0] if self.operation == "moddiv" else x


def _properties(operation: str, base: frozenset) -> frozenset:
    return base if operation == "modsub" else base - {"cyclic_group"}


# smoke: one short run; operations (MLP) / gpu: the task's recipe and its weight-decay-0
# control, the only configurations the pilots justify. x³ + x·y on the MLP generalised in
# no CPU run (test accuracy at chance for 200,000 steps), so it runs in the gpu suite, as
# do the transformer tasks, too costly for a CPU suite (docstring).
_RECIPE_AND_CONTROL = {"mlp": [{"weight_decay": 0.2}, {"weight_decay": 0.0}],
                       "transformer": [{"weight_decay": 1.0}, {"weight_decay": 0.0}]}
_GPU_ONLY = {"modcubexy-mlp", "modsub-transformer", "moddiv-transformer", "modsumsq-transformer",
             "modcubexy-transformer"}


def _grids(name: str, arch: str) -> dict[str, list[dict[str, Any]]]:
    suite = "gpu" if name in _GPU_ONLY else "operations"
    # smoke: a pipeline check (it need not grok); 50 transformer steps cost ~1 CPU-s
    return {"smoke": [{"steps": 300 if arch == "mlp" else 50}], suite: _RECIPE_AND_CONTROL[arch]}


# Budgets (docs/tasks.md, "Power et al.'s operations"), from seed-0 pilots before any other
# seed ran: the MLP's the paper's 20,000 (modsub, moddiv and modsumsq grokked within it).
# The transformer's 45,000: no operation grokked within modadd-transformer's 15,000;
# modsub, moddiv and modsumsq did within 45,000 (T_gen 24,192-28,336). x³ + x·y grokked
# in no pilot; its budgets are the longest piloted on seed 0, fixed before its other seeds
# ran ("x³ + x·y's seeds rule"), so its recipe's runs are censored ones.
BUDGETS = {"mlp": 20_000, "transformer": 45_000}  # net -> its operations' budget, except:
BUDGET_EXCEPTIONS = {"modcubexy-mlp": 200_000, "modcubexy-transformer": 135_000}  # task -> budget


def _register(operation: str, base: type, suffix: str, what: str) -> type:
    formula = OPERATIONS[operation][0]
    name = f"{operation}-{suffix}"
    cls = type(f"{operation.title()}{suffix.title()}", (PowerOperation, base), {
        "__module__": __name__,
        "__doc__": f"{formula} with {what} (Power et al. 2022's operation list).",
        "name": name, "operation": operation,
        "grids": _grids(name, suffix),
        "description": f"{formula} (p = {base.vocab}) with {what}",
        "properties": _properties(operation, base.properties),
        "reference": NANDA if base is ModAddTransformer else POWER,
        "defaults": {**base.defaults, "steps": BUDGET_EXCEPTIONS.get(name, BUDGETS[suffix])},
        "full_seeds_in": frozenset(),
    })
    return register_task(cls)


class _MLPBase(AlgorithmicTask):
    vocab = 31
    n_out = 31
    properties = frozenset({"classification", "cyclic_group"})


for _op in OPERATIONS:
    _register(_op, _MLPBase, "mlp", "the LMN paper's 3-layer SiLU MLP")
    _register(_op, ModAddTransformer, "transformer",
              "a one-layer transformer (Nanda et al. 2023), AdamW wd 1, full batch")
