import warnings

import pytest
import torch

from complexity_bench import UserError
from complexity_bench.store import RunStore, lock_output, read_checked, write_checked
from complexity_bench.task import get_task
from complexity_bench.training import train_run


@pytest.fixture(scope="module")
def smoke_result():
    task = get_task("modadd-mlp")
    return train_run(task, task.variants("smoke")[0])


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
