"""Tracker runs saved and scored like the suite; the live warning; the alarm calibration."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from torch import nn

from complexity_bench import RunLabel, Tracker
from complexity_bench.cli import main
from complexity_bench.tracker.warning import shipped_thresholds

ROOT = Path(__file__).resolve().parents[1]
STEPS = list(range(0, 201, 10))
T_MEM = 20
# weight decay -> T_gen (None: never generalises within the 200 logged steps)
RUNS = {0.0: None, 0.01: None, 1.0: 150, 2.0: 100, 3.0: 60}


def _weight(step: int, t_gen: int | None, rng: np.random.Generator, peak: float) -> float:
    """|w| rises to ``peak`` at T_mem, then falls, faster for an earlier T_gen; noisy."""
    if step <= T_MEM:
        return 1.0 + (peak - 1.0) * step / T_MEM
    rate = 0.0 if t_gen is None else 1.0 / t_gen
    return peak * math.exp(-rate * (step - T_MEM)) + 0.05 * float(rng.standard_normal())


def _track(wd: float, t_gen: int | None, seed: int, **kw) -> Tracker:
    rng = np.random.default_rng(seed)
    peak = 3.0 + float(rng.uniform(0, 1))
    model = nn.Linear(1, 1, bias=False)
    tracker = Tracker("l2,step", run=RunLabel(task="toy-own", seed=seed, hparams={"wd": wd}), **kw)
    for step in STEPS:
        with torch.no_grad():
            model.weight.fill_(_weight(step, t_gen, rng, peak))
        test_acc = 1.0 if t_gen is not None and step >= t_gen else 0.1
        tracker.log(step, model, train_acc=1.0 if step >= T_MEM else 0.5, test_acc=test_acc,
                    train_loss=1.0 / (1 + step), test_loss=2.0 - test_acc - step / 1000)
    return tracker


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("my_runs")
    trackers = {}
    for seed, (wd, t_gen) in enumerate(RUNS.items()):
        trackers[wd] = _track(wd, t_gen, seed)
        trackers[wd].save(root / f"wd{wd}")
    assert main(["score", str(root), "--bootstrap", "20", "--no-figures"]) == 0
    return root, trackers


def test_events_come_from_the_logged_accuracies(scored):
    root, trackers = scored
    runs = pd.read_csv(root / "runs.csv").set_index("run_id")
    for wd, t in trackers.items():
        assert t.events().t_mem == T_MEM and t.events().t_gen == RUNS[wd]
        row = runs.loc[t.run_id]
        assert row["t_mem"] == T_MEM and row["wd"] == wd and row["budget"] == STEPS[-1]
        assert (pd.isna(row["t_gen"]) and RUNS[wd] is None) or row["t_gen"] == RUNS[wd]
    assert {"leaderboard.csv", "leaderboard_by_task.csv"} <= {p.name for p in root.iterdir()}


def test_scoring_the_saved_folder_reproduces_the_trackers_own_statistics(scored):
    root, trackers = scored
    row = pd.read_csv(root / "leaderboard_by_task.csv").set_index("measure").loc["l2"]
    # early-warning AUROC from the Trackers' own p(t), by the definition in docs/scoring.md
    scores, labels, s_pts, loss_pts = [], [], [], []
    for wd, t in trackers.items():
        t_gen = RUNS[wd]
        p = t.progress().query("measure == 'l2'").set_index("step")["p"]
        for step, value in p.items():
            if step <= T_MEM:
                continue
            if t_gen is not None and step < t_gen:
                scores.append(value)
                labels.append(t_gen <= 2 * step)
            elif t_gen is None and 2 * step <= STEPS[-1]:
                scores.append(value)
                labels.append(False)
        if t_gen is not None:  # tracking: checkpoints T_mem <= t <= T_gen of grokking runs, pooled
            tr = t.traces.query("measure == 'l2' and @T_MEM <= step <= @t_gen")
            s_pts += list(tr["value"])
            loss_pts += list(tr["test_loss"])
    assert row["ew_auroc"] == pytest.approx(roc_auc_score(labels, scores), rel=1e-5)
    assert row["trk_rho"] == pytest.approx(spearmanr(s_pts, loss_pts)[0], rel=1e-5)
    assert 0 < row["n_runs"] == len(RUNS)


def test_duplicate_run_ids_are_refused_naming_both_folders(tmp_path, capsys):
    for name in ("a", "b"):
        _track(1.0, 150, seed=0).save(tmp_path / name)
    assert main(["score", str(tmp_path), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "a") in err and str(tmp_path / "b") in err and err.count("\n") == 1


def test_warning_is_the_relative_fall_since_memorisation_and_alarms_once(capsys):
    model = nn.Linear(1, 1, bias=False)
    t = Tracker(measures="l2", alarms={"l2": 0.5}, verbose=True)
    weights = {0: 1.0, 10: 2.0, 20: 3.0, 30: 3.0, 40: 2.5, 50: 1.9, 60: 1.5, 70: 2.2}
    for step, w in weights.items():
        with torch.no_grad():
            model.weight.fill_(w)
        t.log(step, model, train_acc=1.0 if step >= 20 else 0.0)
    table = t.warning().set_index("measure").loc["l2"]
    # p(t) = (s(T_mem) - s(t)) / |s(T_mem) - s(0)| with s(T_mem) = 3, s(0) = 1
    assert table["t_mem"] == 20 and table["p"] == pytest.approx((3 - 2.2) / 2)
    assert table["p_max"] == pytest.approx((3 - 1.5) / 2) and table["alarm_step"] == 50 and table["alarm"]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "l2" in lines[0] and "step 50" in lines[0]


def _never_runs(task: str, maxima: list[float]) -> tuple[list[dict], list[dict]]:
    runs, traces = [], []
    for k, m in enumerate(maxima):
        rid = f"{task}-{k}"
        runs.append({"run_id": rid, "task": task, "t_mem": 10.0, "t_gen": np.nan, "censored": True,
                     "budget": 100, "axes": ""})
        for step, s in ((0, 0.0), (10, 1.0), (20, 1.0 - m), (30, 1.0)):  # max p = m / (1 + eps)
            traces.append({"run_id": rid, "task": task, "step": step, "measure": "m", "value": s, "error": ""})
    return runs, traces


def test_calibration_script_takes_the_scorers_false_alarm_quantile(tmp_path):
    r1, t1 = _never_runs("t1", [float(k) for k in range(1, 21)])
    r2, t2 = _never_runs("t2", [5.0, 6.0, 7.0])
    pd.DataFrame(r1 + r2).to_csv(tmp_path / "runs.csv", index=False)
    pd.DataFrame(t1 + t2).to_parquet(tmp_path / "traces.parquet")
    pd.DataFrame([{"measure": "m", "direction": 1}]).to_csv(tmp_path / "measures.csv", index=False)
    out = tmp_path / "thresholds.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "calibrate_alarms.py"), str(tmp_path), "--out", str(out)],
                   check=True, capture_output=True)
    data = json.loads(out.read_text())
    # 10% of 20 runs may exceed theta: at most 2 maxima above it -> the 18th largest
    assert data["by_task"]["t1"]["m"] == {"threshold": pytest.approx(18.0), "n_never_runs": 20}
    assert data["by_task"]["t2"]["m"]["threshold"] == pytest.approx(7.0)  # 3 runs: none may exceed it
    assert data["pooled"]["m"] == {"threshold": pytest.approx(18.0), "n_never_runs": 23}
    # Out of sample: t1's threshold from t2 alone (7, its largest) lets 13 of t1's 20 runs alarm;
    # t2's from t1 (18) none of t2's.
    assert data["out_of_sample"]["t1"]["m"] == {
        "threshold": pytest.approx(7.0), "n_calibration_runs": 3, "n_never_runs": 20,
        "false_alarm_rate": pytest.approx(13 / 20), "false_alarm_floor": pytest.approx(13 / 20)}
    assert data["out_of_sample"]["t2"]["m"]["false_alarm_rate"] == 0.0


def test_calibration_script_refuses_a_broken_results_file_in_one_line(tmp_path):
    r1, t1 = _never_runs("t1", [1.0, 2.0])
    r2, t2 = _never_runs("t2", [3.0])
    pd.DataFrame(r1 + r2).drop(columns=["t_mem"]).to_csv(tmp_path / "runs.csv", index=False)
    pd.DataFrame(t1 + t2).to_parquet(tmp_path / "traces.parquet")
    pd.DataFrame([{"measure": "m", "direction": 1}]).to_csv(tmp_path / "measures.csv", index=False)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "calibrate_alarms.py"), str(tmp_path),
                           "--out", str(tmp_path / "out.json")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'runs.csv'}: column 't_mem' is missing; "
                                                f"re-run `run --out {tmp_path}` to rewrite it"]
    assert not (tmp_path / "out.json").exists()


def test_shipped_thresholds_are_the_committed_results_calibrated():
    sys.path.insert(0, str(ROOT / "scripts"))
    from calibrate_alarms import calibrate

    fresh = calibrate(ROOT / "results" / "full")  # the reference suite
    shipped = shipped_thresholds()
    assert shipped["source"]["git_commit"] == fresh["source"]["git_commit"]
    assert shipped["pooled"] == fresh["pooled"] and shipped["by_task"] == fresh["by_task"]
    assert shipped["out_of_sample"] == fresh["out_of_sample"]


def test_score_does_not_merge_a_suite_results_folder_found_below(tmp_path):
    """`score .` beside a suite's results/ does not treat it as a Tracker run (concatenating
    it into the current folder)."""
    import shutil

    from complexity_bench.tracker.save import run_folders

    suite = tmp_path / "results"
    suite.mkdir()
    for name in ("runs.csv", "traces.parquet", "curves.parquet", "measures.csv", "manifest.json"):
        shutil.copy(Path(__file__).resolve().parents[1] / "results" / name, suite / name)
    assert run_folders(tmp_path) == []
