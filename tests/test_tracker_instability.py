"""The Tracker's instability events (T_spike, T_collapse; docs/protocol.md, "Events") on hand-made
curves, saved with the run, and `score` of a folder of Tracker runs scoring in_auroc
(docs/protocol.md, "The instability question") as its definition says, recomputed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from complexity_bench import RunLabel, Tracker
from complexity_bench.cli import main

STEPS = list(range(0, 301, 10))
T_MEM, T_GEN = 20, 60


def _log_curve(tracker: Tracker, weights: dict[int, float], train_loss: dict[int, float],
               test_acc: dict[int, float]) -> Tracker:
    model = nn.Linear(1, 1, bias=False)
    for step in sorted(weights):
        with torch.no_grad():
            model.weight.fill_(weights[step])
        tracker.log(step, model, train_acc=1.0 if step >= T_MEM else 0.5, test_acc=test_acc[step],
                    train_loss=train_loss[step], test_loss=1.0 - test_acc[step])
    return tracker


def _generalises(step: int) -> float:
    return 1.0 if step >= T_GEN else 0.1


def test_spike_and_collapse_on_a_hand_made_curve():
    """Loss: falls as 1/(1+t); a 50x rise *before* T_gen (not an event: events come after T_gen); a 9x rise at
    100 (under the 10x factor); at 130 it jumps to 0.5 > 10 x 1/121, its least value so far: T_spike = 130.
    Test accuracy: one dip below 0.99 at 110 (a single evaluation is not a collapse), then below it at 150,
    160 and 170: T_collapse = 150."""
    loss = {s: 1.0 / (1 + s) for s in STEPS}
    loss[40] = 50.0 / 31  # 50x the least loss before it (1/31 at step 30), but before T_gen
    loss[100] = 9.0 / 91  # 9x the least loss before it (1/91 at step 90)
    for s in STEPS:
        if s >= 130:
            loss[s] = 0.5
    acc = {s: _generalises(s) for s in STEPS}
    acc[110] = 0.9
    for s in (150, 160, 170):
        acc[s] = 0.5
    t = _log_curve(Tracker("l2"), {s: 1.0 for s in STEPS}, loss, acc)
    ev = t.events()
    assert (ev.t_mem, ev.t_gen, ev.t_spike, ev.t_collapse) == (T_MEM, T_GEN, 130, 150)
    runs = t.frames().runs
    assert runs.loc[0, "t_spike"] == 130.0 and runs.loc[0, "t_collapse"] == 150.0


def test_no_event_without_generalisation_or_before_it(tmp_path):
    """A run that never generalises has no instability event however its loss moves; a run with none
    saves empty cells (NaN), as the harness's runs.csv does."""
    loss = {s: (10.0 if s == 200 else 1.0 / (1 + s)) for s in STEPS}
    never = _log_curve(Tracker("l2"), {s: 1.0 for s in STEPS}, loss, {s: 0.1 for s in STEPS})
    assert never.events().t_gen is None and never.events().t_spike is None and never.events().t_collapse is None
    calm = _log_curve(Tracker("l2"), {s: 1.0 for s in STEPS}, {s: 1.0 / (1 + s) for s in STEPS},
                      {s: _generalises(s) for s in STEPS})
    calm.save(tmp_path / "calm")
    row = pd.read_csv(tmp_path / "calm" / "runs.csv").iloc[0]
    assert row["t_gen"] == T_GEN and pd.isna(row["t_spike"]) and pd.isna(row["t_collapse"])


# seed -> (event, step): the loss spikes or test accuracy collapses there; None: no event in 300 steps
EVENTS = {0: ("spike", 150), 1: ("collapse", 200), 2: ("spike", 250), 3: None, 4: None}


def _weights(seed: int, event: tuple[str, int] | None) -> dict[int, float]:
    """|w| rises to 3 at T_mem and to 3.5 at T_gen; afterwards it falls towards an event (steadily over the
    30 steps before it), and stays level without one; noisy."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in STEPS:
        if s <= T_MEM:
            w = 1.0 + 2.0 * s / T_MEM
        elif s <= T_GEN:
            w = 3.0 + 0.5 * (s - T_MEM) / (T_GEN - T_MEM)
        else:
            w = 3.5 - (0.0 if event is None else 0.02 * max(0, s - (event[1] - 30)))
            w += 0.01 * float(rng.standard_normal())
        out[s] = w
    return out


def _instability_run(seed: int) -> Tracker:
    event = EVENTS[seed]
    loss = {s: 1.0 / (1 + s) for s in STEPS}
    acc = {s: _generalises(s) for s in STEPS}
    if event is not None:
        kind, at = event
        for s in STEPS:
            if s >= at:
                if kind == "spike":
                    loss[s] = 1.0
                else:
                    acc[s] = 0.5
    tracker = Tracker("l2", run=RunLabel(task="toy-long", seed=seed, hparams={"wd": 1.0}))
    return _log_curve(tracker, _weights(seed, event), loss, acc)


def test_score_of_tracker_runs_carries_the_events_and_scores_in_auroc(tmp_path):
    trackers = {seed: _instability_run(seed) for seed in EVENTS}
    for seed, t in trackers.items():
        kind_at = EVENTS[seed]
        ev = t.events()
        assert (ev.t_spike, ev.t_collapse) == (
            (kind_at[1], None) if kind_at and kind_at[0] == "spike" else
            (None, kind_at[1]) if kind_at else (None, None))
        t.save(tmp_path / f"seed{seed}")
    assert main(["score", str(tmp_path), "--bootstrap", "20", "--no-figures"]) == 0
    runs = pd.read_csv(tmp_path / "runs.csv").set_index("seed")
    for seed, kind_at in EVENTS.items():
        for kind in ("spike", "collapse"):
            want = kind_at[1] if kind_at and kind_at[0] == kind else None
            got = runs.loc[seed, f"t_{kind}"]
            assert (pd.isna(got) and want is None) or got == want

    # in_auroc by its definition (docs/scoring.md), from the logged values: q(t) = (s(T_gen) - s(t)) /
    # |s(T_gen) - s(T_mem)| over T_gen < t < E (label E <= 2t), and without an event over T_gen < t with
    # 2t <= the last logged step (label False)
    scores, labels = [], []
    for seed, t in trackers.items():
        v = t.traces.query("measure == 'l2'").set_index("step")["value"]
        q = (v[T_GEN] - v) / abs(v[T_GEN] - v[T_MEM])
        event = EVENTS[seed]
        for step in v.index:
            if step <= T_GEN:
                continue
            if event is not None and step < event[1]:
                scores.append(q[step])
                labels.append(event[1] <= 2 * step)
            elif event is None and 2 * step <= STEPS[-1]:
                scores.append(q[step])
                labels.append(False)
    assert 0 < sum(labels) < len(labels)
    row = pd.read_csv(tmp_path / "leaderboard_by_task.csv").set_index("measure").loc["l2"]
    assert row["in_auroc"] == pytest.approx(roc_auc_score(labels, scores), rel=1e-5)  # the CSV keeps 6 digits
    assert row["n_runs_in"] == len(EVENTS) and row["n_ckpt_in"] == len(labels)
    assert np.isfinite(row["in_auroc_lo"]) and np.isfinite(row["in_auroc_hi"])
