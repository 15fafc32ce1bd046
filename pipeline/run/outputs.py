"""The one place a recording's outputs are written: ``OUT/<recording-name>/``, one file per format.

``speechpipe run`` and the batch's recorder (in the driver process, whatever the
executor) both write through ``write_outputs``. A recording's files appear all
together or not at all: they are written into a hidden staging folder beside the
final one, which then takes the final folder's place, so a reader never sees a
half-written set or the files of two runs mixed. A staging folder left by a
killed run says what it is in its name (``.NAME.partial-*``) and is removed by
the next write of the same recording.

Output folder names come from ``assign_output_names``, the same rule for ``run``
and ``batch``: unique within the output folder, never one of its own files.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Iterable
from pathlib import Path

from pipeline.core.errors import OutputError
from pipeline.core.types import RecordingResult
from pipeline.report import get_writer

logger = logging.getLogger(__name__)

RESERVED_NAMES = frozenset(
    {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "ledger.sqlite-journal", "ledger.lock"}
)
"""Files of the output folder itself (the batch ledger and its lock): never a recording's folder."""

_NAME_BYTES = 100  # UTF-8 bytes of a folder name; room for the staging prefix in a 255-byte file name


def write_outputs(result: RecordingResult, out_dir: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write every format in ``formats`` (``output.formats``) into ``out_dir``, all at once.

    Returns the final paths written. When any file fails, ``out_dir`` is left as it
    was (the previous run's complete set, or nothing).

    Raises
    ------
    ConfigError
        A format has no writer.
    OutputError
        A file cannot be written (disk full, permissions, name too long).
    """
    writers = [get_writer(name) for name in formats]
    began = time.perf_counter()
    _remove_leftovers(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        _make_folder(staging)
        paths = [writer(result, staging) for writer in writers]
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("wrote %s in %.2f s", out_dir, time.perf_counter() - began)
    return [out_dir / path.relative_to(staging) for path in paths]


def check_output_folder(folder: Path, *, what: str = "--output") -> None:
    """Make sure ``folder`` can take new files, before any analysis (nothing is created).

    Checks ``folder`` or, when it does not exist yet, the nearest folder above it
    that does (where it will be created): a folder, writable, with space and inodes
    left (a probe file is written there and removed at once).

    Raises
    ------
    OutputError
        It is a file, is read-only, or the disk has no space or inodes left.
    """
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise OutputError(f"{folder}: {what} runs into a file ({existing}), not a folder; choose a folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".speechpipe-probe-") as probe:
            probe.write(b"x")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as err:
        raise OutputError(f"{folder}: cannot write there ({_reason(err)}); choose another {what}") from None


def assign_output_names(uris: Iterable[str], taken: dict[str, str], out_root: Path) -> list[str]:
    """An output folder name per recording: unique, stable, never one of the output folder's own files.

    Each recording gets ``safe_output_name`` of its file name; when another recording
    owns that name (``taken``, updated in place: name -> URI, or an earlier URI of this
    call), or the name is reserved, or something other than a folder sits at
    ``out_root/name``, it gets ``name-<8 hex of its URI's sha256>`` instead. The first
    claimant keeps the plain name, so the same inputs give the same names on every run.
    """
    names = []
    for uri in uris:
        name = safe_output_name(Path(uri.rsplit("/", 1)[-1]))
        if _unavailable(name, uri, taken, out_root):
            name = f"{name}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"
        taken[name] = uri
        names.append(name)
    return names


def safe_output_name(path: Path) -> str:
    """A folder name from a recording's file name that cannot leave the output folder.

    Normalises Unicode (NFKC), keeps letters, digits, ``-``, ``_`` and ``.``, never
    starts with a dot (no ``..``, no hidden folders) and is at most 100 bytes of UTF-8.
    """
    stem = unicodedata.normalize("NFKC", Path(path).name)
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    cleaned = re.sub(r"[^\w.-]+", "_", stem).lstrip("._")
    cut = cleaned.encode("utf-8")[:_NAME_BYTES].decode("utf-8", errors="ignore")
    return cut or "recording"


def usable_output_name(name: str, out_root: Path) -> bool:
    """True when ``out_root/name`` can be a recording's folder: not reserved, short enough,
    and nothing but a folder there (an older run's name may fail this: it is then renamed)."""
    if name in RESERVED_NAMES or len(name.encode("utf-8")) > _NAME_BYTES + 9:
        return False
    path = out_root / name
    return not path.exists() or path.is_dir()


def _unavailable(name: str, uri: str, taken: dict[str, str], out_root: Path) -> bool:
    return taken.get(name, uri) != uri or not usable_output_name(name, out_root)


def _swap_into_place(staging: Path, final: Path) -> None:
    """Put the complete ``staging`` folder at ``final``; an older ``final`` is removed after."""
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        if final.is_dir():
            os.rename(final, old)
        os.rename(staging, final)
    except OSError as err:
        if old.is_dir() and not final.exists():
            os.rename(old, final)  # put the previous complete set back
        raise OutputError(f"{final}: cannot write ({_reason(err)}); choose another --output") from None
    if old.is_dir():
        _remove_old_folder(old)


def _remove_leftovers(out_dir: Path) -> None:
    """Remove staging and old folders of ``out_dir`` left by a killed run."""
    with contextlib.suppress(OSError):
        for path in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.*"):
            if re.fullmatch(rf"\.{re.escape(out_dir.name)}\.(partial|old)-[0-9a-f]{{8}}", path.name):
                _remove_old_folder(path)


def _remove_old_folder(folder: Path) -> None:
    """Remove a replaced or abandoned outputs folder; one warning line saying why when it stays.

    A folder the user made read-only keeps its files from ``rmtree``: it is going away,
    so its folders are made writable and the removal tried once more.
    """
    try:
        shutil.rmtree(folder)
        return
    except FileNotFoundError:
        return
    except OSError:
        _make_writable(folder)
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.warning("%s: previous outputs left behind (%s); delete it by hand", folder, _reason(err))


def _make_writable(folder: Path) -> None:
    """Give the owner full rights on ``folder`` and every folder under it (links not followed)."""
    with contextlib.suppress(OSError):
        folder.chmod(stat.S_IRWXU)
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                _make_writable(Path(entry.path))


def _make_folder(folder: Path, *, what: str = "--output") -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"{folder}: cannot create the folder ({_reason(err)}); choose another {what}"
        ) from None


def _reason(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full or out of inodes"
    return err.strerror or type(err).__name__
