"""The ``speechpipe`` command: parse flags, call the subcommand, map errors to exit codes.

Each subcommand lives in its own module (``run_command``, ``batch_command``,
``models_command``, ``doctor_command``); ``run`` and ``batch`` parse their
shared flags into one ``RunOptions`` (``arguments.py``). A subcommand's module imports
its heavy libraries (the config, the run layer, rich) only when the command runs, so
``speechpipe --help`` answers at once. The exit codes are ``pipeline.core.errors.EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from pipeline import __version__
from pipeline.cli.batch_command import add_batch_parser
from pipeline.cli.doctor_command import add_doctor_parser
from pipeline.cli.models_command import add_models_parser
from pipeline.cli.run_command import add_run_parser
from pipeline.core.errors import EXIT_CODES, PipelineError, describe_exit_codes, one_line

logger = logging.getLogger("pipeline")


def build_parser() -> argparse.ArgumentParser:
    """The ``speechpipe`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="speechpipe",
        description="Speech analytics for long recordings: hold music, transcript, speakers, metrics.",
        epilog=describe_exit_codes(EXIT_CODES),
    )
    parser.add_argument("--version", action="version", version=f"speechpipe {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_run_parser(commands)
    add_batch_parser(commands)
    add_models_parser(commands)
    add_doctor_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``speechpipe`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Libraries' deprecation chatter (pyannote's, lightning's) is not
    # the user's business: route warnings to logging and show them only with -v.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.ERROR)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.handler(args))
    except PipelineError as err:
        print(f"speechpipe: error: {one_line(str(err))}", file=sys.stderr)
        return err.exit_code
    except Terminated:
        print("speechpipe: terminated (SIGTERM); finished work is kept, rerun to go on", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("speechpipe: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if getattr(args, "debug", False):
            raise
        print(
            one_line(
                f"speechpipe: internal error: {type(err).__name__}: {err} (rerun with --debug for details)"
            ),
            file=sys.stderr,
        )
        return 4


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, Docker, Kubernetes): unwinds like Ctrl-C, so temporary files are removed."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated
