"""The Lightning callback against the real package: values equal a Tracker's on the same weights,
the trainer's logger gets them at their steps, a resumed fit continues the same trace, and
stop_on_alarm stops at the alarm."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
import torch
from torch import nn

from helpers.extras import extra

L = extra("lightning.pytorch")

from complexity_bench import Data, RunLabel, Schedule, Tracker  # noqa: E402
from complexity_bench.integrations.lightning import ComplexityCallback  # noqa: E402
from helpers.grokking_module import grokking_net, modular_addition  # noqa: E402

STEPS = 200
(TRAIN, TEST) = modular_addition()
# alarms: a threshold below any p, so the alarm fires at the first log after T_mem is known
TRACKER_ARGS = dict(measures="lmn,l2,effective-rank", data=Data(probe=TRAIN[0][:32], train=TRAIN, test=TEST),
                    schedule=Schedule(steps=STEPS), alarms={"l2": -1e9}, run=RunLabel(run_id="lightning-test"))
VALUE_COLUMNS = ["run_id", "task", "step", "measure", "value", "error", "train_loss", "test_loss", "train_acc",
                 "test_acc"]


class Grokking(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = grokking_net()

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-2, weight_decay=1.0)

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(*TRAIN)
        return torch.utils.data.DataLoader(data, batch_size=len(data))  # full batch: an epoch is a step


class Snapshots(L.Callback):
    """The weights at every step the Tracker logs (the same hooks as the callback)."""

    def __init__(self, due):
        self.due, self.states = due, {}

    def _take(self, trainer, pl_module):
        if self.due(trainer.global_step):
            self.states[trainer.global_step] = {k: v.clone() for k, v in pl_module.state_dict().items()}

    on_train_start = _take

    def on_train_batch_end(self, trainer, pl_module, *args):
        self._take(trainer, pl_module)


def announced_step(tracker: Tracker) -> int:
    """Where the alarm fires: T_mem is known ``consecutive`` logs after it, and p > θ from its next log."""
    steps = tracker.curve["step"].tolist()
    return steps[steps.index(tracker.events().t_mem) + tracker.consecutive - 1]


def fit(tmp_path, max_steps, callbacks, ckpt_path=None, logger=None):
    trainer = L.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, callbacks=callbacks,
                        logger=logger or False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(Grokking(), ckpt_path=ckpt_path)
    return trainer


@pytest.fixture(scope="module")
def full_fit(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lightning")
    callback = ComplexityCallback(**TRACKER_ARGS)
    snaps = Snapshots(callback.tracker.due)
    trainer = fit(tmp, STEPS, [callback, snaps], logger=L.loggers.CSVLogger(tmp, name="csv"))
    return trainer, callback, snaps


def test_callback_values_equal_a_trackers_on_the_same_weights(full_fit):
    trainer, callback, snaps = full_fit
    assert trainer.global_step == STEPS and not callback.driver.stop_on_alarm
    reference = Tracker(**TRACKER_ARGS)
    module = Grokking()
    for step, state in sorted(snaps.states.items()):
        module.load_state_dict(state)
        reference.log(step, module)
    got = callback.tracker.traces
    assert len(got) > 40 * 6 and got["value"].notna().all()
    pd.testing.assert_frame_equal(got[VALUE_COLUMNS], reference.traces[VALUE_COLUMNS])
    assert callback.tracker.events().t_mem is not None  # the model memorised within the fit


def test_values_reach_the_trainers_logger_at_their_steps_and_the_run_folder_is_written(full_fit):
    trainer, callback, _ = full_fit
    with open(trainer.logger.experiment.metrics_file_path) as f:
        rows = list(csv.DictReader(f))
    logged = {(int(r["step"]), k.removeprefix("complexity/")): float(v) for r in rows for k, v in r.items()
              if k.startswith("complexity/") and v != "" and "/alarm/" not in k}
    t = callback.tracker.traces
    assert logged == {(int(s), m): float(v) for s, m, v in zip(t["step"], t["measure"], t["value"])}
    alarm_steps = [int(r["step"]) for r in rows if r.get("complexity/alarm/l2")]
    assert alarm_steps == [announced_step(callback.tracker)]
    assert callback.tracker.warning().set_index("measure").at["l2", "alarm_step"] <= alarm_steps[0]
    last_l2 = t[t["measure"] == "l2"]["value"].iloc[-1]
    assert float(trainer.callback_metrics["complexity/l2"]) == pytest.approx(last_l2, rel=1e-6)  # float32 there
    saved = pd.read_parquet(callback.saved_to / "traces.parquet")
    pd.testing.assert_frame_equal(saved[VALUE_COLUMNS], t[VALUE_COLUMNS])


def test_a_resumed_fit_continues_the_same_trace(full_fit, tmp_path):
    first = ComplexityCallback(**TRACKER_ARGS)
    trainer = fit(tmp_path, STEPS // 2, [first])
    trainer.save_checkpoint(tmp_path / "half.ckpt")
    resumed = ComplexityCallback(**TRACKER_ARGS)
    trainer = fit(tmp_path, STEPS, [resumed], ckpt_path=tmp_path / "half.ckpt")
    assert trainer.global_step == STEPS
    whole = full_fit[1].tracker.traces
    pd.testing.assert_frame_equal(resumed.tracker.traces[VALUE_COLUMNS], whole[VALUE_COLUMNS])
    assert resumed.tracker.events() == full_fit[1].tracker.events()


def test_stop_on_alarm_stops_at_the_alarm(full_fit, tmp_path):
    callback = ComplexityCallback(stop_on_alarm=True, **TRACKER_ARGS)
    trainer = fit(tmp_path, STEPS, [callback])
    alarm_step = announced_step(full_fit[1].tracker)
    assert trainer.global_step == alarm_step < STEPS
    whole = full_fit[1].tracker.traces
    pd.testing.assert_frame_equal(callback.tracker.traces[VALUE_COLUMNS],
                                  whole[whole["step"] <= alarm_step][VALUE_COLUMNS])
