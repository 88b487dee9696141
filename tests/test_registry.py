import pytest

from complexity_bench import MEASURES, TASKS, UserError
from complexity_bench.contracts.measure import FunctionMeasure, MeasureInfo
from complexity_bench.contracts.plugins import load_plugins
from complexity_bench.contracts.registry import Registry


def test_unknown_name_suggests_close_match():
    with pytest.raises(UserError, match=r"unknown measure 'trian-loss'; did you mean 'train-loss'"):
        MEASURES.get("trian-loss")


def test_unknown_task_suggests_close_match():
    with pytest.raises(UserError, match=r"did you mean 'modadd-mlp'"):
        TASKS.get("modad-mlp")


def test_duplicate_name_refused_naming_both_places():
    reg = Registry("measure", "complexity_bench.measures", "none")
    reg._discovered = True
    info = MeasureInfo(name="dup", version="1", direction=1)

    def first(model, ctx):
        return 0.0

    def second(model, ctx):
        return 1.0

    reg.add("dup", FunctionMeasure(first, info))
    with pytest.raises(UserError) as err:
        reg.add("dup", FunctionMeasure(second, info))
    msg = str(err.value)
    assert "duplicate measure name 'dup'" in msg
    assert msg.count("test_registry.py:") == 2  # both definitions located


def test_builtin_duplicate_via_plugin_is_refused(tmp_path):
    path = tmp_path / "clash.py"
    path.write_text(
        "from complexity_bench import measure\n"
        "@measure(name='step', version='9', direction=1)\n"
        "def f(model, ctx):\n    return 0.0\n"
    )
    with pytest.raises(UserError, match="duplicate measure name 'step'.*baselines.py"):
        load_plugins([str(path)])


def test_select_all_and_list():
    assert {"random", "step", "train-loss", "oracle-test-loss"} <= {m.name for m in MEASURES.select("all")}
    assert [m.name for m in MEASURES.select("step, random")] == ["step", "random"]
    with pytest.raises(UserError):
        MEASURES.select(" , ")


def test_plugin_file_registers_its_measure(plugin_file):
    assert load_plugins([str(plugin_file)]) == ["plugin-weight-count"]
    assert "plugin-weight-count" in MEASURES
    # loading twice is harmless (the worker initialiser does this)
    assert load_plugins([str(plugin_file)]) == ["plugin-weight-count"]


def test_plugin_file_without_measure_is_an_error(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    with pytest.raises(UserError, match="defines no measure or task"):
        load_plugins([str(path)])


def test_plugin_file_that_fails_to_import_shows_its_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import not_a_module_anywhere\n")
    with pytest.raises(UserError, match="failed to import: ModuleNotFoundError"):
        load_plugins([str(path)])


def test_missing_plugin_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_plugins([str(tmp_path / "nope.py")])


def test_invalid_metadata_is_one_clear_error():
    with pytest.raises(UserError, match="direction must be"):
        MeasureInfo(name="x", version="1", direction=2)
    with pytest.raises(UserError, match="cost 'huge'"):
        MeasureInfo(name="x", version="1", direction=1, cost="huge")


def test_measures_and_tasks_are_not_top_level_packages():
    import importlib.util

    assert importlib.util.find_spec("complexity_bench.measures") is not None
    assert importlib.util.find_spec("measures") is None or "complexity_bench" not in str(
        importlib.util.find_spec("measures").origin)


def test_entry_point_plugin_is_discovered(tmp_path):
    """A third-party package registering through the complexity_bench.measures entry-point group."""
    import os
    import subprocess
    import sys

    (tmp_path / "thirdparty_measures.py").write_text(
        "from complexity_bench import measure\n"
        "@measure(name='thirdparty-zero', version='1', direction=1)\n"
        "def zero(model, ctx):\n    return 0.0\n"
    )
    dist = tmp_path / "thirdparty_measures-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-measures\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[complexity_bench.measures]\nzero = thirdparty_measures\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "complexity_bench", "list", "measures"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "thirdparty-zero" in out.stdout


def test_a_plugin_file_registers_again_after_its_registrations_were_undone(plugin_file):
    with MEASURES.scope():
        assert load_plugins([str(plugin_file)]) == ["plugin-weight-count"]
    assert "plugin-weight-count" not in MEASURES
    assert load_plugins([str(plugin_file)]) == ["plugin-weight-count"]
    assert "plugin-weight-count" in MEASURES


def test_registrations_do_not_leak_between_tests_first(plugin_file):
    load_plugins([str(plugin_file)])
    assert "plugin-weight-count" in MEASURES


def test_registrations_do_not_leak_between_tests_second():
    """Runs after the one above in file order (and in any order under pytest -p randomly)."""
    assert "plugin-weight-count" not in MEASURES


@pytest.mark.parametrize("version", ["../../outside", "1/2", "..", "1..2", "1\x00"])
def test_plugin_measure_version_that_could_leave_the_store_is_refused(tmp_path, version):
    """A measure's version is part of a file name in the run store: '/' or '..' would
    write outside it, so registration refuses it with one clear line."""
    path = tmp_path / "escape.py"
    path.write_text(
        "from complexity_bench import measure\n"
        f"@measure(name='escape-version', version={version!r}, direction=1)\n"
        "def f(model, ctx):\n    return 0.0\n"
    )
    with pytest.raises(UserError, match=r"invalid metadata for measure 'escape-version': version .* must be"):
        load_plugins([str(path)])
    assert "escape-version" not in MEASURES


def test_task_name_that_could_leave_the_store_is_refused():
    from complexity_bench.contracts.task import Task, register_task

    class Escape(Task):
        name = "../outside"

    with pytest.raises(UserError, match=r"invalid metadata for task '\.\./outside' .*name '\.\./outside' must be"):
        register_task(Escape)
    assert "../outside" not in TASKS
