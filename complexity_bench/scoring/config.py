"""Scoring configuration, result tables, and the list of score columns.

Every score column ``c`` of ``ScoreTables.by_task`` comes with ``c_lo`` and
``c_hi`` (95% percentile bootstrap interval over runs). ``HIGHER_IS_BETTER``
says which way each one points; docs/scoring.md documents them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class ScoreConfig:
    """Knobs of the scoring protocol (SPEC §6).

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
        never generalise at all (SPEC §6.2's literal reading).
    level: coverage of the bootstrap intervals.
    stratify: resample seeds within each variant configuration (the grid is
        fixed by design; only seeds are random) when every configuration has at
        least 2 runs; otherwise, or when False, resample all runs of the task.
        Plain resampling drops whole configurations from some replicates, which
        biases worst-case scores (the max over environments) upwards.
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
    stratify: bool = True


@dataclass
class ScoreTables:
    """by_task: one row per (measure, task); leaderboard: one row per measure."""

    by_task: pd.DataFrame
    leaderboard: pd.DataFrame


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
    "fc_tau": True,
    "fc_tau_excess": True,
    "fc_cindex": True,
    "fc_cindex_excess": True,
    "fc_psi": True,
    "fc_sign_error_mean": False,
    "fc_sign_error_max": False,
}
SCORES: tuple[str, ...] = tuple(HIGHER_IS_BETTER)
HEADLINE: tuple[str, ...] = ("trk_rho", "ew_auroc", "fc_cindex", "fc_sign_error_max")
