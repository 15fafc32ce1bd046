"""Model files written safely: chunks to a temporary name, renamed into place once their sha256 matches."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.core.errors import ModelError

COPY_CHUNK_BYTES = 1 << 22
"""Bytes read and written at a time while joining or extracting model files."""


def write_verified(
    name: str, target: Path, chunks: Iterable[bytes], expected: str | None, *, made: str, fix: str
) -> None:
    """Write ``chunks`` to ``target`` via a temporary name, renamed into place if its sha256 matches.

    Concurrent runs and interrupted writes therefore never leave a half-written file at
    ``target``; ``expected=None`` skips the check. ``name`` (the model), ``made`` (how
    the file was made) and ``fix`` (what to do) go into the error.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        if expected is not None and digest.hexdigest() != expected:
            raise ModelError(
                f"model {name!r}: {target.name} {made} fails its checksum "
                f"(sha256 {digest.hexdigest()[:12]}…, expected {expected[:12]}…); {fix}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def file_chunks(paths: Iterable[Path]) -> Iterator[bytes]:
    """The bytes of ``paths``, one after another, ``COPY_CHUNK_BYTES`` at a time."""
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(COPY_CHUNK_BYTES):
                yield chunk


def all_present(folder: Path, filenames: Iterable[str]) -> bool:
    """True when ``filenames`` is not empty and each is a file in ``folder``."""
    names = list(filenames)
    return bool(names) and all((folder / n).is_file() for n in names)
