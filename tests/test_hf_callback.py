"""The Hugging Face callback against the real package: a one-layer GPT-2 built from a config
(nothing downloaded) trained by ``Trainer`` on (a + b) mod P; values equal a Tracker's on the
same weights, reach the Trainer's log history, and stop_on_alarm stops training."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from helpers.extras import extra

transformers = extra("transformers")

from complexity_bench import Data, RunLabel, Schedule, Tracker  # noqa: E402
from complexity_bench.integrations.hf import ComplexityTrainerCallback, Logits  # noqa: E402
from helpers.grokking_module import P, modular_addition  # noqa: E402

STEPS = 40
(TRAIN, TEST) = modular_addition()
# accuracy threshold 1e-6 (one training pair right): T_mem is step 0, known at the third log;
# alarm threshold -inf: it fires then
TRACKER_ARGS = dict(measures="l2,effective-rank", data=Data(probe=TRAIN[0][:32], train=TRAIN, test=TEST),
                    schedule=Schedule(steps=STEPS, threshold=1e-6), alarms={"l2": float("-inf")},
                    run=RunLabel(run_id="hf-test"))
VALUE_COLUMNS = ["run_id", "task", "step", "measure", "value", "error", "train_loss", "test_loss", "train_acc",
                 "test_acc"]


def tiny_gpt2() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=P + 1, n_positions=2, n_embd=32, n_layer=1, n_head=2,
                                     num_labels=P, pad_token_id=P, bos_token_id=P, eos_token_id=P)
    return transformers.GPT2ForSequenceClassification(config)


class Pairs(torch.utils.data.Dataset):
    def __len__(self):
        return len(TRAIN[0])

    def __getitem__(self, i):
        return {"input_ids": TRAIN[0][i], "labels": TRAIN[1][i]}


class Snapshots(transformers.TrainerCallback):
    def __init__(self, due):
        self.due, self.states = due, {}

    def _take(self, state, model):
        if self.due(state.global_step):
            self.states[state.global_step] = {k: v.clone() for k, v in model.state_dict().items()}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._take(state, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._take(state, model)


def train(tmp_path, callbacks, max_steps=STEPS, save_steps=None, resume=None):
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=max_steps, per_device_train_batch_size=len(TRAIN[0]), learning_rate=1e-3,
        logging_steps=10, save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500, report_to=[],
        lr_scheduler_type="constant", use_cpu=True, disable_tqdm=True, seed=0)  # the same steps whatever max_steps
    trainer = transformers.Trainer(model=tiny_gpt2(), args=args, train_dataset=Pairs(), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    return trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    callback = ComplexityTrainerCallback(**TRACKER_ARGS)
    snaps = Snapshots(callback.tracker.due)
    return train(tmp_path_factory.mktemp("hf"), [callback, snaps]), callback, snaps


def test_values_equal_a_trackers_on_the_same_weights(trained):
    trainer, callback, snaps = trained
    assert trainer.state.global_step == STEPS
    reference, model = Tracker(**TRACKER_ARGS), tiny_gpt2()
    for step, state in sorted(snaps.states.items()):
        model.load_state_dict(state)
        reference.log(step, Logits(model))
    got = callback.tracker.traces
    assert got["step"].nunique() == len(snaps.states) > 10 and got["value"].notna().all()
    pd.testing.assert_frame_equal(got[VALUE_COLUMNS], reference.traces[VALUE_COLUMNS])


def test_values_are_in_the_log_history_and_the_run_folder(trained):
    trainer, callback, _ = trained
    logged = {(e["step"], k.removeprefix("complexity/")): v for e in trainer.state.log_history for k, v in e.items()
              if k.startswith("complexity/") and "/alarm/" not in k}
    t = callback.tracker.traces
    assert logged == {(int(s), m): float(v) for s, m, v in zip(t["step"], t["measure"], t["value"])}
    assert any("loss" in e for e in trainer.state.log_history)  # the Trainer's own entries are kept
    third_log = sorted(callback.tracker.curve["step"])[2]
    assert [e["step"] for e in trainer.state.log_history if "complexity/alarm/l2" in e] == [third_log]
    saved = pd.read_parquet(callback.saved_to / "traces.parquet")
    pd.testing.assert_frame_equal(saved[VALUE_COLUMNS], t[VALUE_COLUMNS])


def test_stop_on_alarm_stops_training_at_the_alarm(trained, tmp_path):
    callback = ComplexityTrainerCallback(stop_on_alarm=True, **TRACKER_ARGS)
    trainer = train(tmp_path, [callback])
    third_log = sorted(trained[1].tracker.curve["step"])[2]
    assert trainer.state.global_step == third_log < STEPS


def test_a_resumed_trainer_continues_the_same_trace(trained, tmp_path):
    train(tmp_path, [ComplexityTrainerCallback(**TRACKER_ARGS)], max_steps=STEPS // 2, save_steps=STEPS // 2)
    resumed = ComplexityTrainerCallback(**TRACKER_ARGS)
    trainer = train(tmp_path, [resumed], resume=str(tmp_path / f"checkpoint-{STEPS // 2}"))
    assert trainer.state.global_step == STEPS
    whole = trained[1].tracker.traces
    pd.testing.assert_frame_equal(resumed.tracker.traces[VALUE_COLUMNS], whole[VALUE_COLUMNS])


def test_resuming_where_the_callback_saved_nothing_is_refused(tmp_path):
    from complexity_bench.errors import UserError

    train(tmp_path, [], max_steps=4, save_steps=4)  # a checkpoint without the callback's state
    with pytest.raises(UserError, match="without complexity_tracker.pt"):
        train(tmp_path, [ComplexityTrainerCallback(**TRACKER_ARGS)], max_steps=8, resume=str(tmp_path / "checkpoint-4"))
