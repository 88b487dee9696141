"""``python -m complexity_bench`` — run, list, score, report, check-measure, bench, export, validate, merge.

User errors print one line (``error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from complexity_bench.errors import UserError
from complexity_bench.numerics import pin_mkl
from complexity_bench.pipeline.out_folder import DEFAULT_OUT

# below this many replicates the 2.5% and 97.5% points of an interval are the extreme replicates
FEW_REPLICATES = 40


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    def format_help(self) -> str:
        # the bootstrap default is scoring's; scoring is imported only when help shows it
        # (it costs about a second, which `list` and `check-measure` need not pay)
        if any(a.dest == "bootstrap" for a in self._actions):
            from complexity_bench.scoring.config import DEFAULT_N_BOOT

            self.set_defaults(bootstrap=DEFAULT_N_BOOT)
        return super().format_help()

    def error(self, message: str):  # one line, not argparse's usage block
        command = " ".join(self.prog.split()[1:])  # "" for the top-level parser
        raise UserError(f"{message} (see `python -m complexity_bench {command + ' ' if command else ''}--help`)")


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``), so an
    error is one line on any terminal whatever the input it quotes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _bootstrap_argument(parser: argparse.ArgumentParser) -> None:
    """``--bootstrap``; unset (None), the scoring default (scoring/config.py's DEFAULT_N_BOOT) applies."""
    parser.add_argument("--bootstrap", default=None, type=_non_negative_int,
                        help="bootstrap resamples for intervals (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="complexity_bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    from complexity_bench.contracts.task import SUITES
    from complexity_bench.engine.select import ENGINES
    from complexity_bench.pipeline.executors import EXECUTORS

    r = sub.add_parser("run", help="train (or reuse) runs, evaluate measures, score, write the leaderboard")
    r.add_argument("--measures", default="all", help="'all' or comma-separated names (default: all)")
    r.add_argument("--tasks", default="all", help="'all' or comma-separated names (default: all)")
    r.add_argument("--suite", default="default", choices=SUITES, help="which runs of each task (default: %(default)s)")
    r.add_argument("--out", default=DEFAULT_OUT, type=Path,
                   help=f"output folder (default: {DEFAULT_OUT}/, untracked; the committed reference is results/)")
    r.add_argument("--replace", action="store_true",
                   help="let this run replace the results of another suite, task or measure selection in --out")
    r.add_argument("--workers", default=0, type=_non_negative_int, help="worker processes (default: 0 = one per core)")
    r.add_argument("--plugin", action="append", default=[], metavar="PATH", help="a .py file defining measures or tasks (repeatable)")
    r.add_argument("--executor", default="local", choices=EXECUTORS, help="where jobs run (default: %(default)s)")
    r.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local Ray)")
    r.add_argument("--engine", default="auto", choices=ENGINES, help="how runs of one task train (default: %(default)s)")
    r.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N: where runs train and measures evaluate (default: cpu)")
    _bootstrap_argument(r)
    r.add_argument("--no-figures", action="store_true", help="skip the PNGs")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    ls = sub.add_parser("list", help="what is registered, with metadata")
    ls.add_argument("what", choices=["measures", "tasks"])
    ls.add_argument("name", nargs="?", default=None, help="one measure or task: all its fields, wrapped")
    ls.add_argument("--plugin", action="append", default=[], metavar="PATH")

    s = sub.add_parser("score", help="re-score stored results (or a folder of Tracker.save runs) without retraining")
    s.add_argument("results_dir", type=Path)
    _bootstrap_argument(s)
    s.add_argument("--no-figures", action="store_true")

    rp = sub.add_parser("report", help="write DIR/report.html: the results as one offline web page")
    rp.add_argument("results_dir", type=Path)

    c = sub.add_parser("check-measure", help="conformance checks for a measure (registered name or plugin file)")
    c.add_argument("target", help="a measure name, or a path to a .py plugin file")

    b = sub.add_parser("bench", help="measure this machine's speed for the suite")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    b.add_argument("--quick", action="store_true", help="a < 1 minute version (fewer runs and steps)")

    e = sub.add_parser("export", help="write one measure's values on a results folder as a result file others can merge")
    e.add_argument("results_dir", type=Path)
    e.add_argument("--measure", required=True, help="the measure's name")
    e.add_argument("--out", type=Path, default=None, help="the file to write (default: NAME.result.json here)")

    v = sub.add_parser("validate", help="check result files (the shipped JSON Schema and their own consistency)")
    v.add_argument("files", nargs="+", type=Path)

    mg = sub.add_parser("merge", help="score result files together with a reference results folder")
    mg.add_argument("files", nargs="+", type=Path)
    mg.add_argument("--out", type=Path, required=True, help="the merged results folder to write")
    mg.add_argument("--reference", type=Path, default=Path("results"), help="the reference results folder (default: results/)")
    _bootstrap_argument(mg)
    mg.add_argument("--no-figures", action="store_true")
    return p


def _given(**options):
    """The options the user set (not None): the rest keep the called function's defaults."""
    return {k: v for k, v in options.items() if v is not None}


def cmd_run(args: argparse.Namespace) -> int:
    from complexity_bench.pipeline.harness import run
    from complexity_bench.pipeline.plan import RunConfig

    cfg = RunConfig(tasks=args.tasks, measures=args.measures, suite=args.suite, out=args.out,
                    workers=args.workers, plugins=tuple(args.plugin), executor=args.executor,
                    ray_address=args.ray_address, engine=args.engine, device=args.device, figures=not args.no_figures,
                    progress=not args.no_progress, replace=args.replace, **_given(bootstrap=args.bootstrap))
    manifest = run(cfg)
    print(f"{manifest['runs']} runs ({manifest['trained_this_invocation']} trained now), "
          f"{len(manifest['measures'])} measures, {manifest['wall_seconds_this_invocation']:.0f} s; "
          f"leaderboard: {args.out / 'leaderboard.csv'}")
    _say_why_unranked(args.out)
    _say_if_few_replicates(args.bootstrap)  # after success: an error stays the only line
    return 0


def _say_why_unranked(out: Path) -> None:
    from complexity_bench.pipeline.unranked import unranked_note

    note = unranked_note(out / "leaderboard.csv")
    if note:
        print(_one_line(note), file=sys.stderr)


def _say_if_few_replicates(n_boot: int | None) -> None:
    """Intervals from a handful of replicates are the replicates' range, not a 95% interval."""
    if n_boot is not None and 0 < n_boot < FEW_REPLICATES:
        print(f"note: --bootstrap {n_boot}: with fewer than {FEW_REPLICATES} replicates an interval is the range of "
              f"the replicates' own values, which need not contain the point estimate (computed once, from all the "
              f"data); use 0 for no intervals or >= {FEW_REPLICATES}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    from complexity_bench.contracts.plugins import load_plugins
    from complexity_bench.listing import list_text

    load_plugins(args.plugin)
    print(list_text(args.what, args.name))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from complexity_bench.pipeline.outputs import rescore
    from complexity_bench.pipeline.store import lock_output
    from complexity_bench.tracker.save import collect_run_folders

    with lock_output(args.results_dir, create=False):  # the lock `run` holds: neither overwrites the other
        collect_run_folders(args.results_dir)  # a folder of Tracker.save runs becomes one results folder
        manifest = rescore(args.results_dir, figures=not args.no_figures, **_given(bootstrap=args.bootstrap))
        print(f"re-scored {args.results_dir}: {manifest['leaderboard_rows']} measures on the leaderboard")
        code = cmd_report(args)
    _say_why_unranked(args.results_dir)  # after the report: an error stays the only line
    _say_if_few_replicates(args.bootstrap)
    return code


def cmd_report(args: argparse.Namespace) -> int:
    from complexity_bench.report import write_report

    path = write_report(args.results_dir)
    print(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline)")
    return 0


def cmd_check_measure(args: argparse.Namespace) -> int:
    from complexity_bench.check_isolated import check_isolated

    target = args.target
    # in a supervised process, with time limits: a plugin that exits, is killed or hangs
    # fails its check in one line (check_isolated.py)
    checked = check_isolated(target, is_file=target.endswith(".py") or Path(target).is_file())
    for c in checked:
        print(c.text)
    return 0 if all(c.ok for c in checked) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from complexity_bench.bench import main as bench_main

    return bench_main([flag for flag, on in (("--json", args.json), ("--quick", args.quick)) if on])


def cmd_export(args: argparse.Namespace) -> int:
    from complexity_bench.result_file import export_measure

    path = export_measure(args.results_dir, args.measure, args.out)
    print(f"wrote {path}: {args.measure} on {args.results_dir} (check it: python -m complexity_bench validate {path})")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from complexity_bench.result_file import validate_file

    bad = 0
    for path in args.files:
        problems = validate_file(path)
        for line in problems or [f"{path}: valid"]:
            print(_one_line(line))
        bad += bool(problems)
    return 1 if bad else 0  # as check-measure: 1 is "the file has problems", 2 bad usage


def cmd_merge(args: argparse.Namespace) -> int:
    from complexity_bench.result_file import merge_files

    manifest = merge_files(args.files, args.reference, args.out, figures=not args.no_figures,
                           **_given(bootstrap=args.bootstrap))
    print(f"merged {len(args.files)} file(s) with {args.reference} into {args.out}: "
          f"{manifest['leaderboard_rows']} measures on the leaderboard")
    return 0


COMMANDS = {"run": cmd_run, "list": cmd_list, "score": cmd_score, "report": cmd_report,
            "check-measure": cmd_check_measure, "bench": cmd_bench, "export": cmd_export, "validate": cmd_validate,
            "merge": cmd_merge}


def main(argv: list[str] | None = None) -> int:
    pin_mkl()  # before any torch computation: MKL fixes its code path at its first call (numerics.py)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs and measure values are kept; re-run to resume", file=sys.stderr)
        return 130
