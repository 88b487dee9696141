"""Tracker on hand-written models: the suite evaluator's values, and a training run left untouched."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench import Data, RunLabel, Schedule, Tracker, UserError, compute
from complexity_bench.pipeline.evaluate import evaluate_run
from complexity_bench.contracts.events import Events
from complexity_bench.contracts.measure import COST_TIERS, MEASURES, Measure, MeasureInfo
from complexity_bench.measures.lmn import linear_mapping_number
from complexity_bench.contracts.models import StagedModel
from complexity_bench.contracts.task import Task, TaskData
from complexity_bench.engine.training import METRIC_COLUMNS, RunResult

P = 7


def modadd_data(seed: int = 0) -> TaskData:
    a, b = torch.meshgrid(torch.arange(P), torch.arange(P), indexing="ij")
    x = torch.stack([a.flatten(), b.flatten()], 1)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return TaskData(x, (x[:, 0] + x[:, 1]) % P, perm[:34], perm[34:], perm[:24])


class UserNet(nn.Module):
    """A user's class (not a StagedModel): embedding, flatten, SiLU MLP; forward chains the children."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(P, 4)
        self.flatten = nn.Flatten()
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.SiLU(), nn.Linear(16, 16), nn.SiLU(), nn.Linear(16, P))

    def forward(self, x):
        return self.mlp(self.flatten(self.embed(x)))


class HandTask(Task):
    """The same network as a suite task (never registered), for evaluate_run."""

    name = "hand-modadd"
    properties = frozenset({"classification", "cyclic_group"})
    defaults = {"steps": 30}

    def make_data(self, params, seed):
        return modadd_data(seed)

    def make_model(self, params, seed):
        net = UserNet()  # weights are loaded from the checkpoints
        return StagedModel([net.embed, net.flatten, *net.mlp], input_stage=2)


def _metrics(task, model, data):
    model.eval()
    with torch.no_grad():
        out = {}
        for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
            logits = model(x)
            out[f"{split}_loss"] = float(task.loss(logits, y))
            out[f"{split}_acc"] = float(task.correct(logits, y).float().mean())
    model.train()
    return out


def test_tracker_values_equal_the_suite_evaluator_on_the_same_weights():
    task, seed = HandTask(), 3
    data = modadd_data(seed)
    torch.manual_seed(seed)
    net = UserNet()
    names = [m.name for m in MEASURES if "default" in COST_TIERS[m.info.cost]["suites"]]
    tracker = Tracker("all", Data(probe=data.probe_x, train=(data.x_train, data.y_train), properties={"cyclic_group"}),
                      run=RunLabel(seed=seed))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    staged_keys = list(task.make_model({}, seed).state_dict())
    metrics, checkpoints = {"step": [], **{c: [] for c in METRIC_COLUMNS}}, {}
    for step in range(31):
        if step in (0, 1, 5, 12, 30):
            row = _metrics(task, net, data)
            metrics["step"].append(step)
            for c in METRIC_COLUMNS:
                metrics[c].append(row[c])
            # the same tensors under the StagedModel's names (both list parameters in module order)
            checkpoints[step] = dict(zip(staged_keys, (v.clone() for v in net.state_dict().values())))
            tracker.log(step, net, **row)
        opt.zero_grad()
        F.cross_entropy(net(data.x_train), data.y_train).backward()
        opt.step()
    result = RunResult(task.variant({}, seed), metrics, checkpoints, 0.0, events=Events(None, None, 30))
    suite = evaluate_run(task, result, [MEASURES.get(n) for n in names])

    mine = {(r.step, r.measure): r for r in tracker.traces.itertuples()}
    compared = 0
    not_computed = set()
    for name, rows in suite.items():
        if not rows:  # the suite found it not applicable to this task: so does the Tracker
            assert name in tracker.skipped, name
            not_computed.add(name)
            continue
        if all(r["error"] for r in rows):  # the suite could not compute it here: the Tracker skips it
            assert name in tracker.skipped and rows[0]["error"] in tracker.skipped[name], name
            not_computed.add(name)
            continue
        for r in rows:
            got = mine[(r["step"], r["measure"])]
            assert got.error == r["error"], r
            if name == "random":  # keyed by the run's identity: the Tracker's run is "own", the suite's HandTask
                assert 0.0 <= got.value < 1.0 and got.value != r["value"], r
            else:
                assert got.value == r["value"] or (math.isnan(got.value) and math.isnan(r["value"])), r
            compared += 1
    assert set(tracker.skipped) == not_computed
    assert "path-norm" in not_computed  # nn.Embedding is not a chain of linear maps
    assert compared >= 5 * (len(names) - len(not_computed))  # every measure at every checkpoint
    assert len(tracker.traces) == compared
    # and against the definition: the L2 norm of the user's weights at the last log
    l2 = math.sqrt(sum(float(p.detach().double().square().sum()) for p in UserNet.parameters(copy_net(net, checkpoints[30]))))
    assert tracker.traces.query("measure == 'l2' and step == 30")["value"].item() == pytest.approx(l2, rel=1e-12)


def copy_net(net: UserNet, staged_state: dict) -> UserNet:
    twin = copy.deepcopy(net)
    twin.load_state_dict(dict(zip(twin.state_dict(), staged_state.values())))
    return twin


class Meddler(Measure):
    """Does everything a measure must not: global RNG draws, backward, flag flips, train mode."""

    info = MeasureInfo(name="meddler", version="1", direction=1, needs=("gradients",))  # it runs backward

    def compute(self, model, ctx):
        torch.rand(3)
        np.random.rand()
        random.random()
        model.train()
        sum(p.square().sum() for p in model.parameters()).backward()
        for p in model.parameters():
            p.requires_grad_(False)
        return 1.0


def _state(model):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            [p.requires_grad for p in model.parameters()], [m.training for m in model.modules()],
            torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def _same(a, b):
    (sa, ga, ra, ta, tr_a, np_a, py_a), (sb, gb, rb, tb, tr_b, np_b, py_b) = a, b
    return (sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
            and all((x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
                    for x, y in zip(ga, gb))
            and ra == rb and ta == tb and torch.equal(tr_a, tr_b) and (np_a == np_b).all() and py_a == py_b)


def _train(tracker: Tracker | None, steps: int = 40) -> tuple[nn.Module, list[bool]]:
    """A loop that reads every global RNG (dropout, minibatches, lr jitter) and keeps grads between steps."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    data = modadd_data()
    model = nn.Sequential(nn.Embedding(P, 4), nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(16, P))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    untouched = []
    for step in range(steps + 1):
        if tracker is not None and tracker.due(step):
            before = _state(model)
            tracker.log(step, model)
            untouched.append(_same(before, _state(model)))
        idx = torch.randperm(len(data.train_idx))[:16]
        for g in opt.param_groups:
            g["lr"] = 0.1 * (1 + 0.1 * np.random.rand() + 0.1 * random.random())
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
        opt.step()
    return model, untouched


def test_logging_leaves_model_and_training_trajectory_bit_for_bit_unchanged():
    data = modadd_data()
    plain, _ = _train(None)
    tracker = Tracker(measures=[Meddler(), *(MEASURES.get(n) for n in ("l2", "lmn", "hessian-trace", "random",
                                                                         "effective-rank", "compression"))],
                      data=Data(probe=data.probe_x, train=(data.x_train, data.y_train)), schedule=Schedule(every=10))
    tracked, untouched = _train(tracker)
    assert untouched and all(untouched)  # weights, grads, requires_grad, train/eval flags, three RNGs
    assert not tracker.skipped and tracker.traces["error"].eq("").all()
    a, b = plain.state_dict(), tracked.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(plain.parameters(), tracked.parameters()))


def test_compute_one_measure_without_a_task():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0]]))
        lin.bias.fill_(4.0)
    assert compute("l2", lin) == 5.0
    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(UserError, match="affine"):  # LMN of an affine map is 1 whatever the weights: refused
        compute("lmn", nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2)), probe=x)
    init = {k: torch.zeros_like(v) for k, v in lin.state_dict().items()}
    assert compute("l2-dist-init", lin, init_state=init) == 5.0  # the user's own state_dict names
    import complexity_bench.measures as measures

    assert measures.get("lmn") is MEASURES.get("lmn")


class Unchained(nn.Module):
    """forward does more than chain its children (a reshape in between): no stages to find."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(P, 4)
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, P))

    def forward(self, x):
        return self.mlp(self.embed(x).reshape(len(x), -1))


def test_a_cut_is_required_where_no_stages_can_be_found_and_honoured_when_given():
    torch.manual_seed(0)
    model, x = Unchained(), modadd_data().probe_x
    with pytest.raises(UserError, match="lmn_cut"):
        Tracker("lmn", Data(probe=x)).log(0, model)
    t = Tracker("all", Data(probe=x))  # not named: skipped with the reason
    t.log(0, model)
    assert "lmn_cut" in t.skipped["lmn"]
    # LMN of the module after the cut on the cut's samples (its input), by definition
    expected = linear_mapping_number(model.mlp, model.embed(x).reshape(len(x), -1).detach())
    assert compute("lmn", model, probe=x, lmn_cut=model.mlp) == pytest.approx(expected, rel=1e-12)
    # the view's parameters are the model's, each once
    l2 = math.sqrt(sum(float(p.detach().double().square().sum()) for p in model.parameters()))
    assert compute("l2", model, probe=x, lmn_cut=model.mlp) == pytest.approx(l2, rel=1e-12)
    with pytest.raises(UserError, match="does not give the model's output"):
        compute("lmn", model, probe=x, lmn_cut=(model.embed, model.mlp[2]))


def test_measures_without_their_data_are_skipped_or_refused():
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    x = torch.randn(12, 3, generator=torch.Generator().manual_seed(0))
    t = Tracker("hessian-trace,compression,l2,lmn", Data(probe=None))
    with pytest.raises(UserError, match=r"hessian-trace.*pass Data\(train=\(x, y\)\)"):
        t.log(0, model)
    t = Tracker("all", Data(probe=x))
    t.log(0, model, train_acc=0.5)
    assert "Data(train=(x, y))" in t.skipped["hessian-trace"]
    assert "test_loss" in t.skipped["oracle-test-loss"]
    assert "fourier-sparsity" in t.skipped and "l2" not in t.skipped


def test_due_follows_the_suite_schedule_or_an_open_ended_one():
    assert {s for s in range(3001) if Tracker(schedule=Schedule(steps=3000)).due(s)} == set(Task().checkpoint_steps(3000))
    due = [s for s in range(1000) if Tracker(schedule=Schedule(every=100)).due(s)]
    assert due[:4] == [0, 1, 2, 3] and due[-3:] == [700, 800, 900]
    assert [s for s in due if 10 < s < 100] == [13, 16, 20, 25, 32, 40, 50, 63, 79]


def test_log_steps_must_increase():
    t = Tracker(measures="l2")
    t.log(5, nn.Linear(1, 1))
    with pytest.raises(UserError, match="must increase"):
        t.log(5, nn.Linear(1, 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_model_gives_the_cpu_values():
    torch.manual_seed(0)
    data = modadd_data()
    net = UserNet()
    kw = dict(measures="l2,lmn,effective-rank", data=Data(probe=data.probe_x, train=(data.x_train, data.y_train)))
    cpu, gpu = Tracker(**kw), Tracker(**kw)
    cpu.log(0, net)
    gpu.log(0, copy.deepcopy(net).cuda())
    assert np.allclose(cpu.traces["value"], gpu.traces["value"], rtol=1e-4)
