"""Atomic file writes: write a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pipeline.core.errors import OutputError

STALE_AFTER = 600.0
"""A temporary file this old (seconds) belongs to a killed writer: a live one finishes in well under that."""


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` only if the block succeeds.

    The temporary file lives in the same folder (same filesystem), is flushed and
    fsynced, then renamed over ``path``; on any error it is removed and ``path``
    is left as it was.

    Raises
    ------
    OutputError
        The disk is full or the folder is not writable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    # The name is chosen before the file exists and the file is created inside the
    # ``try``: a signal (Ctrl-C, SIGTERM) arriving at any point leaves no temporary behind.
    tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp"))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8", newline=None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        reason = "disk full" if err.errno == errno.ENOSPC else err.strerror or str(err)
        raise OutputError(f"{path}: cannot write ({reason}); free space or choose another --output") from None
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return path


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporaries of ``path`` that a killed process left (older than ``STALE_AFTER``)."""
    now = time.time()
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_AFTER:
                stale.unlink()


def _remove(tmp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
