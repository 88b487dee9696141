import io
import warnings

import pytest
import torch

from complexity_bench import UserError
from complexity_bench.pipeline.store import RunStore, lock_output, read_checked, write_checked
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run


@pytest.fixture
def smoke_result(modadd_smoke_run):
    return modadd_smoke_run


def test_run_round_trip(tmp_path, smoke_result):
    store = RunStore(tmp_path)
    store.save_run(smoke_result)
    back = store.load_run(smoke_result.variant, get_task("modadd-mlp"))
    assert back.metrics == smoke_result.metrics
    assert sorted(back.checkpoints) == sorted(smoke_result.checkpoints)
    for s, state in smoke_result.checkpoints.items():
        assert all(torch.equal(state[k], back.checkpoints[s][k]) for k in state)
    assert back.events == smoke_result.events


def test_truncated_file_is_detected_not_trusted(tmp_path, smoke_result):
    store = RunStore(tmp_path)
    store.save_run(smoke_result)
    path = store.run_path(smoke_result.variant.run_id)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="checksum mismatch"):
        assert store.load_run(smoke_result.variant, get_task("modadd-mlp")) is None


def test_missing_sidecar_means_incomplete(tmp_path):
    path = tmp_path / "x.json"
    write_checked(path, b"{}")
    assert read_checked(path) == b"{}"
    path.with_name("x.json.sha256").unlink()
    with warnings.catch_warnings(record=True):
        assert read_checked(path) is None


def test_values_round_trip_keeps_nan_and_errors(tmp_path):
    store = RunStore(tmp_path)
    rows = [{"step": 0, "measure": "m", "value": float("nan"), "seconds": 0.1, "error": "ValueError: x"}]
    store.save_values("run", "m", "1", rows)
    back = store.load_values("run", "m", "1")
    assert back[0]["error"] == "ValueError: x" and back[0]["value"] != back[0]["value"]
    assert store.has_values("run", "m", "1") and not store.has_values("run", "m", "2")


def test_second_invocation_is_locked_out(tmp_path):
    with lock_output(tmp_path):
        with pytest.raises(UserError, match="another complexity_bench process"):
            with lock_output(tmp_path):
                pass
    with lock_output(tmp_path):  # released afterwards
        pass


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match="not writable"):
        with lock_output(blocker / "out"):
            pass


def test_training_is_bitwise_deterministic(smoke_result):
    task = get_task("modadd-mlp")
    again = train_run(task, smoke_result.variant)
    assert again.metrics == smoke_result.metrics
    last = max(again.checkpoints)
    assert all(torch.equal(again.checkpoints[last][k], smoke_result.checkpoints[last][k]) for k in again.checkpoints[last])


class _CreatesMarker:
    """Unpickling this calls open(marker, "w"): code execution, as a crafted file would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_crafted_run_file_runs_no_code_and_the_run_is_retrained(tmp_path):
    """A pickle that would execute code, with a matching checksum sidecar (anyone who can
    write the folder can make one): loading runs nothing, warns, and the run is retrained."""
    from complexity_bench.pipeline.jobs import Job, run_job

    task = get_task("xor-mlp")
    variant = task.variants("smoke")[0]
    store = RunStore(tmp_path / "store")
    marker = tmp_path / "marker"
    buf = io.BytesIO()
    torch.save({"checkpoint_steps": _CreatesMarker(marker)}, buf)
    write_checked(store.run_path(variant.run_id), buf.getvalue())  # the sidecar matches
    with pytest.warns(UserWarning, match="not a valid run file"):
        outcome = run_job(Job(task.name, (variant,), ("step",), str(store.root)))
    assert not marker.exists()
    assert outcome.trained == 1
    assert store.load_run(variant, task) is not None  # the retrained run replaced the crafted file


@pytest.mark.parametrize("payload", [
    b"not json",
    b"[]",
    b'{"measure": "m", "version": "1", "rows": "x"}',
    b'{"measure": "other", "version": "1", "rows": []}',
    b'{"measure": "m", "version": "1", "rows": [{"step": "0", "measure": "m", "value": 1, "seconds": 0, "error": ""}]}',
    b'{"measure": "m", "version": "1", "rows": [{"step": 0, "measure": "x", "value": 1, "seconds": 0, "error": ""}]}',
    b'{"measure": "m", "version": "1", "rows": [{"step": 0}]}',
    b"\xff\xfe",
])
def test_values_file_of_the_wrong_structure_is_recomputed(tmp_path, payload):
    store = RunStore(tmp_path)
    write_checked(store.values_path("run", "m", "1"), payload)  # the sidecar matches
    with pytest.warns(UserWarning, match="not a valid values file"):
        assert store.load_values("run", "m", "1") is None
    with warnings.catch_warnings(record=True):
        assert not store.has_values("run", "m", "1")


@pytest.mark.parametrize("payload", [
    {"variant": 1},
    "just a string",
    [1, 2, 3],
])
def test_run_file_of_the_wrong_structure_is_recomputed(tmp_path, smoke_result, payload):
    store = RunStore(tmp_path)
    buf = io.BytesIO()
    torch.save(payload, buf)
    write_checked(store.run_path(smoke_result.variant.run_id), buf.getvalue())
    with pytest.warns(UserWarning, match="not a valid run file"):
        assert store.load_run(smoke_result.variant, get_task("modadd-mlp")) is None


def test_run_file_of_another_run_is_recomputed(tmp_path, smoke_result):
    """A valid run file copied over another run's name is that run's data, not this one's."""
    store = RunStore(tmp_path)
    store.save_run(smoke_result)
    other = get_task("modadd-mlp").variant({"steps": 300}, seed=7)
    path = store.run_path(smoke_result.variant.run_id)
    write_checked(store.run_path(other.run_id), path.read_bytes())
    with pytest.warns(UserWarning, match="holds another run"):
        assert store.load_run(other, get_task("modadd-mlp")) is None


@pytest.mark.parametrize("run_id, measure, version", [
    ("../x", "m", "1"), ("run", "../m", "1"), ("run", "m", "../../x"), ("run", "m", "a/b"), ("../../escaped", "m", "1"),
])
def test_store_paths_never_leave_the_store(tmp_path, run_id, measure, version):
    store = RunStore(tmp_path / "store")
    with pytest.raises(UserError, match="cannot be used in a file name"):
        store.save_values(run_id, measure, version, [])
    assert list(tmp_path.rglob("*.json")) == []
