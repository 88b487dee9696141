"""Notebook-friendly registration: a re-run cell replaces its measure; two files still clash."""

from __future__ import annotations

import pytest
from torch import nn

from complexity_bench import MEASURES, UserError, compute
from complexity_bench.contracts.plugins import load_plugins

CELL = (
    "from complexity_bench import measure\n"
    "@measure(name='notebook-cell-measure', version='1', direction=1)\n"
    "def weight_sum(model, ctx):\n"
    "    return {value}\n"
)


@pytest.fixture
def cleanup():
    """What a test registers is gone afterwards."""
    with MEASURES.scope():
        yield


def test_rerun_notebook_cell_replaces_the_measure_with_a_warning(cleanup):
    # a notebook runs cells in __main__; each run compiles under a new file name
    exec(compile(CELL.format(value=1.0), "<ipython-input-1>", "exec"), {"__name__": "__main__"})
    assert compute("notebook-cell-measure", nn.Linear(1, 1)) == 1.0
    with pytest.warns(UserWarning, match="redefined by the same code"):
        exec(compile(CELL.format(value=2.0), "<ipython-input-2>", "exec"), {"__name__": "__main__"})
    assert compute("notebook-cell-measure", nn.Linear(1, 1)) == 2.0


def test_another_function_in_the_same_module_still_clashes(cleanup):
    exec(compile(CELL.format(value=1.0), "<cell>", "exec"), {"__name__": "__main__"})
    other = CELL.format(value=2.0).replace("def weight_sum", "def other_name")
    with pytest.raises(UserError, match="duplicate measure name 'notebook-cell-measure'"):
        exec(compile(other, "<cell>", "exec"), {"__name__": "__main__"})


def test_two_files_defining_one_name_still_fail_naming_both_paths(tmp_path, cleanup):
    paths = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "my_measure.py"  # the same code, in two files
        path.write_text(CELL.format(value=1.0).replace("notebook-cell-measure", "two-files-measure"))
        paths.append(path)
    load_plugins([str(paths[0])])
    with pytest.raises(UserError) as err:
        load_plugins([str(paths[1])])
    assert str(paths[0]) in str(err.value) and str(paths[1]) in str(err.value)
