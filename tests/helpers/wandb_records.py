"""The records of an offline W&B run file (``run-*.wandb``), parsed with W&B's own protobuf.

The file is W&B's datastore: a 7-byte header (``:W&B``, magic, version), then
LevelDB-log records in 32 KiB blocks, each a 7-byte header (CRC32C, length,
type: 1 full, 2 first, 3 middle, 4 last) and a serialised ``Record``. wandb
0.31 ships no reader for it in Python, hence these lines (test-only).
"""

from __future__ import annotations

import time
from pathlib import Path

BLOCK = 32 * 1024
HEADER = 7


def raw_records(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == 1:
            out.append(chunk)
        elif kind in (2, 3):
            pending += chunk
        elif kind == 4:
            out.append(pending + chunk)
            pending = b""
    return out


def parse(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2 as pb

    parsed = []
    for raw in raw_records(path):
        r = pb.Record()
        r.ParseFromString(raw)
        kind = r.WhichOneof("record_type")
        parsed.append((kind, getattr(r, kind) if kind else None))
    return parsed


def records(path: Path, timeout: float = 30.0) -> list:
    """(kind, message) of every record: kind is the Record's oneof ("history", "alert", "metric", ...).

    W&B's service process writes the file after ``run.finish()`` returns; this waits
    (up to ``timeout`` seconds) for the run's last record, ``exit``."""
    deadline = time.monotonic() + timeout
    while True:
        parsed = parse(path)
        if any(kind == "exit" for kind, _ in parsed) or time.monotonic() > deadline:
            return parsed
        time.sleep(0.1)
