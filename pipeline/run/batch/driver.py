"""A whole batch (``run_batch``): find the inputs, plan against the ledger, run, record.

A batch is four steps, each a module of this package, under one lock (``lock``):

1. ``discover.discover_inputs`` lists files, folders (recursive, by audio extension), globs
   and fsspec URLs (``s3://``, ``gs://``, ``memory://``...) and a CSV manifest;
2. ``plan.plan`` drops what the ledger says is done with the same bytes and config,
   and gives every recording an output folder that no other recording owns;
3. an executor analyses each planned recording with the run's ``RunOptions`` —
   ``execute.LocalExecutor``, one process with the models loaded once
   (``pipeline.run.runner.Runner``); ``pipeline.run.ray_executor.RayExecutor`` on a
   Ray cluster — and never stops on a failed recording;
4. the ``record.Recorder`` (always in the driver process) writes each recording's
   outputs (``pipeline.run.outputs.write_outputs``, as ``speechpipe run`` does) and
   its ledger row.

Crash safety comes from the order of those writes: the ledger says ``running``
before work starts and ``done`` only after every output file is in place, and the
runner's stage cache keeps each finished stage, so a run killed at any point
redoes at most the stages that were in flight.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pipeline.run.batch.discover import discover_inputs, parse_since, select_since
from pipeline.run.batch.execute import Executor, LocalExecutor
from pipeline.run.batch.lock import one_batch_at_a_time
from pipeline.run.batch.plan import plan
from pipeline.run.batch.record import Recorder, RecordingRow
from pipeline.run.cache import stage_cache_root
from pipeline.run.ledger import Ledger, utc_now
from pipeline.run.options import RunOptions
from pipeline.run.outputs import check_output_folder
from pipeline.run.runner import config_sha256

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    run_id : str
        This run's id in the ledger.
    rows : tuple of RecordingRow
        One per recording, in input order.
    seconds : float
        Wall time of the whole run, seconds.
    """

    run_id: str
    rows: tuple[RecordingRow, ...]
    seconds: float

    def count(self, status: str) -> int:
        """How many recordings ended with ``status``."""
        return sum(row.status == status for row in self.rows)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else 1 (see ``pipeline.core.errors``)."""
        return 1 if self.count("failed") else 0


class ExecutorFactory(Protocol):
    """Builds the executor once the output folder (hence the cache) is known."""

    def __call__(self, options: RunOptions, cache_root: Path) -> Executor: ...


def run_batch(
    specs: Sequence[str],
    options: RunOptions,
    out_root: Path,
    *,
    manifest: Path | None = None,
    since: str | None = None,
    executor: ExecutorFactory = LocalExecutor,
) -> BatchSummary:
    """Analyse every recording ``specs`` and ``manifest`` name that the ledger does not hold as done.

    Parameters
    ----------
    specs, manifest
        Inputs, as for ``discover_inputs``.
    options
        The run's config and speaker naming (the same for every recording).
    out_root
        Output folder: ``<out_root>/<recording>/`` per recording, ``ledger.sqlite``
        and the stage cache (unless ``config.cache_dir`` is set).
    since
        Take only recordings modified since then (see ``parse_since``).
    executor
        ``LocalExecutor`` or ``RayExecutor`` (or a factory built from one).

    Raises
    ------
    ConfigError
        An input does not exist or ``since`` is malformed (exit code 2).
    ModelError
        The models cannot be loaded (exit code 3).
    OutputError
        The output folder or its ledger cannot be written (exit code 5).
    """
    began = time.perf_counter()
    # The run starts before listing, so a file that lands while we list is taken by
    # the next `--since last` run rather than by neither.
    started_at = utc_now()
    run_id = f"{started_at[:19].replace(':', '')}-{uuid.uuid4().hex[:8]}"
    config = options.config
    config_hash = config_sha256(options)
    check_output_folder(out_root)
    cache_root = stage_cache_root(config.cache_dir, out_root)
    check_output_folder(cache_root, what="cache_dir")
    with one_batch_at_a_time(out_root), Ledger.in_folder(out_root) as ledger:
        items = discover_inputs(specs, manifest=manifest, extensions=config.batch.extensions)
        if since is not None:
            cutoff = parse_since(since, now=datetime.now(UTC), last_run=ledger.last_run_start())
            if cutoff is not None:
                items = select_since(items, cutoff)
                logger.info("--since %s: %d recordings modified since %s", since, len(items), cutoff)
        tasks, skipped = plan(items, ledger, config_hash, out_root)
        logger.info(
            "%d recordings: %d to analyse, %d already done",
            len(items),
            len(tasks),
            len(skipped),
            extra={
                "event": "batch_planned",
                "run_id": run_id,
                "to_analyse": len(tasks),
                "skipped": len(skipped),
            },
        )
        ledger.start_run(run_id, config_hash, config.batch.executor, started_at=started_at)
        recorder = Recorder(ledger, out_root, options.formats, config_hash, run_id)
        for item in skipped:
            recorder.skipped(item)
        executor(options, cache_root)(tasks, recorder)
        order = {item.uri: i for i, item in enumerate(items)}
        rows = tuple(sorted(recorder.rows, key=lambda row: order[row.uri]))
        summary = BatchSummary(run_id, rows, time.perf_counter() - began)
        ledger.finish_run(
            run_id,
            done=summary.count("done"),
            failed=summary.count("failed"),
            skipped=summary.count("skipped"),
        )
    logger.info(
        "batch finished: %d done, %d skipped, %d failed in %.1f s",
        summary.count("done"),
        summary.count("skipped"),
        summary.count("failed"),
        summary.seconds,
        extra={
            "event": "batch_finished",
            "run_id": run_id,
            "done": summary.count("done"),
            "skipped": summary.count("skipped"),
            "failed": summary.count("failed"),
        },
    )
    return summary
