"""Scoring configuration, result tables, and the list of score columns.

Every score column ``c`` of ``ScoreTables.by_task`` comes with ``c_lo`` and
``c_hi`` (95% percentile bootstrap interval over runs). ``HIGHER_IS_BETTER``
says which way each one points; docs/scoring.md documents them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


# Version of the scoring protocol (docs/protocol.md), written into every manifest: 2 judges
# every measure at the same checkpoints, ranks on the two prediction questions with ties.
PROTOCOL_VERSION = "2"

# ScoreConfig.resample -> how the bootstrap draws a task's runs (bootstrap.py)
RESAMPLING = {"hierarchical": "configurations, then seeds", "clusters": "configurations, seeds whole",
              "runs": "runs"}


@dataclass(frozen=True)
class ScoreConfig:
    """Knobs of the scoring protocol (docs/protocol.md).

    horizon: h in the early-warning label "test accuracy reaches q by t*h".
    false_alarm: share of never-generalising runs allowed to raise an alarm
        when calibrating the lead-time threshold.
    n_boot: bootstrap replicates (resampling runs); 0 disables intervals.
    seed: bootstrap seed (the replicate weights also depend on the task name,
        and are shared by all measures of a task, so measures are compared on
        the same resamples).
    eps: added to |m(T_mem) - m(0)| in the early-warning normaliser.
    sign_tol: pairs whose delays differ by less than this (log10 units) are
        left out of the sign-error: such differences are within seed noise
        (~±25% in T_gen), the analogue of Dziugaite et al.'s noise filter.
    min_points: fewest points a correlation is computed on.
    censored_late_negative: early warning on a never-generalising run at a
        checkpoint t with h*t > budget: the label "reaches q by h*t" is unknown
        (the run was not watched that long), so by default the checkpoint is
        left out of the AUROC; True labels it negative, as if the run would
        never generalise at all (the literal reading of the label).
    level: coverage of the bootstrap intervals.
    resample: "hierarchical" (default): configurations, then seeds within each
        drawn configuration (bootstrap.py; docs/protocol.md, "Uncertainty", has
        the coverage of each scheme under a permutation null); "clusters":
        configurations, each drawn one's seeds kept whole; "runs": all runs of a
        task, ignoring the configuration level.
    tie_probability: two measures are tied unless one is better in at least this
        share of bootstrap replicates; rank = 1 + the number of measures better
        with that probability (ranking.py).
    """

    horizon: float = 2.0
    false_alarm: float = 0.10
    n_boot: int = 1000
    seed: int = 0
    eps: float = 1e-12
    sign_tol: float = 0.05
    min_points: int = 3
    censored_late_negative: bool = False
    level: float = 0.95
    resample: str = "hierarchical"
    tie_probability: float = 0.95

    def __post_init__(self) -> None:
        if self.resample not in RESAMPLING:
            raise ValueError(f"resample must be one of {', '.join(RESAMPLING)}, got {self.resample!r}")


@dataclass
class ScoreTables:
    """by_task: one row per (measure, task); leaderboard: one row per measure;
    pairwise: P(A beats B) per scope (a task or "all") and headline score."""

    by_task: pd.DataFrame
    leaderboard: pd.DataFrame
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)


# Score columns and whether larger is better (None: neither; a diagnostic).
HIGHER_IS_BETTER: dict[str, bool | None] = {
    "trk_rho": True,
    "trk_r2": True,
    "trk_rho_run_median": True,
    "trk_r2_run_median": True,
    "ew_auroc": True,
    "ew_lead_time": True,
    "ew_detect_rate": True,
    "ew_false_alarm_rate": None,
    "ew_false_alarm_floor": None,
    "fc_tau": True,
    "fc_tau_excess": True,
    "fc_cindex": True,
    "fc_cindex_excess": True,
    "fc_psi": True,
    "fc_sign_error_mean": False,
    "fc_sign_error_max": False,
}
SCORES: tuple[str, ...] = tuple(HIGHER_IS_BETTER)
# The two prediction questions (docs/protocol.md, "Ranking"): does the measure's movement
# since memorisation announce generalisation (ew_auroc), and does its value at
# memorisation order the delays (fc_cindex)? ``headline`` is their mean; measures are
# ranked on it. Tracking and the worst sign-error are reported beside, not ranked:
# tracking is not a prediction, and the sign-error scores the same feature as the C-index.
HEADLINE: tuple[str, ...] = ("ew_auroc", "fc_cindex")
BESIDE: tuple[str, ...] = ("trk_rho", "fc_sign_error_max")
RANKED_ON: tuple[str, ...] = ("headline", *HEADLINE)  # every rank and pairwise column
