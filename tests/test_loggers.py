"""Tracker loggers against the real packages: TensorBoard's event-file reader and W&B offline."""

from __future__ import annotations

import math

import torch
from torch import nn

from helpers.extras import extra
from complexity_bench import Data, Tracker

tb = extra("tensorboard")
wandb = extra("wandb")

from complexity_bench.integrations.loggers import TensorBoardLogger, WandbLogger  # noqa: E402
from helpers.wandb_records import records  # noqa: E402

MEASURES = "l2,effective-rank"
STEPS = (0, 1, 2, 3, 5, 8)


def tracked_run(*loggers) -> Tracker:
    """A small MLP trained a few SGD steps, logged at STEPS; train_acc is given as 1.0 from step 2,
    so T_mem is step 2 (three logs in a row) and the alarm (threshold below any p) fires at step 3."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    tracker = Tracker(MEASURES, Data(probe=x[:16], train=(x, y)), alarms={"l2": -1e9})
    for logger in loggers:
        tracker.add_logger(logger)
    for step in range(STEPS[-1] + 1):
        if step in STEPS:
            tracker.log(step, model, train_acc=1.0 if step >= 2 else 0.0)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return tracker


def expected(tracker: Tracker) -> dict[str, list[tuple[int, float]]]:
    t = tracker.traces
    return {m: [(int(s), float(v)) for s, v in zip(g["step"], g["value"])] for m, g in t.groupby("measure")}


def test_tensorboard_event_file_holds_every_value_at_its_step_and_the_alarm(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(tmp_path / "tb")
    tracker = tracked_run(logger)
    logger.close()
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "tensors": 0}).Reload()
    want = expected(tracker)
    assert set(want) == {"l2", "effective-rank/mean", "effective-rank/first", "effective-rank/last"}
    assert sorted(events.Tags()["scalars"]) == sorted(f"complexity/{m}" for m in want)
    for m, pairs in want.items():
        got = [(e.step, e.value) for e in events.Scalars(f"complexity/{m}")]
        # the event file stores float32
        assert got == [(s, float(torch.tensor(v, dtype=torch.float32))) for s, v in pairs], m
    alarms = events.Tensors("complexity/alarm/l2/text_summary")
    assert [a.step for a in alarms] == [3]
    assert alarms[0].tensor_proto.string_val[0].decode().startswith("l2 p = ")


def test_wandb_offline_run_holds_every_value_on_the_trackers_step_axis_and_one_alert(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    run = wandb.init(project="complexity-bench-test", dir=str(tmp_path), mode="offline")
    try:
        tracker = tracked_run(WandbLogger(run))
    finally:
        run.finish()
        wandb.teardown()  # stop the W&B service process this test started
    (path,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    recs = records(path)
    metrics = [(m.name or m.glob_name, m.step_metric) for k, m in recs if k == "metric"]
    assert ("complexity/*", "complexity/step") in metrics
    history = [{(i.key or "/".join(i.nested_key)): float(i.value_json) for i in h.item} for k, h in recs if k == "history"]
    assert [int(h["complexity/step"]) for h in history] == list(STEPS)
    for m, pairs in expected(tracker).items():
        assert [(int(h["complexity/step"]), h[f"complexity/{m}"]) for h in history] == pairs, m
    alerts = [a for k, a in recs if k == "alert"]
    assert len(alerts) == 1 and alerts[0].title == "complexity_bench alarm: l2" and "at step 3" in alerts[0].text


def test_a_failed_value_is_not_sent(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(tmp_path / "tb")
    logger.log_values(4, {"a": 1.0, "b": math.nan, "c": math.inf}, {})
    logger.close()
    events = EventAccumulator(str(tmp_path / "tb")).Reload()
    assert events.Tags()["scalars"] == ["complexity/a"]
    assert [(e.step, e.value) for e in events.Scalars("complexity/a")] == [(4, 1.0)]
