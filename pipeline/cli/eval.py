"""``speechpipe eval``: the evaluation harness from the command line."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from pipeline.core.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = Path("bench") / "results"


def add_eval_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``eval`` subcommand on ``speechpipe``'s subparsers."""
    parser = commands.add_parser(
        "eval",
        help="measure accuracy, speed and memory against the baselines",
        description="Build seeded live-room recordings (hold music, real speech, mp3/AAC) with exact "
        "ground truth, take the real recordings as they are, and run the pipeline, the pipeline "
        "with the music filter off, and plain faster-whisper on them: DER/JER, WER, hold-music "
        "F1, speech lost, talk-share and turn errors, words in music, real-time factor and peak "
        "RSS, ratios ours / baseline, and a 5 min -> 3 h scaling series. Writes OUT/eval.json "
        "and OUT/README.md.",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="OUT",
        help="results folder (default: %(default)s, from the checkout's root as make bench runs it)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one ~1 minute live room, three systems, no scaling series (about a minute)",
    )
    parser.add_argument("--rooms", type=int, default=2, metavar="N", help="live rooms (default: %(default)s)")
    parser.add_argument("--no-real", action="store_true", help="leave out the real recordings")
    parser.add_argument(
        "--scaling",
        default="5,60,180",
        metavar="MINUTES",
        help="comma-separated lengths of the scaling series in minutes, '' for none (default: %(default)s)",
    )
    parser.add_argument(
        "--calls", type=int, default=4, metavar="N", help="two-party calls of real voices (default: 4)"
    )
    parser.add_argument(
        "--interview-minutes",
        type=float,
        default=6.0,
        metavar="M",
        help="host-with-backchannels interview length, 0 for none (default: %(default)s)",
    )
    parser.add_argument(
        "--talk",
        default="20",
        metavar="MINUTES",
        help="comma-separated minutes of two-person talk after a 45-minute hold loop, '' for none; "
        "129 is the seed-sized 3 h recording (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated recordings (default: 0)")
    parser.add_argument(
        "--config", default="default", metavar="NAME|PATH", help="pipeline config (default: %(default)s)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        metavar="DIR",
        help="keep the generated recordings here (default: a temporary folder, removed)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    parser.set_defaults(handler=_eval_command)


def _eval_command(args: argparse.Namespace) -> int:
    # The harness brings numpy, scipy, jiwer and the whole pipeline: imported once the
    # command runs, so that `speechpipe --help` answers at once.
    from pipeline.evaluation.harness import Plan, evaluate
    from pipeline.evaluation.report import write_results

    minutes = _minutes("--scaling", args.scaling)
    talk = _minutes("--talk", args.talk)
    if args.rooms < 1 and not args.quick:
        raise ConfigError(f"--rooms {args.rooms}: give at least 1")
    plan = Plan(
        rooms=args.rooms,
        real=not args.no_real,
        quick=args.quick,
        calls=args.calls,
        interview_minutes=args.interview_minutes,
        scaling_minutes=minutes,
        talk_minutes=talk,
        seed=args.seed,
        config=args.config,
    )

    def progress(message: str) -> None:
        print(f"eval: {message}", file=sys.stderr, flush=True)

    if args.work is not None:
        results = evaluate(plan, work=args.work, progress=progress)
    else:
        with tempfile.TemporaryDirectory(prefix="speechpipe-eval-") as work:
            results = evaluate(plan, work=Path(work), progress=progress)
    json_path, md_path = write_results(results, args.output)
    print(f"eval: wrote {json_path} and {md_path} in {results['total_seconds']:.0f} s", file=sys.stderr)
    return 0


def _minutes(flag: str, text: str) -> tuple[float, ...]:
    """``"5,60"`` -> ``(5.0, 60.0)``; '' -> ``()``.

    Raises
    ------
    ConfigError
        Not numbers separated by commas.
    """
    try:
        return tuple(float(m) for m in text.split(",") if m.strip())
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: give minutes separated by commas, e.g. 5,60,180") from None
