"""Grokking in PyTorch Lightning with ``ComplexityCallback``: the Tracker's measures and alarms in a Trainer.

    pip install 'complexity_bench[lightning]'
    python examples/lightning_grokking.py                    # (a+b) mod 23, weight decay 2, 3,000 steps
    python examples/lightning_grokking.py --stop-on-alarm    # stop when an alarm fires

The model and data are examples/grokking_tracker.py's (full-batch AdamW); `model="net"`
has the measures see the network, not the LightningModule around it. The
measure values go to the Trainer's logger (CSV here: <out>/csv/version_0/metrics.csv,
tags complexity/<measure>), the Tracker's run folder to <out>/complexity/<run id>.

One run of the defaults (OMP_NUM_THREADS=1, on this project's 2-core Intel Xeon
shared with other jobs, load ~11): T_mem = 75, T_gen = 615, the l2 alarm at step
195 (no other), 1 min 26 s wall, 25 s CPU.
"""

from __future__ import annotations

import argparse

import lightning.pytorch as L
import torch
import torch.nn.functional as F

from complexity_bench import Data, Schedule
from complexity_bench.integrations.lightning import ComplexityCallback
from grokking_tracker import AdditionMLP, modular_addition


class Grokking(L.LightningModule):
    def __init__(self, train: tuple[torch.Tensor, torch.Tensor], weight_decay: float):
        super().__init__()
        self.net, self.train_pairs, self.weight_decay = AdditionMLP(), train, weight_decay

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-2, weight_decay=self.weight_decay)

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(*self.train_pairs)
        return torch.utils.data.DataLoader(data, batch_size=len(data))  # full batch: one step per epoch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--weight-decay", type=float, default=2.0)
    ap.add_argument("--measures", default="lmn,l2,effective-rank")
    ap.add_argument("--stop-on-alarm", action="store_true")
    ap.add_argument("--out", default="runs/lightning")
    args = ap.parse_args()

    train, test = modular_addition(seed=0)
    torch.manual_seed(0)
    complexity = ComplexityCallback(args.measures, Data(probe=train[0][:128], train=train, test=test),
                                    schedule=Schedule(steps=args.steps), model="net",
                                    stop_on_alarm=args.stop_on_alarm, verbose=True)
    trainer = L.Trainer(max_steps=args.steps, callbacks=[complexity], logger=L.loggers.CSVLogger(args.out, name="csv"),
                        default_root_dir=args.out, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, log_every_n_steps=1)
    trainer.fit(Grokking(train, args.weight_decay))

    events = complexity.tracker.events()
    print(f"T_mem = {events.t_mem}, T_gen = {events.t_gen}; stopped at step {trainer.global_step}")
    print(complexity.tracker.warning()[["measure", "p_max", "threshold", "alarm", "alarm_step"]].to_string(index=False))
    print(f"run folder: {complexity.saved_to}")


if __name__ == "__main__":
    main()
