"""The ``speechpipe batch`` subcommand: parse, pick the executor, run, print the summary.

The flags it shares with ``run`` become the same ``RunOptions`` (speaker names and
enrollment included), handed to every worker.
"""

from __future__ import annotations

import argparse
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.arguments import add_common_options, run_options
from pipeline.cli.jsonlog import use_json_logs
from pipeline.core.errors import BATCH_EXIT_CODES, ConfigError, describe_exit_codes, one_line

if TYPE_CHECKING:
    from pipeline.run.batch.driver import BatchSummary, ExecutorFactory
    from pipeline.run.progress import ProgressMode

logger = logging.getLogger(__name__)

DESCRIPTION = """Analyse many recordings with the models loaded once, skipping what an earlier run
in the same OUT already finished (OUT/ledger.sqlite records each recording's content hash, config hash,
status, error and stage timings). A failing recording never stops the batch. Rerun the same command
after a crash or a kill: finished recordings are skipped and finished stages reused."""


def add_batch_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``batch`` on the ``speechpipe`` subcommands."""
    batch = commands.add_parser(
        "batch",
        help="analyse many recordings: resumable, local or on a Ray cluster",
        description=DESCRIPTION,
        epilog=describe_exit_codes(BATCH_EXIT_CODES),
    )
    batch.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="audio files, folders (searched recursively by audio extension), globs, "
        "or fsspec URLs (s3://bucket/calls/, gs://..., memory://...)",
    )
    batch.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE.csv",
        help="CSV with a 'path' column listing recordings (relative to the CSV's folder)",
    )
    add_common_options(batch)
    batch.add_argument(
        "--executor",
        choices=["local", "ray"],
        help="local: this process (the default); ray: one task per recording on Ray",
    )
    batch.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join an existing Ray cluster: HOST:PORT (the head's GCS port), 'auto' on a cluster node, "
        "or ray://HOST:10001 (implies --executor ray; default: start Ray on this machine)",
    )
    batch.add_argument(
        "--ray-node-ip",
        metavar="IP",
        help="the address the cluster reaches this driver at (default: 127.0.0.1 when --ray-address "
        "is on loopback, else Ray's choice: the default route's address)",
    )
    batch.add_argument(
        "--since",
        metavar="WHEN",
        help="only recordings modified since WHEN: 'last' (the previous finished run in OUT), "
        "a duration (36h, 7d) or a date/time (2024-05-01, 2024-05-01T06:00, UTC)",
    )
    batch.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="json: one JSON object per log line on stderr (default: %(default)s)",
    )
    batch.set_defaults(handler=_batch_command)


def _batch_command(args: argparse.Namespace) -> int:
    # The batch machinery brings fsspec, numpy, scipy and every stage (over a second):
    # imported once the command runs, so that `speechpipe --help` answers at once.
    from pipeline.run.batch.driver import run_batch
    from pipeline.run.batch.execute import LocalExecutor
    from pipeline.run.ray_executor import RayExecutor

    if args.log_format == "json":
        use_json_logs(logging.DEBUG if args.verbose else logging.INFO)
    if not args.inputs and args.manifest is None:
        raise ConfigError("batch: give INPUT files, folders or URLs, or --manifest FILE.csv")
    executor_name = args.executor or ("ray" if args.ray_address else None)
    options = run_options(
        args,
        **{
            "batch.executor": executor_name,
            "batch.ray_address": args.ray_address,
            "batch.ray_node_ip": args.ray_node_ip,
        },
    )
    executor: ExecutorFactory
    if options.config.batch.executor == "ray":
        executor = partial(RayExecutor, json_logs=args.log_format == "json")
    else:
        # JSON logs carry progress events even with --quiet (which hides bars and the summary):
        # a scheduled job's log is where its progress is read.
        progress: ProgressMode = "log" if args.log_format == "json" else "off" if args.quiet else "bars"
        executor = partial(LocalExecutor, progress=progress)
    report = run_batch(
        args.inputs, options, args.output, manifest=args.manifest, since=args.since, executor=executor
    )
    if not args.quiet:
        print_batch_summary(report, args.output)
    return report.exit_code


def print_batch_summary(report: BatchSummary, out_root: Path) -> None:
    """Print one table row per recording, then the totals, on stdout."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pipeline.core.timefmt import clock

    styles = {"done": "green", "skipped": "dim", "failed": "bold red"}
    table = Table(title=f"speechpipe batch {report.run_id}", title_justify="left")
    table.add_column("recording", overflow="fold")
    table.add_column("status")
    table.add_column("audio", justify="right")
    table.add_column("speakers", justify="right")
    table.add_column("time", justify="right")
    table.add_column("output / error", overflow="fold")
    on_ray = any(row.worker for row in report.rows)
    if on_ray:
        table.add_column("Ray node", overflow="fold")
    for row in report.rows:
        where = row.error if row.error else str(out_root / row.output_dir) if row.output_dir else ""
        cells: list[Text | str] = [
            # Text, not str: a name like "take [final].wav" must not be read as rich markup.
            Text(one_line(Path(row.uri).name if "://" not in row.uri else row.uri)),
            Text(row.status, style=styles[row.status]),
            clock(row.duration) if row.duration is not None else "",
            str(row.speakers) if row.speakers is not None else "",
            f"{row.seconds:.1f} s" if row.status != "skipped" else "",
            Text(one_line(where)),
        ]
        if on_ray:  # the first 12 hex digits of the node id tell the nodes apart; the ledger has it all
            cells.append(row.worker[:12] if row.worker else "")
        table.add_row(*cells)
    console = Console()
    console.print(table)
    console.print(
        Text(
            f"{report.count('done')} done, {report.count('skipped')} already done, "
            f"{report.count('failed')} failed in {report.seconds:.1f} s; ledger: {out_root / 'ledger.sqlite'}"
        )
    )
