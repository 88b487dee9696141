"""`list measures|tasks` fits a 100-column terminal; `list measures NAME` shows one entry in full."""

from __future__ import annotations

import pytest

from complexity_bench.cli import main
from complexity_bench.contracts.measure import MEASURES


def _lines(capsys, *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("what", ["measures", "tasks"])
def test_the_table_fits_a_100_column_terminal_and_lists_everything(capsys, monkeypatch, what):
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal still gets at most 100 columns
    lines = _lines(capsys, "list", what)
    assert max(len(line) for line in lines) <= 100
    if what == "measures":
        listed = {line.split()[0] for line in lines[1:] if line and not line[0].isdigit()}
        assert listed == set(MEASURES.names())


def test_one_measure_in_full_wrapped_at_the_terminal_width(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    lines = _lines(capsys, "list", "measures", "l2-dist-init")
    assert max(len(line) for line in lines) <= 80
    text = " ".join(" ".join(lines).split())
    info = MEASURES.get("l2-dist-init").info
    assert "direction: +1" in text
    assert " ".join(info.direction_source.split()) in text and " ".join(info.description.split()) in text


def test_an_unknown_name_is_one_line_and_exit_2(capsys):
    assert main(["list", "measures", "l2-dist"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'l2-dist-init'" in err
