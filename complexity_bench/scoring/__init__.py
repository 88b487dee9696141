"""Scoring: pure functions from stored traces and run events to leaderboards (docs/protocol.md).

    from complexity_bench.scoring import score, ScoreConfig
    tables = score(runs, traces, measures, ScoreConfig(n_boot=1000))
    tables.by_task      # one row per (measure, task)
    tables.leaderboard  # one row per measure, ranked

Modules: prepare (inputs -> arrays, conventions), tracking, early_warning,
forecast, granulated (Psi, sign-error), stats (weighted statistics vectorised
over bootstrap replicates), bootstrap (hierarchical replicates), ranking (ranks
with ties, P(A beats B)), leaderboard (sections, cross-task means), synthetic
(test data).
Column meanings: docs/scoring.md.
"""

from complexity_bench.scoring.config import BESIDE, HEADLINE, HIGHER_IS_BETTER, PROTOCOL_VERSION, SCORES, ScoreConfig, ScoreTables
from complexity_bench.scoring.score import score

__all__ = ["BESIDE", "HEADLINE", "HIGHER_IS_BETTER", "PROTOCOL_VERSION", "SCORES", "ScoreConfig", "ScoreTables",
           "score"]
