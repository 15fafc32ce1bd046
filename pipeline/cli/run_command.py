"""``speechpipe run``: analyse recordings one after another, with the models loaded once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.arguments import add_common_options, run_options
from pipeline.core.errors import EXIT_CODES, describe_exit_codes

if TYPE_CHECKING:
    from pipeline.core.types import RecordingResult


def add_run_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``run`` on the ``speechpipe`` subcommands."""
    run = commands.add_parser(
        "run",
        help="analyse recordings one after another",
        description="Analyse each FILE and write its outputs to OUT/<recording-name>/: result.json, "
        "speakers.csv, music.csv, transcript.txt/.srt/.vtt, diarization.rttm.",
        epilog=describe_exit_codes(EXIT_CODES),
    )
    run.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="audio or video files (wav, flac, mp3, m4a, ogg, opus, webm, ...)",
    )
    add_common_options(run)
    run.set_defaults(handler=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    # The run layer brings numpy, scipy and every stage (about a second): imported once a
    # command runs, so that `speechpipe --help` and flag errors answer at once.
    from pipeline.run.runner import run_files

    options = run_options(args)
    for result, out_dir in run_files(
        args.files, options, out_root=args.output, progress="off" if args.quiet else "bars"
    ):
        if not args.quiet:
            _print_summary(result, out_dir)
    return 0


def _print_summary(result: RecordingResult, out_dir: Path) -> None:
    from rich.console import Console

    from pipeline.report.summary import print_summary

    # Off a terminal rich assumes 80 columns, which truncates speaker names in the table.
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    print_summary(result, console)
    console.print(f"outputs: {out_dir}")
