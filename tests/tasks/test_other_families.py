"""Sparse parity and teacher-student: labels against direct computation, accuracy rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from complexity_bench.errors import UserError
from complexity_bench.contracts.task import get_task


def test_sparse_parity_labels_and_splits():
    t = get_task("sparse-parity")
    d = t.make_data(t.resolve({"n_train": 300}), seed=2)
    x = d.x.numpy()
    assert set(np.unique(x)) == {-1.0, 1.0} and x.shape[1] == 40
    # parity of the first 3 bits: +1 when an even number of them is -1
    n_neg = (x[:, :3] < 0).sum(axis=1)
    assert np.array_equal(d.y.numpy(), np.where(n_neg % 2 == 0, 1.0, -1.0))
    sets = [set(i.tolist()) for i in (d.train_idx, d.test_idx, d.probe_idx)]
    assert [len(s) for s in sets] == [300, 1_000, 128]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sets[0] | sets[1] | sets[2] == set(range(len(x)))
    # the labels are balanced-ish, so accuracy 0.99 is far from a constant predictor
    assert 0.4 < (d.y_train > 0).float().mean() < 0.6


def test_sparse_parity_hinge_loss_and_correct():
    t = get_task("sparse-parity")
    out = torch.tensor([[2.0], [0.5], [-0.5], [-3.0]])
    y = torch.tensor([1.0, 1.0, 1.0, -1.0])
    # hinge max(0, 1 - y f): 0, 0.5, 1.5, 0 -> mean 0.5
    assert float(t.loss(out, y)) == pytest.approx(0.5)
    assert t.correct(out, y).tolist() == [True, True, False, True]


def test_sparse_parity_rejects_more_parity_bits_than_bits():
    with pytest.raises(UserError, match="k=5"):
        get_task("sparse-parity").resolve({"n_bits": 4, "k": 5})
    with pytest.raises(UserError, match="n_train"):
        get_task("sparse-parity").resolve({"n_train": 2.5})


def test_teacher_student_labels_come_from_one_fixed_teacher():
    from complexity_bench.tasks.teacher_student import teacher_model

    t = get_task("teacher-student")
    p = t.resolve({})
    d0, d1 = t.make_data(p, 0), t.make_data(p, 1)
    teacher = teacher_model()
    # the teacher by hand: tanh(W1 x + b1) -> tanh(W2 h + b2) -> W3 h + b3
    w = [s for s in teacher.stages if isinstance(s, torch.nn.Linear)]
    for d in (d0, d1):
        h = torch.tanh(d.x @ w[0].weight.T + w[0].bias)
        h = torch.tanh(h @ w[1].weight.T + w[1].bias)
        assert torch.allclose(d.y, h @ w[2].weight.T + w[2].bias, atol=1e-6)
    assert [len(d0.train_idx), len(d0.test_idx)] == [100, 100]
    student = t.make_model(t.resolve({"init_scale": 1.0}), 0)
    assert not torch.equal(student.stages[0].weight, w[0].weight), "student must not start as the teacher"


def test_teacher_student_correct_is_per_sample_mean_squared_error():
    t = get_task("teacher-student")
    target = torch.zeros(3, 5)
    out = torch.tensor([[0.0999] * 5, [0.1001] * 5, [0.2236, 0, 0, 0, 0]])
    # squared errors averaged over 5 outputs: 0.00998, 0.01002, 0.0099999 -> under, over, under
    assert t.correct(out, target).tolist() == [True, False, True]


def test_digits_are_scikit_learns_bundled_images():
    from sklearn.datasets import load_digits

    t = get_task("digits-mlp")
    d = t.make_data(t.resolve({"n_train": 500}), seed=4)
    ref = load_digits()
    assert np.allclose(d.x.numpy() * 16, ref.data) and np.array_equal(d.y.numpy(), ref.target)
    tr, te = set(d.train_idx.tolist()), set(d.test_idx.tolist())
    assert len(tr) == 500 and not tr & te and tr | te == set(range(1_797))


def test_digits_mse_loss_is_against_one_hot():
    t = get_task("digits-mlp")
    out = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    y = torch.tensor([0, 2])
    # squared errors: row 0 all zero; row 1: 0 + 0.25 + 1 -> mean over 6 entries = 1.25 / 6
    assert float(t.loss(out, y)) == pytest.approx(1.25 / 6)
    assert t.correct(out, y).tolist() == [True, False]
    with pytest.raises(UserError, match="n_train"):
        t.resolve({"n_train": 1_797})
