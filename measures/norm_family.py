"""Spectral-norm and path-norm measures ("Fantastic Generalization Measures", Jiang et al. 2020).

Three leaderboard rows, all ``direction=+1`` (larger = larger capacity bound):

- ``spectral-product``: log Π_i ‖W_i‖_2 = Σ_i log σ_max(W_i) (natural log; half of
  Jiang et al.'s ``log-prod-of-spec``, which uses squared norms; ranks are identical).
- ``spectral-dist-init``: Σ_i ‖W_i − W_i⁰‖_2² (Jiang et al.'s ``dist-spec-init``),
  with W⁰ the run's initial weights.
- ``path-norm``: the ℓ2 path norm φ = sqrt(Σ_paths Π_{edges e on path} w_e²), computed
  exactly by one forward pass of the squared weights on an all-ones input
  (Neyshabur et al. 2015; the reference code of Jiang/Dziugaite sums that pass's
  outputs, i.e. reports φ²; we report φ, a monotone transform).

Conventions (the papers are written for plain ReLU MLPs; ours also have embeddings):

- **Matrices** W_i are every ``nn.Linear`` weight and every embedding table. An
  embedding of k tokens through one shared table E (vocab × d), concatenated, is the
  linear map blockdiag(Eᵀ, ..., Eᵀ) on the k one-hot vectors; its spectral norm is
  ‖E‖_2, so E enters the spectral measures once, as itself.
- **Biases** are left out of the spectral measures (they are not operators) and kept
  in the path norm the usual way: a bias b_j is an edge from a constant-1 unit, so
  each layer adds b² after multiplying by W² (Jiang et al.'s code squares biases too).
- **Path norm inputs**: all-ones on the network's input units. For an embedding
  stage these are the k·vocab one-hot units, so the stage maps 1 to Σ_t E[t, :]²
  (column sums of E², one copy per token slot).
- **Activations** are skipped in the path norm (treated as identity). For ReLU /
  leaky-ReLU nets this is exact (squared weights and ones are non-negative, where
  ReLU is the identity) and φ is the path norm of the paper. For SiLU / tanh nets it
  is the *structural* path norm of the same layered graph: a well-defined weight
  statistic, but not a capacity bound with a theorem behind it. It is still invariant
  to rebalancing across a ReLU (W_l → cW_l, b_l → cb_l, W_{l+1} → W_{l+1}/c), which
  the tests check; the spectral product is too, the Frobenius-type sums are not.

Example::

    >>> import torch
    >>> W1 = torch.tensor([[1.0, 2.0]]); W2 = torch.tensor([[3.0]])
    >>> path_norm([(W1, None), (W2, None)])    # paths: 1·3 and 2·3 -> sqrt(9 + 36)
    6.708203932499369
    >>> round(log_spectral_product([torch.diag(torch.tensor([2.0, 1.0])), W2]), 6)  # log(2·3)
    1.791759
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import nn

from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, measure, register_measure
from complexity_bench.contracts.models import PairEmbedding

__all__ = [
    "weight_matrices", "spectral_norm", "log_spectral_product", "spectral_dist_init",
    "chain_layers", "path_norm",
]

REFERENCE = ("Jiang, Neyshabur, Mobahi, Krishnan & Bengio 2020, Fantastic Generalization Measures and Where "
             "to Find Them, ICLR (arXiv 1912.02178); path norm: Neyshabur, Tomioka & Srebro 2015")

# elementwise activations the path norm walks through (treated as the identity, see above)
_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.Identity)


def weight_matrices(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every ``nn.Linear`` weight and ``nn.Embedding`` table, keyed by its state-dict name."""
    out: dict[str, torch.Tensor] = {}
    for prefix, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            out[f"{prefix}.weight" if prefix else "weight"] = module.weight.detach()
    return out


def spectral_norm(matrix: torch.Tensor) -> float:
    """Largest singular value, in float64 (exact SVD: our matrices are at most ~1000 wide)."""
    return float(torch.linalg.matrix_norm(matrix.detach().double(), ord=2))


def log_spectral_product(matrices: list[torch.Tensor]) -> float:
    """Σ_i log ‖W_i‖_2 (−inf when some matrix is zero: the net is then the zero map)."""
    norms = [spectral_norm(m) for m in matrices]
    return sum(math.log(s) if s > 0 else -math.inf for s in norms)


def spectral_dist_init(matrices: Mapping[str, torch.Tensor], initial: Mapping[str, torch.Tensor]) -> float:
    """Σ_i ‖W_i − W_i⁰‖_2² over the matrices named in ``matrices``."""
    return sum(spectral_norm(m.double() - initial[k].to(m.device).double()) ** 2 for k, m in matrices.items())


def chain_layers(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The model as a chain of linear maps (weight, bias) for :func:`path_norm`.

    Walks ``model.stages`` (a :class:`StagedModel`) or an ``nn.Sequential``. A
    :class:`PairEmbedding` becomes blockdiag(Eᵀ, ..., Eᵀ) with as many blocks as the
    next Linear layer's input holds token slots. Elementwise activations are skipped.
    Any other stage raises ``ValueError`` (the path norm is only defined for chains).
    """
    stages = list(getattr(model, "stages", model if isinstance(model, nn.Sequential) else [model]))
    layers: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    pending_table: torch.Tensor | None = None
    for stage in stages:
        if isinstance(stage, PairEmbedding):
            pending_table = stage.embedding.weight.detach()
        elif isinstance(stage, nn.Linear):
            if pending_table is not None:
                vocab, dim = pending_table.shape
                if stage.in_features % dim:
                    raise ValueError(f"Linear input {stage.in_features} is not a multiple of the embedding dim {dim}")
                slots = stage.in_features // dim
                layers.append((torch.block_diag(*[pending_table.T] * slots), None))
                pending_table = None
            layers.append((stage.weight.detach(), None if stage.bias is None else stage.bias.detach()))
        elif isinstance(stage, _ELEMENTWISE):
            continue
        else:
            raise ValueError(f"path norm: unsupported stage {type(stage).__name__} (only Linear, PairEmbedding "
                             "and elementwise activations form a chain)")
    if pending_table is not None:  # an embedding as the last stage: its outputs are the net's outputs
        layers.append((pending_table.T, None))
    if not layers:
        raise ValueError("path norm: the model has no Linear or embedding layer")
    return layers


def path_norm(layers: list[tuple[torch.Tensor, torch.Tensor | None]]) -> float:
    """ℓ2 path norm sqrt(Σ_paths Π w²) of a chain of linear maps, biases as constant-1 units.

    h_0 = 1 (input width), h_l = W_l² h_{l−1} + b_l², φ² = Σ h_L: each entry of h_l is
    the sum over all paths ending at that unit (from an input or a bias unit) of the
    product of squared weights. Float64 throughout.
    """
    h = torch.ones(layers[0][0].shape[1], dtype=torch.float64, device=layers[0][0].device)
    for weight, bias in layers:
        h = weight.double().square() @ h
        if bias is not None:
            h = h + bias.double().square()
    return float(h.sum().sqrt())


# -- plugins ---------------------------------------------------------------------------

@measure(name="spectral-product", version="1", direction=+1, direction_source='Bartlett et al. 2017; Jiang et al. 2020: norm-based capacity bounds, larger = worse generalisation', needs=("weights",), cost="cheap",
         reference=REFERENCE,
         description="log of the product of spectral norms of all Linear weights and embedding tables "
                     "(Σ log σ_max; biases excluded)")
def spectral_product_measure(model: nn.Module, ctx: MeasureContext) -> float:
    return log_spectral_product(list(weight_matrices(model).values()))


@measure(name="spectral-dist-init", version="1", direction=+1, direction_source='Bartlett et al. 2017; Jiang et al. 2020: norm-based capacity bounds, larger = worse generalisation', needs=("weights",), cost="cheap",
         reference=REFERENCE,
         description="Σ ‖W − W_init‖_2² over Linear weights and embedding tables")
def spectral_dist_init_measure(model: nn.Module, ctx: MeasureContext) -> float:
    return spectral_dist_init(weight_matrices(model), ctx.init_state)


@register_measure
class PathNorm(Measure):
    """The path norm of a chain; not applicable to a model that is not one.

    Why not: the path norm sums weight products over the paths of a layered graph.
    Attention multiplies activations by activations (scores times values), so a
    transformer has no such graph, and no path norm.
    """

    info = MeasureInfo(
        name="path-norm", version="1", direction=+1,
        direction_source="Neyshabur et al. 2015; Jiang et al. 2020: norm-based capacity bounds, larger = worse generalisation",
        needs=frozenset({"weights"}), cost="cheap", reference=REFERENCE,
        description="ℓ2 path norm sqrt(Σ_paths Π w²), biases included as constant-1 units, embeddings as "
                    "one-hot linear maps; activations skipped (exact for ReLU nets, structural otherwise); "
                    "only for chains of Linear, embedding and elementwise stages (not attention)")

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        if model is None:
            return True
        try:
            chain_layers(model)
        except ValueError:  # a stage that is not Linear, embedding or elementwise
            return False
        return True

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        return path_norm(chain_layers(model))
