"""Why a leaderboard ranks no measure, in one line for the screen.

A measure is ranked only when its headline is defined on every task it is eligible
for (docs/protocol.md); on a small suite (``smoke``: one run per task) no headline is,
and the leaderboard lists every measure as unranked. ``run`` and ``score`` then print
this note, with the first task's reasons from ``nan_reasons``, so the screen says why.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from complexity_bench.scoring.config import HEADLINE as HEADLINE_PARTS  # the headline's components


def _headline_reasons(nan_reasons: str) -> str:
    """The first task's reasons for the headline's components, from a ``nan_reasons`` cell
    ("task: score: reason; score: reason | task: ...")."""
    first = str(nan_reasons).split(" | ")[0]
    task, _, reasons = first.partition(": ")
    parts = [r for r in reasons.split("; ") if r.split(":")[0].strip() in HEADLINE_PARTS]
    return f"on {task}: {'; '.join(parts)}" if parts else first[:300]


def unranked_note(leaderboard: Path) -> str | None:
    """A one-line note when the leaderboard file ranks no measure, else None."""
    try:
        board = pd.read_csv(leaderboard)
    except (OSError, ValueError):
        return None
    if "section" not in board or (board["section"] == "ranked").any() or board.empty:
        return None
    unranked = board[board["section"] == "unranked"]
    why = ""
    if "nan_reasons" in board and unranked["nan_reasons"].notna().any():
        why = f"; e.g. {unranked['measure'].iloc[0]}'s headline is undefined " + \
              _headline_reasons(unranked["nan_reasons"].dropna().iloc[0])
    return (f"note: no measure is ranked: a measure is ranked only where its headline is defined on every "
            f"task it applies to{why} (one run per task, as in the smoke suite, cannot define it: the smoke "
            f"suite checks the pipeline, the default suite gives a leaderboard)")
