"""Record each recording's outcome, always in the driver process: its outputs, then its ledger row."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.core.errors import PipelineError, StageError, one_line
from pipeline.core.types import RecordingResult
from pipeline.run.batch.discover import InputItem
from pipeline.run.batch.plan import Task
from pipeline.run.ledger import Ledger
from pipeline.run.outputs import write_outputs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What analysing one task produced.

    Attributes
    ----------
    status : {"done", "unchanged", "failed"}
        ``unchanged``: the bytes hash to the task's ``known_sha256``; nothing was run.
    content_sha256 : str or None
        Hash of the recording's bytes, when they were read.
    result : RecordingResult or None
        The analysis (``done`` only); ``source`` is the recording's URI.
    error : str or None
        One-line reason (``failed`` only).
    exit_code : int or None
        The exit code the error maps to (``failed`` only).
    seconds : float
        Wall time spent, seconds.
    worker : str or None
        The Ray node id it ran on; None with the local executor.
    """

    status: Literal["done", "unchanged", "failed"]
    content_sha256: str | None = None
    result: RecordingResult | None = None
    error: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    worker: str | None = None


@dataclass(frozen=True)
class RecordingRow:
    """One line of the batch summary.

    Attributes
    ----------
    uri : str
        The recording.
    status : {"done", "skipped", "failed"}
        ``skipped``: done by an earlier run with the same bytes and config.
    output_dir : str or None
        Output folder (relative to the batch output folder).
    duration : float or None
        Recording length, seconds (``done`` only).
    speakers : int or None
        Speakers found (``done`` only).
    seconds : float
        Wall time spent on it in this run, seconds.
    error : str or None
        Why it failed.
    worker : str or None
        The Ray node id it ran on in this run; None with the local executor or when skipped.
    """

    uri: str
    status: Literal["done", "skipped", "failed"]
    output_dir: str | None = None
    duration: float | None = None
    speakers: int | None = None
    seconds: float = 0.0
    error: str | None = None
    worker: str | None = None


class Recorder:
    """Writes each outcome's outputs and ledger row; collects the summary rows.

    Parameters
    ----------
    ledger
        The output folder's ledger.
    out_root
        The batch output folder.
    formats
        The output files each recording gets (``output.formats``).
    config_hash
        ``config_sha256(options)``.
    run_id
        This batch run.
    """

    def __init__(
        self, ledger: Ledger, out_root: Path, formats: tuple[str, ...], config_hash: str, run_id: str
    ) -> None:
        self.ledger = ledger
        self.out_root = out_root
        self.formats = formats
        self.config_hash = config_hash
        self.run_id = run_id
        self.rows: list[RecordingRow] = []

    def skipped(self, item: InputItem) -> None:
        """``item`` is done from an earlier run."""
        entry = self.ledger.get(item.uri, self.config_hash)
        self.rows.append(RecordingRow(item.uri, "skipped", entry.output_dir if entry else None))

    def started(self, task: Task, *, worker: str | None = None) -> None:
        """Work on ``task`` begins on Ray node ``worker`` (before any of its outputs are written)."""
        item = task.item
        self.ledger.mark_running(
            item.uri,
            self.config_hash,
            size=item.size,
            mtime=item.mtime,
            output_dir=task.output_dir,
            run_id=self.run_id,
            worker=worker,
        )
        logger.info("%s: started", item.uri, extra={"event": "recording_started", "uri": item.uri})

    def finished(self, task: Task, outcome: Outcome) -> RecordingRow:
        """Write the outputs of a ``done`` outcome, then its ledger row; return its summary row."""
        uri, item = task.item.uri, task.item
        if outcome.status == "done" and outcome.result is not None:
            try:
                write_outputs(outcome.result, self.out_root / task.output_dir, self.formats)
            except Exception as err:  # one recording's outputs never stop the batch
                error, exit_code = describe_failure(err, task.item.uri)
                outcome = dataclasses.replace(outcome, status="failed", error=error, exit_code=exit_code)
        if outcome.status == "done" and outcome.result is not None:
            result = outcome.result
            self.ledger.mark_done(
                uri,
                self.config_hash,
                content_sha256=result.content_sha256,
                timings=result.timings,
                models=result.models,
                worker=outcome.worker,
            )
            row = RecordingRow(
                uri,
                "done",
                task.output_dir,
                result.duration,
                len(result.speakers),
                outcome.seconds,
                worker=outcome.worker,
            )
        elif outcome.status == "unchanged":
            self.ledger.mark_unchanged(uri, self.config_hash, size=item.size, mtime=item.mtime)
            row = RecordingRow(uri, "skipped", task.output_dir, seconds=outcome.seconds)
        else:
            self.ledger.mark_failed(
                uri,
                self.config_hash,
                error=outcome.error or "unknown error",
                exit_code=outcome.exit_code or StageError.exit_code,
                content_sha256=outcome.content_sha256,
                worker=outcome.worker,
            )
            row = RecordingRow(
                uri,
                "failed",
                task.output_dir,
                seconds=outcome.seconds,
                error=outcome.error,
                worker=outcome.worker,
            )
        log = logger.warning if row.status == "failed" else logger.info
        log(
            "%s: %s%s",
            uri,
            row.status,
            f" ({row.error})" if row.error else "",
            extra={"event": "recording_finished", **dataclasses.asdict(row)},
        )
        self.rows.append(row)
        return row


def describe_failure(err: Exception, uri: str) -> tuple[str, int]:
    """The one-line error and exit code a recording's failure is recorded with (never a traceback).

    Our own errors keep their message and code; a file that cannot be read (gone,
    permissions) is bad input (2); anything else is a bug: exit 4, its traceback
    logged at debug level only (``--debug`` / ``-v`` with JSON logs).
    """
    if isinstance(err, PipelineError):
        return one_line(str(err)), err.exit_code
    if isinstance(err, OSError):
        reason = err.strerror or type(err).__name__
        return one_line(f"{uri}: cannot read ({reason}); check that the file is still there and readable"), 2
    logger.debug("%s: unexpected error", uri, exc_info=err)
    message = f"{uri}: internal error: {type(err).__name__}: {err}; please report it (rerun with --debug)"
    return one_line(message), StageError.exit_code
