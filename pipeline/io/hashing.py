"""Content hashes: cache keys, ledger keys and model checksums."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.io.files import require_regular_file


def file_sha256(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (constant memory).

    Raises
    ------
    AudioError
        ``path`` is not a regular file (a FIFO would block the read forever).
    """
    require_regular_file(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def data_sha256(data: Any) -> str:
    """Hex sha256 of JSON-ready data, independent of key order."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
