"""``validate FILE``: a result file checked against the shipped JSON Schema and against itself.

Every problem is one line (``FILE: where: what``); ``validate`` prints them and
exits with status 1 when there is any (2 stays for bad usage, as everywhere). The checks beyond the
schema: the seal (sha256) matches the content, every value belongs to a listed
run and to the measure's table, no (run, step, measure) appears twice, the runs'
tasks and task versions are the suite's, and the suite fingerprint matches the runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from complexity_bench.errors import UserError
from complexity_bench.result_file.document import FORMAT, FORMAT_VERSION, digest, read_document, schema
from complexity_bench.result_file.export import suite_version

MAX_PROBLEMS = 20  # a file broken everywhere is reported by its first problems, not thousands of lines


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(top level)"


def schema_problems(doc: dict[str, Any]) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_where(e.absolute_path)}: {e.message[:200]}" for e in errors]


def consistency_problems(doc: dict[str, Any]) -> list[str]:
    """What is inconsistent inside a schema-valid document."""
    problems = []
    if digest(doc) != doc["sha256"]:
        problems.append("sha256: does not match the content: the file was changed after export (export it again)")
    runs = {r["run_id"]: r for r in doc["runs"]}
    if len(runs) < len(doc["runs"]):
        problems.append("runs: a run id appears twice")
    tasks = doc["suite"]["tasks"]
    for r in doc["runs"]:
        if tasks.get(r["task"]) != r["task_version"]:
            problems.append(f"runs: run {r['run_id']} is task {r['task']} version {r['task_version']}, "
                            f"the suite lists {r['task']} version {tasks.get(r['task'])}")
            break
    if suite_version(doc["runs"]) != doc["suite"]["version"]:
        problems.append("suite/version: does not match the runs listed")
    name = doc["measure"]["name"]
    scored = {row["measure"] for row in doc["measure"]["table"]}
    if any(row["parent"] != name for row in doc["measure"]["table"]):
        problems.append(f"measure/table: a row whose parent is not {name!r}")
    seen = set()
    for i, v in enumerate(doc["values"]):
        key = (v["run_id"], v["step"], v["measure"])
        if v["run_id"] not in runs:
            problems.append(f"values/{i}: run {v['run_id']!r} is not among the runs")
        elif v["measure"] not in scored:
            problems.append(f"values/{i}: measure {v['measure']!r} is not in measure/table")
        elif key in seen:
            problems.append(f"values/{i}: run {v['run_id']} step {v['step']} {v['measure']} appears twice")
        seen.add(key)
        if len(problems) >= MAX_PROBLEMS:
            break
    missing = sorted(set(runs) - {v["run_id"] for v in doc["values"]})
    if missing:
        problems.append(f"values: run {missing[0]} has no value ({len(missing)} runs have none)")
    return problems


def problems_of(doc: dict[str, Any]) -> list[str]:
    """Every problem of a result document (empty when it is valid)."""
    if doc.get("format") != FORMAT:
        return [f"format: {doc.get('format')!r} is not a complexity_bench result file (expected {FORMAT!r})"]
    if doc.get("format_version") != FORMAT_VERSION:
        return [f"format_version: {doc.get('format_version')!r} is not readable by this complexity_bench "
                f"(it reads version {FORMAT_VERSION}); use the package version that wrote it"]
    problems = schema_problems(doc)
    return problems[:MAX_PROBLEMS] if problems else consistency_problems(doc)[:MAX_PROBLEMS]


def validate_file(path: str | Path) -> list[str]:
    """The problems of result file ``path``, each ``path: where: what`` (empty when valid);
    a file that cannot be read as a JSON object is one problem."""
    try:
        doc = read_document(path)
    except UserError as exc:
        return [str(exc)]
    return [f"{path}: {p}" for p in problems_of(doc)]


def read_valid(path: str | Path) -> dict[str, Any]:
    """The document in ``path``; a UserError naming its first problem when it is not valid."""
    doc = read_document(path)
    problems = problems_of(doc)
    if problems:
        more = f" (and {len(problems) - 1} more: run `validate {path}`)" if len(problems) > 1 else ""
        raise UserError(f"{path}: {problems[0]}{more}")
    return doc
