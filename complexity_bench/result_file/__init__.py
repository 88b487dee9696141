"""Result files that travel: one measure's evaluation on a suite as one versioned JSON file.

``export_measure`` writes it from a results folder, ``validate_file`` checks it
against the JSON Schema shipped here (``schema_v1.json``) and its own
consistency, ``merge_files`` scores several of them together with a reference
results folder. The format: docs/integrations.md, "Result files".
"""

from complexity_bench.result_file.export import export_measure
from complexity_bench.result_file.merge import merge_files
from complexity_bench.result_file.validate import validate_file

__all__ = ["export_measure", "merge_files", "validate_file"]
