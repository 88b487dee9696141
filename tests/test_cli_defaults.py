"""The command line takes its choices and defaults from the modules that own them:
engines (engine/select.py), suites (contracts/task.py), executors, and the bootstrap
default (scoring/config.py)."""

import pytest

from complexity_bench import cli
from complexity_bench.contracts.task import SUITES
from complexity_bench.engine.select import ENGINES
from complexity_bench.errors import UserError
from complexity_bench.pipeline import harness
from complexity_bench.pipeline.executors import EXECUTORS
from complexity_bench.scoring.config import DEFAULT_N_BOOT


def test_run_help_lists_the_owners_choices_and_the_scoring_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, names in (("--engine", ENGINES), ("--suite", SUITES), ("--executor", EXECUTORS)):
        assert f"{flag} {{{','.join(names)}}}" in text
    assert f"bootstrap resamples for intervals (default: {DEFAULT_N_BOOT})" in text


@pytest.mark.parametrize("engine", list(ENGINES))
def test_every_engine_name_parses(engine):
    assert cli.build_parser().parse_args(["run", "--engine", engine]).engine == engine


def test_an_unknown_engine_is_one_user_error():
    with pytest.raises(UserError, match="--engine: invalid choice: 'turbo'"):
        cli.build_parser().parse_args(["run", "--engine", "turbo"])


@pytest.mark.parametrize("argv, expected", [([], DEFAULT_N_BOOT), (["--bootstrap", "7"], 7)])
def test_run_passes_the_bootstrap_default_or_the_given_number(monkeypatch, argv, expected):
    seen = []
    monkeypatch.setattr(harness, "run", lambda cfg: seen.append(cfg) or {
        "runs": 0, "trained_this_invocation": 0, "measures": [], "wall_seconds_this_invocation": 0.0})
    assert cli.main(["run", "--suite", "smoke", *argv]) == 0
    assert seen[0].bootstrap == expected
