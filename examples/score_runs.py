"""Score your own runs like the suite: three Tracker runs, then `python -m complexity_bench score`.

    python examples/score_runs.py                     # runs/ext-modadd23/{wd0,wd1,wd2}, then the leaderboard
    python examples/score_runs.py --steps 300 --out /tmp/runs

Trains the model of grokking_tracker.py at weight decay 0 (memorises, never
generalises within the budget), 1 and 2 (grok, the larger faster), saves each
run with ``tracker.save``, and scores the folder. With one run per setting the
bootstrap resamples runs, and three runs is far too few for tight intervals:
this shows the mechanics, not a result.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grokking_tracker import train  # noqa: E402

WEIGHT_DECAYS = (0.0, 1.0, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default="runs/ext-modadd23")
    ap.add_argument("--measures", default="lmn,l2,effective-rank,train-loss,step")
    ap.add_argument("--bootstrap", type=int, default=200)
    args = ap.parse_args()
    out = Path(args.out)
    for wd in WEIGHT_DECAYS:
        tracker = train(args.steps, wd, seed=0, out=str(out / f"wd{wd:g}"), measures=args.measures, verbose=False)
        ev = tracker.events()
        print(f"weight decay {wd:g}: T_mem = {ev.t_mem}, T_gen = {ev.t_gen}")
    subprocess.run([sys.executable, "-m", "complexity_bench", "score", str(out), "--bootstrap", str(args.bootstrap),
                    "--no-figures"], check=True)
    board = pd.read_csv(out / "leaderboard.csv")
    cols = [c for c in ("measure", "rank", "trk_rho", "ew_auroc", "fc_cindex") if c in board]  # why NaN: nan_reasons
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(board[cols].to_string(index=False))


if __name__ == "__main__":
    main()
