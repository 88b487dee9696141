"""Measures and the Tracker on the model's device (docs/tracker.md).

A measure computed on a model whose parameters are on device D must make every
tensor it uses on D (or move it there) and return Python floats. Three checks:

- a static guard (any machine): every tensor factory call (``torch.zeros``,
  ``torch.linspace``, ``torch.randn``, ``torch.Generator`` ...) in measures/,
  complexity_bench/tracker/ and the measure contract passes ``device=``, is moved
  at once (``torch.linspace(...).to(x.device)``), or carries a ``# cpu:`` comment
  (on its line or the line above) saying why the CPU is right there; a draw from a
  generator on ``device=`` takes the generator's own device; ``.numpy()`` follows
  ``.cpu()``;
- a dynamic version of it (any machine): every measure, the Tracker and
  ``compute`` run on small CPU models while a TorchFunctionMode records each
  factory and ``.numpy()`` call made from the package without ``device=``; each
  such call site must pass the static guard. This finds sites in any file a
  measure reaches, not only the guarded ones;
- on a machine with CUDA: every measure, the Tracker and ``compute`` on CUDA
  models give the CPU values (as Python floats). Skipped without CUDA; its CPU
  twin runs everywhere, so the test code itself is exercised.
"""

from __future__ import annotations

import ast
import contextlib
import math
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors

from complexity_bench import Data, Tracker, compute
from complexity_bench.contracts.measure import MEASURES, MeasureContext, compute_measure
from complexity_bench.contracts.models import PairEmbedding, StagedModel, mlp_stages
from complexity_bench.tasks._transformer_stages import AttentionAtLast, OperandsThenEquals, ResidualMLP, unembedding
from complexity_bench.testing import ToyModularAddition

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = (ROOT / "complexity_bench", ROOT / "measures")
GUARDED = sorted([*(ROOT / "measures").glob("*.py"), *(ROOT / "complexity_bench" / "tracker").glob("*.py"),
                  ROOT / "complexity_bench" / "contracts" / "measure.py",
                  ROOT / "complexity_bench" / "contracts" / "models.py"])

FACTORIES = {"zeros", "ones", "empty", "full", "arange", "range", "linspace", "logspace", "eye", "randn", "rand",
             "randint", "randperm", "tensor", "as_tensor", "asarray", "scalar_tensor", "from_numpy",
             "triu_indices", "tril_indices", "Generator"}
DTYPES = {"float16", "half", "bfloat16", "float32", "float", "float64", "double", "complex64", "complex128",
          "uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "bool"}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


# -- the static guard ---------------------------------------------------------------

def _is_dtype(arg: ast.expr) -> bool:
    if isinstance(arg, ast.Attribute):
        return arg.attr == "dtype" or (isinstance(arg.value, ast.Name) and arg.value.id == "torch" and arg.attr in DTYPES)
    return isinstance(arg, ast.Name) and "dtype" in arg.id


def _moved(call: ast.Call) -> bool:
    """Whether ``call`` is the receiver of a ``.to(...)`` that names a device (not only a dtype)."""
    attr = getattr(call, "parent", None)
    if not (isinstance(attr, ast.Attribute) and attr.attr == "to"):
        return False
    to = getattr(attr, "parent", None)
    if not (isinstance(to, ast.Call) and to.func is attr):
        return False
    return any(k.arg == "device" for k in to.keywords) or any(not _is_dtype(a) for a in to.args)


def _cpu_comment(lines: list[str], node: ast.AST) -> bool:
    first = max(node.lineno - 2, 0)  # the line above, then every line of the call
    return any("# cpu:" in line for line in lines[first:node.end_lineno])


def _factory(node: ast.AST) -> str | None:
    f = getattr(node, "func", None)
    if isinstance(node, ast.Call) and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
            and f.value.id == "torch" and f.attr in FACTORIES:
        return f.attr
    return None


def _numpy(node: ast.AST) -> bool:
    f = getattr(node, "func", None)
    return isinstance(node, ast.Call) and isinstance(f, ast.Attribute) and f.attr == "numpy" and not node.args


def _problem(node: ast.Call, lines: list[str]) -> str | None:
    """Why ``node`` (a factory or ``.numpy()`` call) may put a tensor on the wrong device, or None."""
    if _numpy(node):
        receiver = node.func.value
        on_host = isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) \
            and receiver.func.attr == "cpu"
        return None if on_host or _cpu_comment(lines, node) else ".numpy() not right after .cpu()"
    kw = {k.arg: k.value for k in node.keywords}
    if "device" in kw:
        if "generator" in kw and ast.unparse(kw["device"]) != ast.unparse(kw["generator"]) + ".device":
            return "draws from a generator on another device than the generator's own"
        return None
    if _moved(node) or _cpu_comment(lines, node):
        return None
    return f"torch.{_factory(node)}(...) without device=, not moved by .to(device), no '# cpu:' comment"


@lru_cache(maxsize=None)
def _sites(path: Path) -> list[tuple[ast.Call, str | None]]:
    """Every factory / ``.numpy()`` call of a file, with its problem (None when it has none)."""
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child.parent = parent
    calls = sorted((n for n in ast.walk(tree) if _factory(n) or _numpy(n)), key=lambda n: (n.lineno, n.col_offset))
    return [(n, _problem(n, lines)) for n in calls]


def _short(path: Path) -> str:
    return str(path.relative_to(ROOT)) if ROOT in path.parents else path.name


def static_problems(paths) -> list[str]:
    return [f"{_short(p)}:{n.lineno}: {why}" for p in paths for n, why in _sites(p) if why]


def test_static_guard_finds_no_tensor_off_the_models_device():
    assert GUARDED and all(p.exists() for p in GUARDED)
    assert static_problems(GUARDED) == []


def test_static_guard_catches_what_it_is_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import torch\n"
        "a = torch.zeros(3)\n"                                         # no device
        "b = (torch.randint(0, 2, (3,), generator=g) * 2 - 1).to(p.dtype)\n"  # a dtype is not a device
        "c = torch.randn(3, generator=g, device=x.device)\n"           # a CPU generator cannot draw on CUDA
        "d = t.numpy()\n"                                              # CUDA tensors have no numpy view
        "e = torch.Generator()\n"
        "ok1 = torch.zeros(3, device=x.device)\n"
        "ok2 = torch.linspace(0, 1, 5).to(x.device)\n"
        "ok3 = torch.randn(3, generator=g, device=g.device).to(device=x.device, dtype=x.dtype)\n"
        "ok4 = t.cpu().numpy()\n"
        "# cpu: host-side bookkeeping\n"
        "ok5 = torch.arange(4)\n"
        "ok6 = torch.tensor([1.0])  # cpu: a float leaves\n"
    )
    assert [s.split(":")[1] for s in static_problems([bad])] == ["2", "3", "4", "5", "6"]


# -- small models, every measure, the Tracker and compute ---------------------------

TASK = ToyModularAddition()
P = TASK.p


def _models() -> dict[str, StagedModel]:
    torch.manual_seed(0)
    return {
        "relu": StagedModel([PairEmbedding(P, 4), *mlp_stages([8, 16, 16, P], "relu")], input_stage=1),
        "silu": StagedModel([PairEmbedding(P, 4), *mlp_stages([8, 16, 16, P], "silu")], input_stage=1),
        # a bias-free last layer (as sparse parity's) in the region walk's general (two-layer) path
        "no-bias": StagedModel([PairEmbedding(P, 4), *mlp_stages([8, 16, 16, P], "relu", bias_last=False)],
                               input_stage=1),
        "transformer": StagedModel([OperandsThenEquals(P, 8), AttentionAtLast(8, 2), ResidualMLP(8, 16),
                                    unembedding(8, P)], input_stage=2, hidden_stage=3),
    }


def _checkpoint(model: nn.Module) -> tuple[nn.Module, dict]:
    """``model`` moved away from its initial weights (returned as init_state)."""
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model.eval(), init


def _context(model: nn.Module, init: dict, device: str) -> MeasureContext:
    params = TASK.resolve({})
    data = TASK.make_data(params, 0).to(device)
    with torch.no_grad():
        metrics = {f"{split}_{k}": float(v) for split, x, y in (("train", data.x_train, data.y_train),
                                                               ("test", data.x_test, data.y_test))
                   for k, v in (("loss", TASK.loss(model(x), y)), ("acc", TASK.correct(model(x), y).float().mean()))}
    return MeasureContext.for_run(TASK, params, 0, data, 7, {k: v.to(device) for k, v in init.items()}, metrics)


def _outcome(fn):
    """fn()'s value, or the type of what it raised (compared across devices)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a measure's own refusal is compared, not hidden
        return type(exc)


PROPS = {"cyclic_group", "piecewise_linear"}  # of the Tracker's net: Z_p tokens, a ReLU MLP


def _tracker_net() -> nn.Sequential:
    torch.manual_seed(3)
    return nn.Sequential(nn.Embedding(P, 4), nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, P, bias=False))


def run_everything(device: str, watch=contextlib.nullcontext) -> dict:
    """Every registered measure on every small model, a Tracker log and compute() calls, on ``device``.

    The user's data and initial weights stay on the CPU (the Tracker and compute move them). Only
    the measures', the Tracker's and compute's own work runs inside ``watch()``."""
    out: dict = {}
    for label, model in _models().items():
        model, init = _checkpoint(model)
        model = model.to(device)
        ctx = _context(model, init, device)
        for m in list(MEASURES):
            if m.applicable(TASK, model):
                with watch():
                    out[label, m.name] = _outcome(lambda: compute_measure(m, model, ctx))
    data = TASK.make_data(TASK.resolve({}), 0)
    net, init = _checkpoint(_tracker_net())
    net = net.to(device)
    probe, train, test = data.probe_x, (data.x_train, data.y_train), (data.x_test, data.y_test)
    with watch():
        tracker = Tracker("all", Data(probe=probe, train=train, test=test, init_state=init, properties=PROPS))
        tracker.log(0, net)
    out["tracker", "skipped"] = sorted(tracker.skipped)
    for r in tracker.traces.itertuples():
        out["tracker", r.measure] = r.error if r.error else float(r.value)
    for name in ("llc", "l2-dist-init", "spectral-dist-init", "compression"):
        with watch():
            out["compute", name] = _outcome(lambda: compute(name, net, probe=probe, train=train, init_state=init,
                                                            properties=PROPS))
    return out


class SiteRecorder(TorchFunctionMode):
    """Records (file, line) of each tensor factory call without ``device=`` and each ``.numpy()``
    made directly from the package's own code."""

    def __init__(self):
        super().__init__()
        self.sites: set[tuple[str, int]] = set()
        self._constructors = _device_constructors()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (func in self._constructors and kwargs.get("device") is None) or func is torch.Tensor.numpy:
            caller = sys._getframe(1)
            path = Path(caller.f_code.co_filename)
            if any(d in path.parents for d in PACKAGE_DIRS):
                self.sites.add((str(path), caller.f_lineno))
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def on_cpu():
    recorder = SiteRecorder()
    values = run_everything("cpu", watch=lambda: recorder)
    return values, recorder.sites


def _floats(value) -> bool:
    if isinstance(value, dict):
        return all(type(v) is float for v in value.values())
    return type(value) is float


def test_every_measure_runs_on_some_model_and_returns_floats(on_cpu):
    values, _ = on_cpu
    measured = {name for (label, name), v in values.items() if label not in ("tracker", "compute") and _floats(v)}
    assert measured == set(MEASURES.names())
    not_floats = {k: v for k, v in values.items() if k[0] != "tracker" and not isinstance(v, type) and not _floats(v)}
    assert not_floats == {}
    assert values["tracker", "skipped"] == ["path-norm"]  # an nn.Embedding is not a PairEmbedding's chain
    logged = [k for k in values if k[0] == "tracker" and k[1] != "skipped"]
    assert len(logged) >= 20 and all(isinstance(values[k], float) for k in logged), values
    assert all(_floats(values["compute", n]) for n in ("llc", "l2-dist-init", "spectral-dist-init", "compression"))


def test_factory_calls_the_measures_reach_pass_the_guard(on_cpu):
    _, sites = on_cpu
    assert sites  # the recorder saw the measures' own calls
    problems = []
    for file, line in sorted(sites):
        path = Path(file)
        nodes = [(n, why) for n, why in _sites(path) if n.lineno <= line <= n.end_lineno]
        where = f"{_short(path)}:{line}"
        if not nodes:
            problems.append(f"{where}: a factory call the guard does not recognise (call torch.<factory> by name)")
        problems += [f"{where}: {why}" for n, why in nodes if why]
    assert problems == []


def _same(cpu, dev, key) -> bool:
    if isinstance(cpu, type) or isinstance(cpu, (str, list)):
        return cpu == dev
    if isinstance(cpu, dict):
        return isinstance(dev, dict) and cpu.keys() == dev.keys() and all(_same(cpu[k], dev[k], key) for k in cpu)
    if not isinstance(dev, float):
        return False
    # SGLD and Hutchinson sums amplify float32 rounding differences between devices
    rel, abs_ = (1e-3, 1e-3) if key[1] in ("llc", "hessian-trace") else (1e-4, 1e-7)
    return math.isclose(cpu, dev, rel_tol=rel, abs_tol=abs_) or (math.isnan(cpu) and math.isnan(dev))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_measures_tracker_and_compute_give_the_cpu_values_on_the_device(on_cpu, device):
    cpu, _ = on_cpu
    dev = run_everything(device)
    assert dev.keys() == cpu.keys()
    different = {k: (cpu[k], dev[k]) for k in cpu if not _same(cpu[k], dev[k], k)}
    assert different == {}
