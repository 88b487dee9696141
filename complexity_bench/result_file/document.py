"""The result file as a document: its format name and version, its schema, its seal (sha256)."""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from complexity_bench.errors import UserError

FORMAT = "complexity_bench/measure-result"
FORMAT_VERSION = 1


@lru_cache(maxsize=None)
def schema() -> dict[str, Any]:
    """The JSON Schema of this format version, shipped in the package."""
    return json.loads(resources.files(__package__).joinpath(f"schema_v{FORMAT_VERSION}.json").read_text())


def canonical(doc: dict[str, Any]) -> bytes:
    """Every field but ``sha256``, as JSON with sorted keys and no spaces (what the seal covers)."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def digest(doc: dict[str, Any]) -> str:
    """The seal's value: sha256 of :func:`canonical`."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def seal(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with ``sha256`` set to the digest of its other fields.

    The seal catches a file edited after export (a value changed by hand, a run
    dropped); it is not a signature: whoever edits a file can re-seal it, which is
    why ``merge`` also checks runs, events and versions against the reference."""
    return {**doc, "sha256": digest(doc)}


def json_number(x: Any) -> float | None:
    """A float for JSON: NaN and infinities (no JSON number) become null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def read_document(path: str | Path) -> dict[str, Any]:
    """The JSON object in ``path`` (one line UserError when it cannot be read as one)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes())
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})") from exc
    except (ValueError, RecursionError) as exc:
        raise UserError(f"{path}: not JSON ({str(exc).splitlines()[0][:200]})") from exc
    if not isinstance(doc, dict):
        raise UserError(f"{path}: holds a JSON {type(doc).__name__}, not an object")
    return doc
