"""Modular addition with a Hugging Face ``Trainer`` and ``ComplexityTrainerCallback``.

    pip install 'complexity_bench[hf]'
    python examples/hf_grokking.py                  # a one-layer GPT-2 on (a+b) mod 23, 3,000 steps
    python examples/hf_grokking.py --stop-on-alarm

The model is built from a config (nothing is downloaded): a one-layer GPT-2
reading the pair (a, b) as two tokens and classifying their sum. The measure
values are appended to the Trainer's log history (trainer.state.log_history,
keys complexity/<measure>); the Tracker's run folder goes to
<out>/complexity/<run id>.

One run of the defaults (OMP_NUM_THREADS=1, on this project's 2-core Intel Xeon
shared with other jobs, load ~11): T_mem = 135, T_gen = 2,835 (it generalises
late), no alarm, 8 min 49 s wall, 65 s CPU.
"""

from __future__ import annotations

import argparse

import torch
import transformers

from complexity_bench import Data, Schedule
from complexity_bench.integrations.hf import ComplexityTrainerCallback
from grokking_tracker import P, modular_addition


class Pairs(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"input_ids": self.x[i], "labels": self.y[i]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--weight-decay", type=float, default=1.0)
    ap.add_argument("--measures", default="l2,effective-rank,spectral-product")
    ap.add_argument("--stop-on-alarm", action="store_true")
    ap.add_argument("--out", default="runs/hf")
    args = ap.parse_args()

    train, test = modular_addition(seed=0)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=P + 1, n_positions=2, n_embd=64, n_layer=1, n_head=4, num_labels=P,
                                     pad_token_id=P, bos_token_id=P, eos_token_id=P)  # P is no operand: the last token is b
    model = transformers.GPT2ForSequenceClassification(config)
    complexity = ComplexityTrainerCallback(args.measures, Data(probe=train[0][:128], train=train, test=test),
                                           schedule=Schedule(steps=args.steps), stop_on_alarm=args.stop_on_alarm,
                                           verbose=True)
    training = transformers.TrainingArguments(
        output_dir=args.out, max_steps=args.steps, per_device_train_batch_size=len(train[0]), learning_rate=1e-3,
        weight_decay=args.weight_decay, logging_steps=100, save_strategy="no", report_to=[], use_cpu=True,
        disable_tqdm=True, seed=0)
    trainer = transformers.Trainer(model=model, args=training, train_dataset=Pairs(*train), callbacks=[complexity])
    trainer.train()

    events = complexity.tracker.events()
    print(f"T_mem = {events.t_mem}, T_gen = {events.t_gen}; stopped at step {trainer.state.global_step}")
    print(complexity.tracker.warning()[["measure", "p_max", "threshold", "alarm", "alarm_step"]].to_string(index=False))
    logged = [e for e in trainer.state.log_history if any(k.startswith("complexity/") for k in e)]
    print(f"{len(logged)} log-history entries with measures; run folder: {complexity.saved_to}")


if __name__ == "__main__":
    main()
