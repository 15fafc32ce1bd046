"""The batch ledger: an SQLite database in the output folder that remembers every recording.

One row per (recording URI, config hash) holds the recording's content hash, its
status (``running``, ``done`` or ``failed``), the error, stage timings, model
identities and, with Ray, the node it ran on (``worker``). A rerun reads it to skip
what is done with the same input and config and to redo what failed, changed, or
was cut off (a row still ``running`` after a crash). A second table remembers each
batch run, so ``--since last`` can take only what arrived after the previous run began.

Only the batch driver writes the ledger (Ray workers never touch it), and every
change is its own committed transaction, so a SIGKILL loses at most the row being
written; SQLite's journal rolls that back on the next open.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.core.errors import OutputError
from pipeline.core.types import ModelIdentity

logger = logging.getLogger(__name__)

LEDGER_NAME = "ledger.sqlite"

Status = Literal["running", "done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    uri            TEXT NOT NULL,
    config_sha256  TEXT NOT NULL,
    content_sha256 TEXT,
    size           INTEGER,
    mtime          REAL,
    status         TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    error          TEXT,
    exit_code      INTEGER,
    output_dir     TEXT NOT NULL,
    timings        TEXT NOT NULL DEFAULT '{}',
    models         TEXT NOT NULL DEFAULT '[]',
    attempts       INTEGER NOT NULL DEFAULT 0,
    run_id         TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    worker         TEXT,
    PRIMARY KEY (uri, config_sha256)
);
CREATE INDEX IF NOT EXISTS recordings_output_dir ON recordings (output_dir);
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    config_sha256 TEXT NOT NULL,
    executor      TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    done          INTEGER,
    failed        INTEGER,
    skipped       INTEGER
);
"""


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class LedgerEntry:
    """One recording's row.

    Attributes
    ----------
    uri : str
        Absolute local path or fsspec URL of the recording.
    config_sha256 : str
        ``pipeline.run.runner.config_sha256(options)`` of the run that wrote the row.
    content_sha256 : str or None
        sha256 of the recording's bytes (None until it was read).
    size : int or None
        Size in bytes when listed.
    mtime : float or None
        Modification time when listed, seconds since the epoch (UTC).
    status : {"running", "done", "failed"}
        ``running`` after a crash means the recording must be redone.
    error : str or None
        One-line reason of the last failure.
    exit_code : int or None
        The exit code that failure maps to (see ``pipeline.core.errors``).
    output_dir : str
        Folder of the recording's outputs, relative to the output folder.
    timings : dict
        Stage name -> seconds, from the last successful run.
    models : tuple of ModelIdentity
        Models that produced the outputs.
    attempts : int
        How many times processing was started.
    run_id, started_at, finished_at : str
        Batch run of the last attempt; ISO 8601 UTC times.
    worker : str or None
        Ray node id the last attempt runs or ran on; None with the local executor.
    """

    uri: str
    config_sha256: str
    content_sha256: str | None
    size: int | None
    mtime: float | None
    status: Status
    error: str | None
    exit_code: int | None
    output_dir: str
    timings: dict[str, float]
    models: tuple[ModelIdentity, ...]
    attempts: int
    run_id: str
    started_at: str
    finished_at: str | None
    worker: str | None


class Ledger:
    """The ledger of one output folder (``<out>/ledger.sqlite``).

    Parameters
    ----------
    path
        Database file; created with its tables when missing.

    Raises
    ------
    OutputError
        The file cannot be created or is not an SQLite database.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit; every write below is one statement, hence one transaction.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            # FULL: a committed row survives power loss, not only a killed process.
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(recordings)")}
            if "worker" not in columns:  # a ledger written before the worker column
                self._db.execute("ALTER TABLE recordings ADD COLUMN worker TEXT")
        except (OSError, sqlite3.Error) as err:
            raise OutputError(f"{path}: cannot open the ledger ({err}); choose a writable --output") from None

    @classmethod
    def in_folder(cls, out_root: Path) -> Ledger:
        """The ledger of the output folder ``out_root``."""
        return cls(out_root / LEDGER_NAME)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recordings -------------------------------------------------------------------

    def get(self, uri: str, config_hash: str) -> LedgerEntry | None:
        """The row of ``uri`` under ``config_hash``, or None."""
        row = self._db.execute(
            "SELECT * FROM recordings WHERE uri = ? AND config_sha256 = ?", (uri, config_hash)
        ).fetchone()
        return _entry(row) if row is not None else None

    def entries(self) -> list[LedgerEntry]:
        """Every row, ordered by URI then config hash."""
        rows = self._db.execute("SELECT * FROM recordings ORDER BY uri, config_sha256").fetchall()
        return [_entry(row) for row in rows]

    def output_owners(self) -> dict[str, str]:
        """Output folder name -> the URI that claimed it first (any config)."""
        rows = self._db.execute("SELECT output_dir, uri FROM recordings ORDER BY started_at DESC").fetchall()
        # Iterating newest first and overwriting leaves the oldest claim.
        return {row["output_dir"]: row["uri"] for row in rows}

    def mark_running(
        self,
        uri: str,
        config_hash: str,
        *,
        size: int | None,
        mtime: float | None,
        output_dir: str,
        run_id: str,
        worker: str | None = None,
    ) -> None:
        """Record that processing of ``uri`` starts now (one more attempt), on Ray node ``worker``."""
        self._db.execute(
            """INSERT INTO recordings (uri, config_sha256, size, mtime, status, output_dir, attempts,
                                       run_id, started_at, worker)
               VALUES (?, ?, ?, ?, 'running', ?, 1, ?, ?, ?)
               ON CONFLICT (uri, config_sha256) DO UPDATE SET
                   size = excluded.size, mtime = excluded.mtime, status = 'running', error = NULL,
                   exit_code = NULL, output_dir = excluded.output_dir, attempts = attempts + 1,
                   run_id = excluded.run_id, started_at = excluded.started_at, finished_at = NULL,
                   worker = excluded.worker""",
            (uri, config_hash, size, mtime, output_dir, run_id, utc_now(), worker),
        )

    def mark_done(
        self,
        uri: str,
        config_hash: str,
        *,
        content_sha256: str,
        timings: dict[str, float],
        models: tuple[ModelIdentity, ...],
        worker: str | None = None,
    ) -> None:
        """Record that ``uri``'s outputs are all written (``worker``: the Ray node id it ran on)."""
        models_json = json.dumps([dataclasses.asdict(m) for m in models])
        self._update(
            uri,
            config_hash,
            status="done",
            content_sha256=content_sha256,
            timings=json.dumps(timings, sort_keys=True),
            models=models_json,
            worker=worker,
        )

    def mark_unchanged(self, uri: str, config_hash: str, *, size: int | None, mtime: float | None) -> None:
        """Record that ``uri`` was re-listed with new size/mtime but the same bytes as its done row."""
        self._update(uri, config_hash, status="done", size=size, mtime=mtime)

    def mark_failed(
        self,
        uri: str,
        config_hash: str,
        *,
        error: str,
        exit_code: int,
        content_sha256: str | None,
        worker: str | None = None,
    ) -> None:
        """Record that processing ``uri`` failed (on Ray node ``worker``); a rerun retries it."""
        self._update(
            uri,
            config_hash,
            status="failed",
            error=error,
            exit_code=exit_code,
            content_sha256=content_sha256,
            worker=worker,
        )

    # -- runs -------------------------------------------------------------------------

    def start_run(self, run_id: str, config_hash: str, executor: str, *, started_at: str) -> None:
        """Record that a batch run began at ``started_at`` (ISO 8601 UTC, see ``utc_now``)."""
        self._db.execute(
            "INSERT INTO runs (run_id, config_sha256, executor, started_at) VALUES (?, ?, ?, ?)",
            (run_id, config_hash, executor, started_at),
        )

    def finish_run(self, run_id: str, *, done: int, failed: int, skipped: int) -> None:
        """Record that a batch run ended with these counts."""
        self._db.execute(
            "UPDATE runs SET finished_at = ?, done = ?, failed = ?, skipped = ? WHERE run_id = ?",
            (utc_now(), done, failed, skipped, run_id),
        )

    def last_run_start(self) -> datetime | None:
        """Start time of the newest batch run that finished, or None.

        A run cut off by a crash does not count: what it listed may not be done.
        """
        row = self._db.execute(
            "SELECT started_at FROM runs WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        return datetime.fromisoformat(row["started_at"]) if row is not None else None

    # -- helpers ----------------------------------------------------------------------

    def _update(self, uri: str, config_hash: str, *, status: Status, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor = self._db.execute(
            f"UPDATE recordings SET status = ?, finished_at = ?, {assignments} "
            "WHERE uri = ? AND config_sha256 = ?",
            (status, utc_now(), *columns.values(), uri, config_hash),
        )
        if cursor.rowcount != 1:
            raise KeyError(f"{uri}: no ledger row for config {config_hash[:12]}; call mark_running first")


def _entry(row: sqlite3.Row) -> LedgerEntry:
    return LedgerEntry(
        uri=row["uri"],
        config_sha256=row["config_sha256"],
        content_sha256=row["content_sha256"],
        size=row["size"],
        mtime=row["mtime"],
        status=row["status"],
        error=row["error"],
        exit_code=row["exit_code"],
        output_dir=row["output_dir"],
        timings=json.loads(row["timings"]),
        models=tuple(ModelIdentity(**m) for m in json.loads(row["models"])),
        attempts=row["attempts"],
        run_id=row["run_id"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        worker=row["worker"],
    )
