"""Scoring configuration, result tables, and the score columns the scorers declare.

Every score column ``c`` of ``ScoreTables.by_task`` comes with ``c_lo`` and
``c_hi`` (95% percentile bootstrap interval). Each scorer module declares its own
columns and which way each points (its ``COLUMNS``); ``HIGHER_IS_BETTER`` collects
them; docs/scoring.md documents them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


# Version of the scoring protocol (docs/protocol.md), written into every manifest: 3 ranks on what a
# measure tells within a configuration at a common step (beyond the recipe and the clock).
PROTOCOL_VERSION = "3"

# Bootstrap replicates unless a caller asks for another number (`run`/`score --bootstrap`).
DEFAULT_N_BOOT = 1000

# ScoreConfig.resample -> how the bootstrap draws a task's runs (bootstrap.py)
RESAMPLING = {"crossed": "seeds crossed with configurations", "hierarchical": "configurations, then seeds",
              "clusters": "configurations, seeds whole", "runs": "runs"}


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
    resample: "crossed" (default): seeds resampled as clusters across
        configurations, crossed with configurations resampled within the
        control / non-control groups (bootstrap.py; docs/protocol.md, "Version 3");
        "hierarchical": configurations, then seeds within each drawn configuration
        (protocol 2; docs/protocol.md, "Uncertainty", has the coverage of each
        scheme under a permutation null); "clusters":
        configurations, each drawn one's seeds kept whole; "runs": all runs of a
        task, ignoring the configuration level.
    tie_probability: 1 - the familywise level: "A beats B" when Holm's procedure
        over all ordered pairs, with p-values 1 - P(A beats B), rejects at level
        1 - tie_probability; rank = 1 + the number of measures that beat it
        (ranking.py).
    scorer_baselines: add the baselines the scorer computes from runs.csv
        (``random``, ``recipe-wd``, ``recipe-oracle``; scorer_baselines.py).
        False only to score a few measures quickly (tests).
    """

    horizon: float = 2.0
    false_alarm: float = 0.10
    n_boot: int = DEFAULT_N_BOOT
    seed: int = 0
    eps: float = 1e-12
    sign_tol: float = 0.05
    min_points: int = 3
    censored_late_negative: bool = False
    level: float = 0.95
    resample: str = "crossed"
    tie_probability: float = 0.95
    scorer_baselines: bool = True

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


# Score columns and whether larger is better (None: neither; a diagnostic), as each scorer declares them.
from complexity_bench.scoring import (conditional, early_warning, forecast, granulated, instability,  # noqa: E402
                                      tracking)

HIGHER_IS_BETTER: dict[str, bool | None] = {**tracking.COLUMNS, **early_warning.COLUMNS, **forecast.COLUMNS,
                                            **granulated.COLUMNS, **conditional.COLUMNS, **instability.COLUMNS}
SCORES: tuple[str, ...] = tuple(HIGHER_IS_BETTER)
# The two prediction questions, asked within a configuration at a common step (docs/protocol.md,
# "Version 3"): do the measure's values order which of two seeds of one recipe generalises first
# (cf_cindex), and which checkpoint at one step is about to generalise (cw_auroc)? ``headline`` is
# their mean; measures are ranked on it. Reported beside: the recipe level (``recipe_headline``, the
# protocol-2 mean of ew_auroc and fc_cindex, unconditional), the controls' question, tracking, and the
# worst sign-error.
HEADLINE: tuple[str, ...] = ("cw_auroc", "cf_cindex")
RECIPE_LEVEL: tuple[str, ...] = ("ew_auroc", "fc_cindex")
DERIVED: dict[str, tuple[str, ...]] = {"headline": HEADLINE, "recipe_headline": RECIPE_LEVEL}
BESIDE: tuple[str, ...] = ("recipe_headline", "ctl_auroc", "trk_rho", "fc_sign_error_max")
RANKED_ON: tuple[str, ...] = ("headline", *HEADLINE)  # every rank and pairwise column
