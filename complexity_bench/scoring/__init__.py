"""Scoring: pure functions from stored traces and run events to leaderboards (SPEC §6).

    from complexity_bench.scoring import score, ScoreConfig
    tables = score(runs, traces, measures, ScoreConfig(n_boot=1000))
    tables.by_task      # one row per (measure, task)
    tables.leaderboard  # one row per measure, ranked

Modules: prepare (inputs -> arrays, conventions), tracking, early_warning,
forecast, granulated (Psi, sign-error), stats (weighted statistics vectorised
over bootstrap replicates), bootstrap, leaderboard, synthetic (test data).
Column meanings: docs/scoring.md.
"""

from .config import HEADLINE, HIGHER_IS_BETTER, SCORES, ScoreConfig, ScoreTables
from .score import score

__all__ = ["HEADLINE", "HIGHER_IS_BETTER", "SCORES", "ScoreConfig", "ScoreTables", "score"]
