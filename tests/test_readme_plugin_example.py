"""The README's "Add a measure in one file" example, taken verbatim, passes `check-measure` with nothing to add."""

from __future__ import annotations

import re
from pathlib import Path

from complexity_bench.cli import main
from complexity_bench.contracts.measure import MEASURES

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> tuple[str, str]:
    """(file name, code) of the section's first python block; its first line names the file."""
    section = README.read_text().split("## Add a measure in one file", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    name = re.match(r"#\s*(\S+\.py)", code).group(1)
    assert f"check-measure {name}" in section  # the command the README gives for it
    return name, code


def test_readme_plugin_example_passes_check_measure_without_notes_to_act_on(tmp_path, capsys):
    name, code = _example()
    (tmp_path / name).write_text(code)
    with MEASURES.scope():
        status = main(["check-measure", str(tmp_path / name)])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "OK" in out.out and "direction_source" not in out.out
