"""Hand-written gradients of stacked MLPs equal autograd's (complexity_bench/engine/stacked_mlp.py).

The reference is autograd through ``stacked_forward`` and the cohort's per-sample
loss, in float64 so the two may differ only by the order of float sums.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from complexity_bench.engine.cohort import StackedModel, per_sample_loss
from complexity_bench.contracts.models import PairEmbedding, StagedModel
from complexity_bench.engine import stacked_mlp
from complexity_bench.engine.stacked_mlp import (
    ACTIVATION_KERNELS, Layout, Tape, explicit_gradients, loss_gradient, stacked_forward, supports_explicit,
)

R, N = 3, 7


class _Kind:
    """Stands in for a task: per_sample_loss only reads ``loss_kind``."""

    def __init__(self, kind: str):
        self.loss_kind = kind


def _stack(stages_fn, seed: int = 0) -> StackedModel:
    models = []
    for r in range(R):
        torch.manual_seed(seed + r)
        models.append(StagedModel(stages_fn()).double())
    return StackedModel(models, torch.device("cpu"))


def _targets(kind: str, out_dim: int, g: torch.Generator) -> torch.Tensor:
    if kind == "cross_entropy":
        return torch.randint(out_dim, (R, N), generator=g)
    if kind == "hinge":
        return torch.randint(2, (R, N), generator=g).double() * 2 - 1
    return torch.randn(R, N, out_dim, generator=g, dtype=torch.float64)


def _compare(model: StackedModel, x: torch.Tensor, y: torch.Tensor, kind: str) -> None:
    g = torch.Generator().manual_seed(1)
    w = torch.rand(R, N, generator=g, dtype=torch.float64)
    w[0, -2:] = 0  # padding rows of a shorter train set
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in model.params.items()}
    (per_sample_loss(_Kind(kind), stacked_forward(model.plan, leaves, x), y) * w).sum().backward()
    grads = {k: torch.full_like(v, float("nan")) for k, v in model.params.items()}  # must be overwritten
    explicit_gradients(model.plan, model.params, grads, x, y, w, kind)
    for name, leaf in leaves.items():
        torch.testing.assert_close(grads[name], leaf.grad, rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("activation", sorted(ACTIVATION_KERNELS, key=lambda t: t.__name__), ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", ["mse", "cross_entropy", "hinge"])
def test_mlp_gradients_equal_autograd(activation, kind):
    out_dim = 1 if kind == "hinge" else 4
    model = _stack(lambda: [nn.Linear(5, 6), activation(), nn.Linear(6, 6), activation(),
                            nn.Linear(6, out_dim, bias=False)])
    g = torch.Generator().manual_seed(0)
    # inputs spread wide enough to hit both sides of ReLU's kink and tanh's saturation
    x = torch.randn(R, N, 5, generator=g, dtype=torch.float64) * 3
    assert supports_explicit(model.plan, kind)
    _compare(model, x, _targets(kind, out_dim, g), kind)


@pytest.mark.parametrize("hidden", [4, 8], ids=["hidden-feature-major", "hidden-sample-major"])
@pytest.mark.parametrize("embedding", ["pair", "plain"])
def test_embedding_gradients_equal_autograd(embedding, hidden):
    """Repeated tokens (shared table rows) must add up, per run; the gradient reaching
    the embedding comes from a feature-major (hidden < N) or a sample-major Linear output."""
    vocab, dim = 5, 3
    if embedding == "pair":
        model = _stack(lambda: [PairEmbedding(vocab, dim), nn.Linear(2 * dim, hidden), nn.SiLU(), nn.Linear(hidden, vocab)])
        x = torch.randint(vocab, (R, N, 2), generator=torch.Generator().manual_seed(0))
    else:
        model = _stack(lambda: [nn.Embedding(vocab, dim), nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, vocab)])
        x = torch.randint(vocab, (R, N), generator=torch.Generator().manual_seed(0))
    _compare(model, x, _targets("cross_entropy", vocab, torch.Generator().manual_seed(2)), "cross_entropy")


def test_mse_gradient_by_hand():
    """One sample, two outputs: d/d(out) of w * mean((out - y)^2) = w (out - y)."""
    out = torch.tensor([[[1.0, 3.0]]])
    y = torch.tensor([[[0.0, 1.0]]])
    w = torch.tensor([[0.5]])
    assert loss_gradient("mse", out, y, w, Layout.SAMPLE_MAJOR).tolist() == [[[0.5, 1.0]]]


def test_hinge_gradient_at_the_kink_passes_like_torch_clamp():
    """Margin exactly 0 (out * y = 1): torch's clamp(min=0) passes the gradient there."""
    out = torch.tensor([[[1.0], [2.0], [0.5]]])
    y = torch.tensor([[1.0, 1.0, -1.0]])
    w = torch.ones(1, 3)
    assert loss_gradient("hinge", out, y, w, Layout.SAMPLE_MAJOR).flatten().tolist() == [-1.0, 0.0, 1.0]


def test_unsupported_architectures_fall_back():
    model = _stack(lambda: [nn.Linear(3, 4), nn.SiLU(inplace=True), nn.Linear(4, 2)])
    assert not supports_explicit(model.plan, "mse")  # in place: would overwrite the saved input
    model = _stack(lambda: [nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)])
    assert supports_explicit(model.plan, "mse")
    assert not supports_explicit(model.plan, "my_own_loss")


def _layouts(model: StackedModel, x: torch.Tensor) -> list[str]:
    tape = Tape()
    with torch.no_grad():  # as explicit_gradients runs it (autograd's reference is sample-major throughout)
        stacked_forward(model.plan, model.params, x, tape)
    return [tape.input_layout(i).value for i, (kind, _, _) in enumerate(model.plan) if kind == "linear"][1:]


def _mixed(activations=(nn.Tanh, nn.SiLU, nn.ReLU), out_dim: int = 4) -> StackedModel:
    """Linear outputs (N = 7 samples): 12 sample-major, 3 feature-major, 9 sample-major,
    then ``out_dim``: feature-major if < N."""
    a, b, c = activations
    return _stack(lambda: [nn.Linear(5, 12), a(), nn.Linear(12, 3), b(), nn.Linear(3, 9), c(), nn.Linear(9, out_dim)])


@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_mixed_layouts_equal_autograd(kind):
    """A Linear wider than the batch writes sample-major, a narrower one feature-major;
    gradients must not depend on which, including where the two meet."""
    model = _mixed()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(R, N, 5, generator=g, dtype=torch.float64)
    # the inputs of the 2nd, 3rd and 4th Linear
    assert _layouts(model, x) == ["sample-major", "feature-major", "sample-major"]
    _compare(model, x, _targets(kind, 4, g), kind)


def _memory_layouts(t: torch.Tensor) -> set[Layout]:
    """The layouts whose memory the (r, n, d) tensor ``t`` is, read from its strides
    (both when d = 1): the brute-force check of what the engine records."""
    return ({Layout.SAMPLE_MAJOR} if t.is_contiguous() else set()) | (
        {Layout.FEATURE_MAJOR} if t.transpose(1, 2).is_contiguous() else set())


@pytest.mark.parametrize("activation", sorted(ACTIVATION_KERNELS, key=lambda t: t.__name__), ids=lambda t: t.__name__)
@pytest.mark.parametrize("out_dim", [4, 1])
def test_recorded_layouts_match_strides(activation, out_dim):
    """The layout the forward records for every stage is the memory that stage's output
    really has (every activation keeps its input's layout), and a Linear goes
    feature-major exactly when out < N; with one output both layouts are the same
    memory, which counts as sample-major."""
    model = _mixed((activation,) * 3, out_dim)
    x = torch.randn(R, N, 5, dtype=torch.float64)
    tape = Tape()
    with torch.no_grad():
        out = stacked_forward(model.plan, model.params, x, tape)
        for stage, layout in enumerate(tape.layouts):
            assert layout in _memory_layouts(stacked_forward(model.plan[:stage + 1], model.params, x)), stage
    sm, fm = Layout.SAMPLE_MAJOR, Layout.FEATURE_MAJOR
    last = fm if out_dim > 1 else sm
    assert tape.layouts == [sm, sm, fm, fm, sm, sm, last]
    assert tape.output_layout() is last and last in _memory_layouts(out)


@pytest.mark.parametrize(("kind", "out_dim"), [("mse", 4), ("mse", 9), ("cross_entropy", 4), ("cross_entropy", 9),
                                               ("hinge", 1), ("cross_entropy", "pair embedding")])
def test_every_gradient_is_in_the_layout_of_its_tensor(monkeypatch, kind, out_dim):
    """Where the backward depends on a layout (the loss gradient, d W), the gradient it
    computes has the memory layout of the tensor it belongs to (read from strides), so
    a wrong layout passed along fails here even though the values would still be right;
    and the gradients still equal autograd's, the last Linear writing feature-major
    (out_dim 4 < N) or sample-major (9)."""
    g = torch.Generator().manual_seed(0)
    if out_dim == "pair embedding":  # a Linear whose input is an embedding's (sample-major) output
        out_dim = 5
        model = _stack(lambda: [PairEmbedding(5, 3), nn.Linear(6, 4), nn.SiLU(), nn.Linear(4, 4), nn.GELU(),
                                nn.Linear(4, 10), nn.Tanh(), nn.Linear(10, out_dim)])
        x = torch.randint(5, (R, N, 2), generator=g)
        n_times_weight = 4  # every Linear: the first one's input is the embedding's output
    else:
        model = _mixed(out_dim=out_dim)
        x = torch.randn(R, N, 5, generator=g, dtype=torch.float64)
        n_times_weight = 3  # the first Linear's input (x) needs no gradient
    linear_inputs = {}  # id(weight) -> that Linear's input, computed on its own
    with torch.no_grad():
        for stage, (k, _, names) in enumerate(model.plan):
            if k == "linear":
                linear_inputs[id(model.params[names[0]])] = stacked_forward(model.plan[:stage], model.params, x)
    checked = []

    def loss_gradient_checked(kind, out, y, w, layout):
        d = loss_gradient(kind, out, y, w, layout)
        assert _memory_layouts(d) & _memory_layouts(out), "loss gradient"
        checked.append("loss")
        return d

    times_weight = stacked_mlp._times_weight

    def times_weight_checked(d, weight, layout):
        d_in = times_weight(d, weight, layout)
        assert _memory_layouts(d_in) & _memory_layouts(linear_inputs[id(weight)]), f"d W, layout {layout}"
        checked.append("dW")
        return d_in

    monkeypatch.setattr(stacked_mlp, "loss_gradient", loss_gradient_checked)
    monkeypatch.setattr(stacked_mlp, "_times_weight", times_weight_checked)
    _compare(model, x, _targets(kind, out_dim, g), kind)
    assert checked == ["loss"] + ["dW"] * n_times_weight


def _error_in_units_of_d(grad: torch.Tensor, exact: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """|error| in float32 ulps of |dL/dh| (the scale a gradient's rounding is judged on;
    silu' crosses 0 near z = -1.28, where a relative error means nothing)."""
    return (grad.double() - exact).abs() / (d.double().abs() * 2.0 ** -24)


def test_silu_with_kept_sigmoid_is_as_accurate_as_aten():
    """The SiLU forward keeps sigmoid(z) and the backward computes s + h (1 - s) with one
    lerp. In float32 it must round as well as aten's silu / silu_backward, against float64."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(1 << 20, generator=g) * 4
    d = torch.randn(1 << 20, generator=g)
    act = ACTIVATION_KERNELS[nn.SiLU]
    h, kept = act.forward(nn.SiLU(), z)
    z64 = z.double()
    s64 = torch.sigmoid(z64)
    exact_h = z64 * s64
    exact_grad = d.double() * s64 * (1 + z64 * (1 - s64))
    ours_h = ((h.double() - exact_h).abs() / exact_h.abs().clamp_min(1e-30)).max()
    aten_h = ((torch.nn.functional.silu(z).double() - exact_h).abs() / exact_h.abs().clamp_min(1e-30)).max()
    assert ours_h <= 1.25 * aten_h  # both within ~1-2 float32 ulps
    ours = _error_in_units_of_d(act.backward(nn.SiLU(), d, kept), exact_grad, d)
    aten_ = _error_in_units_of_d(torch.ops.aten.silu_backward(d, z), exact_grad, d)
    assert ours.mean() <= 1.02 * aten_.mean()
    assert ours.quantile(0.99) <= 1.02 * aten_.quantile(0.99)


def test_autograd_path_stays_sample_major():
    """Where autograd records (tasks with their own loss), every Linear writes sample-major:
    autograd's gradients would otherwise meet feature-major activations, and elementwise
    backward kernels on mixed strides ran 7x slower (docs/performance.md)."""
    model = _stack(lambda: [nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)])
    x = torch.randn(R, N, 5, dtype=torch.float64)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in model.params.items()}
    out = stacked_forward(model.plan, leaves, x)
    assert out.is_contiguous()
    with torch.no_grad():  # the same net without autograd: narrow layers (3, 2 < N) go feature-major
        assert not stacked_forward(model.plan, model.params, x).is_contiguous()
