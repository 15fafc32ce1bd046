"""``python -m evaluation``: the evaluation harness from the command line, run from the checkout's root.

Measures the pipeline against the baselines (``make bench``). The real clips and the
derived references are read from folders given by flag; their defaults are the
checkout's: ``../shared/data`` beside it and ``bench/references`` in it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.errors import ConfigError, one_line

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
"""The checkout this command belongs to."""


def build_parser() -> argparse.ArgumentParser:
    """The evaluation command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m evaluation",
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
        default=REPO / "bench" / "results",
        metavar="OUT",
        help="results folder (default: the checkout's bench/results)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data",
        metavar="DIR",
        help="folder of the real clips: singlespeaker/, multispeaker/, music/, noise/, conversations/ "
        "(default: ../shared/data beside the checkout)",
    )
    parser.add_argument(
        "--references",
        type=Path,
        default=REPO / "bench" / "references",
        metavar="DIR",
        help="derived RTTMs of the real conversations (default: the checkout's bench/references)",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; returns the exit code (2: bad flags)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _evaluate(args)
    except ConfigError as err:
        print(f"evaluation: error: {one_line(str(err))}", file=sys.stderr)
        return err.exit_code


def _evaluate(args: argparse.Namespace) -> int:
    # The harness brings numpy, scipy, jiwer and the whole pipeline: imported once the flags are read.
    from evaluation.harness import Inputs, Plan, evaluate
    from evaluation.results import write_results

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

    inputs = Inputs(data=args.data, references=args.references, repo=REPO)
    if args.work is not None:
        results = evaluate(plan, inputs=inputs, work=args.work, progress=progress)
    else:
        with tempfile.TemporaryDirectory(prefix="speechpipe-eval-") as work:
            results = evaluate(plan, inputs=inputs, work=Path(work), progress=progress)
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
