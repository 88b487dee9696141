"""Fuzzing the command line, the results readers and the Tracker: every input ends in a
result or in one line on stderr with exit status 2 (a UserError for the Tracker), never a
traceback, and a refused input leaves every stored file as it was.

``main()`` runs in this process. ``run`` and ``bench`` stop before any work, after
``run``'s input checks (``make_plan``, the worker count, the executor; an unwritable
``--out`` is tests/test_cli.py's), since training is not what is fuzzed here; ``list``,
``score`` and ``check-measure`` run for real.
Examples are derandomised so CI sees the same cases every time.
"""

import io
import math
import shutil
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn

import complexity_bench.bench
import complexity_bench.pipeline.harness
from complexity_bench.cli import main

pytestmark = pytest.mark.smoke
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def dry_run(cfg):
    """``harness.run`` up to the point where training would start: every input check."""
    plan = complexity_bench.pipeline.harness.make_plan(cfg)
    workers = cfg.resolved_workers()
    complexity_bench.pipeline.harness.make_executor(cfg.executor, workers, tuple(cfg.plugins), cfg.ray_address)
    return {"runs": plan.n_runs, "trained_this_invocation": 0, "measures": {m.name: "" for m in plan.measures},
            "wall_seconds_this_invocation": 0.0}


def call_main(argv):
    """(exit status, stdout, stderr, warnings) of ``main(argv)`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's --help
            code = exc.code
    return code, out.getvalue(), err.getvalue(), [str(w.message) for w in caught]


def assert_result_or_one_line(argv, code, err, caught, ok_codes=(0,)):
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        assert not caught, (argv, caught)  # the real CLI would print them: more than one line
    else:
        assert code in ok_codes, (argv, code, err)


@pytest.fixture(scope="module")
def plugin_files(tmp_path_factory, plugin_file):
    d = tmp_path_factory.mktemp("plugins")
    (d / "broken.py").write_text("raise RuntimeError('plugin exploded\\nsecond line')\n")
    (d / "empty.py").write_text("x = 1\n")
    (d / "syntax.py").write_text("def f(:\n")
    return [str(plugin_file), str(d / "broken.py"), str(d / "empty.py"), str(d / "syntax.py"), str(d),
            str(d / "missing.py")]


# command-line words: shell arguments cannot hold NUL; anything else can. No '/', '.' or '..':
# a word may become a folder that `score` writes into (it collects Tracker run folders), so
# every path a word names stays inside the empty working folder of `sandbox`
words = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), max_size=12) \
    .filter(lambda w: w not in (".", ".."))
numbers = st.integers(-3, 40).map(str)


@st.composite
def cli_argv(draw, plugin_paths, results_dir):
    command = draw(st.sampled_from(["run", "run", "run", "list", "score", "score", "check-measure", "bench",
                                    "nonsense", "--help"]))
    argv = [command]
    if command == "list":
        argv.append(draw(st.sampled_from(["measures", "tasks", "nope"]) | words))
    elif command == "score":
        argv.append(draw(st.sampled_from([results_dir, "/nonexistent/results", plugin_paths[0]]) | words))
        argv.append("--no-figures")
    elif command == "check-measure":
        argv.append(draw(st.sampled_from(["step", "random", "nope", "", *plugin_paths]) | words))
    flags = {
        "run": {"--measures": st.sampled_from(["all", "step", "step,random", "trian-loss", " , ", "l2,"]) | words,
                "--tasks": st.sampled_from(["all", "xor-mlp", "modad-mlp", "xor-mlp,,"]) | words,
                "--suite": st.sampled_from(["smoke", "default", "full", "huge"]) | words,
                "--workers": numbers | words, "--bootstrap": numbers | words,
                "--executor": st.sampled_from(["local", "ray", "slurm"]) | words,
                "--engine": st.sampled_from(["auto", "loop", "cohort", "turbo"]) | words,
                "--plugin": st.sampled_from(plugin_paths) | words, "--out": words,
                "--no-figures": None, "--no-progress": None, "--bogus": None},
        "list": {"--plugin": st.sampled_from(plugin_paths) | words},
        "score": {"--bootstrap": numbers | words},
        "bench": {"--json": None, "--quick": None},
    }.get(command, {})
    for flag in draw(st.lists(st.sampled_from(sorted(flags) or ["--x"]), max_size=4)):
        argv.append(flag)
        if flags.get(flag) is not None:
            argv.append(draw(flags[flag]))
    if draw(st.integers(0, 3)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(words))  # a stray word anywhere
    return argv


@pytest.fixture(scope="module")
def scored_copy(results_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "results"
    shutil.copytree(results_folder, out, ignore=shutil.ignore_patterns("store"))
    return str(out)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """An empty working folder (relative paths land there); ``run`` and ``bench`` stop
    before any work (see the module docstring)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("cwd"))
        mp.setattr(complexity_bench.pipeline.harness, "run", dry_run)
        mp.setattr(complexity_bench.bench, "main", lambda argv: 0)
        yield


@FUZZ
@given(data=st.data())
def test_fuzz_command_line(plugin_files, scored_copy, sandbox, data):
    argv = data.draw(cli_argv(plugin_files, scored_copy), label="argv")
    before = stat_snapshot(Path(scored_copy))
    code, _, err, caught = call_main(argv)
    event(f"{argv[0]}: exit {code}")  # pytest --hypothesis-show-statistics shows the spread
    ok = (0, 1) if argv[0] == "check-measure" else (0,)  # 1: a measure failed its checks
    assert_result_or_one_line(argv, code, err, caught, ok)
    if code == 2:  # refused: nothing stored changed
        assert stat_snapshot(Path(scored_copy)) == before, argv


def stat_snapshot(folder: Path) -> dict:
    """(size, mtime) of every file under ``folder``: what a write would change."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


RESULTS_FILES = ["runs.csv", "measures.csv", "traces.parquet", "curves.parquet", "manifest.json"]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def _write(path: Path, df: pd.DataFrame) -> None:
    df.to_csv(path, index=False) if path.suffix == ".csv" else df.to_parquet(path, index=False)


@st.composite
def damage(draw):
    """(file, how, parameters): one way a results file can be broken."""
    name = draw(st.sampled_from(RESULTS_FILES))
    kinds = ["truncate", "empty", "garbage"] if name == "manifest.json" else \
        ["truncate", "empty", "garbage", "shuffle", "shuffle", "drop", "cells", "cells", "cells", "no_rows",
         "duplicate_rows", "orphan_rows", *(["events"] * 3 if name == "runs.csv" else [])]
    kind = draw(st.sampled_from(kinds))
    return name, kind, draw(st.randoms(use_true_random=False))


def apply_damage(out: Path, name: str, kind: str, rnd) -> None:
    path = out / name
    data = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(data[: rnd.randrange(len(data))])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))))
    else:
        df = _read(path)
        cols = list(df.columns)
        if kind == "shuffle":  # the header permuted, the values left where they were
            shuffled = cols[:]
            rnd.shuffle(shuffled)
            df.columns = shuffled
        elif kind == "drop":
            df = df.drop(columns=rnd.sample(cols, min(len(cols), rnd.choice([1, 1, 2, len(cols)]))))
        elif kind == "cells":
            df = df.astype(object)
            for _ in range(rnd.randrange(1, 6)):
                df.iat[rnd.randrange(len(df)), rnd.randrange(len(cols))] = rnd.choice(["", "x", "-1", "1e309", "nan",
                                                                                        "True", None, -5, 2.5])
            if path.suffix == ".parquet":
                df = df.astype(str)
        elif kind == "duplicate_rows":  # a run, a trace or a curve point twice
            df = pd.concat([df, df.sample(rnd.randrange(1, 3), replace=True, random_state=rnd.randrange(2 ** 31))])
        elif kind == "orphan_rows":  # rows of a run no other file knows
            df = df.astype({"run_id": object})
            df.iat[rnd.randrange(len(df)), cols.index("run_id")] = rnd.choice(["ghost", "", "xor-mlp-0"])
        elif kind == "events":  # an impossible T_mem, T_gen, budget or censored flag
            col = rnd.choice(["t_mem", "t_gen", "budget", "censored"])
            df = df.astype({col: object})
            df.iat[rnd.randrange(len(df)), cols.index(col)] = rnd.choice(
                ["nan", -1, 2.5, 10 ** 12, "inf", "", 0, True, False])
        else:
            df = df.iloc[:0]
        _write(path, df)


@settings(FUZZ, max_examples=50)
@given(dmg=damage())
def test_fuzz_results_readers(results_folder, tmp_path_factory, dmg):
    out = tmp_path_factory.mktemp("damaged") / "results"
    shutil.copytree(results_folder, out, ignore=shutil.ignore_patterns("store", "figures"))
    apply_damage(out, *dmg)
    before = stat_snapshot(out)
    code, _, err, caught = call_main(["score", str(out), "--bootstrap", "3", "--no-figures"])
    event(f"{dmg[0]} {dmg[1]}: exit {code}")
    assert_result_or_one_line(dmg[:2], code, err, caught)
    if code == 2:
        assert stat_snapshot(out) == before, dmg[:2]  # refused before anything was written
    shutil.rmtree(out.parent)


# The Tracker: random logs (steps out of order or negative, metrics NaN, inf or out of
# range, another architecture, not a model) and saves (into a fresh folder, its own, a
# folder holding another run, a suite's results folder, a path through a file). Each call
# returns or raises a UserError, never anything else; a refused save changes nothing.
log_steps = st.integers(-5, 60) | st.sampled_from([0, 10, 10, 2 ** 40])
metric_values = st.none() | st.sampled_from([0.0, 0.5, 1.0, -1.0, 2.0, math.nan, math.inf])
models = st.sampled_from(["linear", "linear", "linear", "wider", "not a model"])
save_targets = st.sampled_from(["fresh", "own", "another run", "suite results", "through a file"])
tracker_ops = st.lists(st.one_of(
    st.tuples(st.just("log"), log_steps, models, st.fixed_dictionaries(
        {}, optional={k: metric_values for k in ("train_acc", "test_acc", "train_loss", "test_loss")})),
    st.tuples(st.just("save"), save_targets)), min_size=1, max_size=6)


@settings(FUZZ, max_examples=20)
@given(ops=tracker_ops)
def test_fuzz_tracker(results_folder, tmp_path_factory, ops):
    from complexity_bench import Tracker
    from complexity_bench.errors import UserError
    from complexity_bench.pipeline.outputs import read_frames
    from complexity_bench.tracker.save import save_run

    root = tmp_path_factory.mktemp("tracker")
    suite = root / "suite"
    shutil.copytree(results_folder, suite, ignore=shutil.ignore_patterns("store", "figures", "report.html"))
    other = root / "other"
    frames = read_frames(suite)
    save_run(other, frames, {"source": "Tracker"})
    (root / "file").write_text("")
    targets = {"fresh": root / "fresh", "own": root / "own", "another run": other, "suite results": suite,
               "through a file": root / "file" / "run"}
    stored = {p: stat_snapshot(p) for p in (suite, other)}
    torch.manual_seed(0)
    net = {"linear": nn.Linear(3, 2), "wider": nn.Linear(4, 2), "not a model": "not a model"}
    tracker = Tracker(measures="step,l2")
    for op in ops:
        try:
            if op[0] == "log":
                _, step, model, metrics = op
                tracker.log(step, net[model], **metrics)
            else:
                tracker.save(targets[op[1]])
            event(f"{op[0]}: ok")
        except UserError:
            event(f"{op[0]}: UserError")
        assert {p: stat_snapshot(p) for p in (suite, other)} == stored, op  # another run's files: untouched
    shutil.rmtree(root)
