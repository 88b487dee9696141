"""docs/architecture.md names every module of the folders whose row lists its modules
(contracts/, engine/'s entry points, pipeline/): a module added there gets a line."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
# engine/cohort_*.py, stacked_mlp.py and fused_adamw.py are cohort.py's parts, named in its docstring
COHORT_PARTS = {"cohort_data.py", "cohort_gradients.py", "cohort_model.py", "cohort_optimizer.py", "fused_adamw.py"}
MODULES = sorted(p.relative_to(ROOT / "complexity_bench").as_posix()
                 for folder in ("contracts", "engine", "pipeline")
                 for p in (ROOT / "complexity_bench" / folder).glob("*.py")
                 if p.name != "__init__.py" and p.name not in COHORT_PARTS)


@pytest.mark.parametrize("module", MODULES)
def test_architecture_names_the_module(module):
    assert f"`{Path(module).name}`" in DOC, f"docs/architecture.md does not name {module}"


def test_cohort_names_its_parts():
    doc = (ROOT / "complexity_bench" / "engine" / "cohort.py").read_text()
    assert all(f"``{Path(p).stem}``" in doc for p in COHORT_PARTS), COHORT_PARTS
