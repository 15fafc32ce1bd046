"""Find a batch's recordings: files, folders, globs, fsspec URLs and a CSV manifest; ``--since``."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from pipeline.core.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputItem:
    """One recording found by ``discover_inputs``.

    Attributes
    ----------
    uri : str
        Absolute local path, or an fsspec URL with its protocol (``s3://b/k.wav``).
    size : int or None
        Bytes, as listed.
    mtime : float or None
        Last modification, seconds since the epoch (UTC); None when the store has none.
    """

    uri: str
    size: int | None
    mtime: float | None

    @property
    def name(self) -> str:
        """File name, e.g. ``call.wav``."""
        return PurePosixPath(self.uri).name

    @property
    def is_local(self) -> bool:
        """True when ``uri`` is a path on this machine."""
        return "://" not in self.uri


def discover_inputs(
    specs: Sequence[str], *, manifest: Path | None = None, extensions: Sequence[str]
) -> list[InputItem]:
    """Every recording named by ``specs`` and the manifest, in order, without repeats.

    Parameters
    ----------
    specs
        Local paths or fsspec URLs of files, folders or globs. A file is taken
        whatever its extension; a folder is searched recursively for files whose
        extension is in ``extensions``.
    manifest
        CSV file with a ``path`` column (other columns are ignored); relative
        paths are relative to the manifest's folder.
    extensions
        Lower-case extensions without the dot, e.g. ``("wav", "flac")``.

    Raises
    ------
    ConfigError
        A path or URL does not exist, a protocol is unknown, or the manifest is unusable.
    """
    all_specs = list(specs) + (read_manifest(manifest) if manifest is not None else [])
    wanted = {f".{ext.lower().lstrip('.')}" for ext in extensions}
    found: dict[str, InputItem] = {}
    for spec in all_specs:
        items = _expand(spec, wanted)
        if not items:
            logger.warning("%s: no audio files (extensions: %s)", spec, ", ".join(sorted(wanted)))
        for item in items:
            found.setdefault(item.uri, item)
    return list(found.values())


def read_manifest(path: Path) -> list[str]:
    """The ``path`` column of a CSV manifest, relative entries resolved against its folder.

    Raises
    ------
    ConfigError
        The file is missing, unreadable, or has no ``path`` column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"{path}: cannot read the manifest ({err}); give a UTF-8 CSV file") from None
    if "path" not in columns:
        raise ConfigError(f"{path}: the manifest needs a header line with a 'path' column, one path per row")
    entries = []
    for row in rows:
        value = next((v for k, v in row.items() if k and k.strip().lower() == "path"), None)
        if value and value.strip():
            entries.append(_relative_to(value.strip(), path.parent))
    return entries


def _relative_to(entry: str, folder: Path) -> str:
    if "://" in entry or Path(entry).is_absolute():
        return entry
    return str(folder / entry)


def _expand(spec: str, wanted: set[str]) -> list[InputItem]:
    try:
        fs, path = fsspec.core.url_to_fs(spec)
    except (ValueError, ImportError) as err:
        raise ConfigError(f"{spec}: cannot open ({err}); check the URL, install its backend") from None
    try:
        # A name is taken literally when something has it ("call [1].wav"); it is a
        # glob only when it has glob characters and names nothing.
        if any(char in path for char in "*?[") and not fs.exists(path):
            listing = {p: fs.info(p) for p in fs.glob(path)}
            listing = {p: info for p, info in listing.items() if info["type"] == "file"}
        elif fs.isdir(path):
            listing = fs.find(path, detail=True)
            listing = {p: i for p, i in listing.items() if PurePosixPath(p).suffix.lower() in wanted}
        elif fs.isfile(path) or fs.exists(path):  # a FIFO or device too: the decoder refuses it, alone
            listing = {path: fs.info(path)}
        else:
            raise ConfigError(f"{spec}: no such file or folder; check the path or URL")
    except (OSError, PermissionError) as err:
        raise ConfigError(f"{spec}: cannot list ({err}); check the path and your credentials") from None
    local = isinstance(fs, LocalFileSystem)
    return [
        InputItem(
            uri=str(Path(p).resolve()) if local else fs.unstrip_protocol(p),
            size=info.get("size"),
            mtime=_modified(info),
        )
        for p, info in sorted(listing.items())
    ]


def _modified(info: dict[str, Any]) -> float | None:
    # Each store names it differently: local/sftp "mtime", s3 "LastModified",
    # azure "last_modified", gcs "updated", memory "created".
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp() if value.tzinfo else value.replace(tzinfo=UTC).timestamp()
        if isinstance(value, str):
            try:
                return _modified({key: datetime.fromisoformat(value.replace("Z", "+00:00"))})
            except ValueError:
                continue
    return None


# -- --since -----------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, *, now: datetime, last_run: datetime | None) -> datetime | None:
    """The time ``--since`` means; None takes everything.

    Parameters
    ----------
    text
        ``last`` (start of the previous finished batch run in this output folder),
        a duration back from ``now`` (``90m``, ``36h``, ``7d``, ``2w``), or an ISO 8601
        date or time (``2024-05-01``, ``2024-05-01T06:00``; UTC unless it has an offset).
    now
        Current time (aware, UTC).
    last_run
        Start of the previous finished run, from the ledger.

    Raises
    ------
    ConfigError
        ``text`` is none of these.
    """
    text = text.strip()
    if text == "last":
        return last_run
    if match := _DURATION.match(text):
        try:
            return now - timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
        except OverflowError:
            return None  # further back than any date: everything
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: give 'last', a duration like 36h or 7d, or a date like 2024-05-01"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def select_since(items: Sequence[InputItem], since: datetime) -> list[InputItem]:
    """Items modified at or after ``since``; items with no known time are kept (the ledger decides)."""
    cutoff = since.timestamp()
    return [item for item in items if item.mtime is None or item.mtime >= cutoff]
