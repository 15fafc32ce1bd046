"""Command line: parse, load the config, call the runner. Nothing else lives here.

Exit codes: 0 success, 1 some recordings of a batch failed, 2 bad input or usage,
3 model missing or corrupt, 4 a stage failed, 5 output not writable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline import __version__
from pipeline.cli.batch import add_batch_parser
from pipeline.cli.doctor import add_doctor_parser
from pipeline.cli.eval import add_eval_parser
from pipeline.cli.models import add_models_parser
from pipeline.core.errors import PipelineError
from pipeline.run.heap import limit_arenas

logger = logging.getLogger("pipeline")

EPILOG = """exit codes: 0 success; 1 some recordings of a batch failed; 2 bad input, config or flag;
3 model missing or failing its checksum; 4 a stage failed; 5 output not writable; 130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    """The ``speechpipe`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="speechpipe",
        description="Speech analytics for long recordings: hold music, transcript, speakers, metrics.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"speechpipe {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run_parser(commands)
    add_batch_parser(commands)
    add_models_parser(commands)
    add_eval_parser(commands)
    add_doctor_parser(commands)
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``batch``: config, models, speakers, output, verbosity."""
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="output folder; each recording gets OUT/<recording-name>/",
    )
    parser.add_argument(
        "--config",
        default="default",
        metavar="NAME|PATH",
        help="config name in configs/ (default, gpu, cloud) or a YAML file (default: %(default)s)",
    )
    parser.add_argument(
        "--model", metavar="NAME", help="ASR model from the registry, e.g. tiny.en, base, large-v3"
    )
    parser.add_argument("--language", metavar="CODE", help="transcript language, e.g. en (default: detect)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="device for ASR and diarization")
    parser.add_argument(
        "--diarizer",
        metavar="PIPELINE",
        help="diarization pipeline: offline (default), community-1, a local pipeline folder or a hub id",
    )
    parser.add_argument("--num-speakers", type=int, metavar="N", help="exact number of speakers, if known")
    parser.add_argument("--min-speakers", type=int, metavar="N", help="at least N speakers")
    parser.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")
    parser.add_argument(
        "--keep-music", action="store_true", help="do not strip music before ASR and diarization"
    )
    parser.add_argument(
        "--speaker-names", metavar="A,B,...", help='name speakers in order of first speech, e.g. "Host,Guest"'
    )
    parser.add_argument(
        "--enroll",
        action="append",
        default=[],
        metavar="NAME=CLIP",
        help="name the speaker whose voice matches CLIP (repeatable); wins over --speaker-names",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    parser.add_argument("--debug", action="store_true", help="show the traceback of unexpected errors")


def config_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Dotted config keys set by command-line flags (unset flags are None and ignored)."""
    device = args.device
    return {
        "asr.model": args.model,
        "asr.language": args.language,
        "asr.device": device,
        "diarization.device": device,
        "diarization.pyannote.pipeline": args.diarizer,
        "diarization.num_speakers": args.num_speakers,
        "diarization.min_speakers": args.min_speakers,
        "diarization.max_speakers": args.max_speakers,
        "hold_music.strip": "off" if args.keep_music else None,
    }


def speaker_naming(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The ``SpeakerNaming`` the flags ask for, or None."""
    from pipeline.run.runner import SpeakerNaming
    from pipeline.stages.naming import parse_enrollments, parse_speaker_names

    if not args.speaker_names and not args.enroll:
        return None
    names = parse_speaker_names(args.speaker_names) if args.speaker_names else ()
    return SpeakerNaming(names=names, enroll=parse_enrollments(args.enroll))


def _add_run_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="analyse recordings one after another",
        description="Analyse each FILE and write its outputs to OUT/<recording-name>/: result.json, "
        "speakers.csv, music.csv, transcript.txt/.srt/.vtt, diarization.rttm.",
        epilog=EPILOG,
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
    from pipeline.core.config import load_config
    from pipeline.io.audio import probe
    from pipeline.run.progress import SilentProgress, TqdmProgress
    from pipeline.run.runner import LoadedModels, run_one

    config = load_config(args.config, **config_overrides(args))
    naming = speaker_naming(args)
    for path in args.files:  # fail fast, before loading models (seconds)
        probe(path)
    models = LoadedModels.load(config)
    for path in args.files:
        progress = SilentProgress() if args.quiet else TqdmProgress(path.name)
        result, out_dir = run_one(
            path, config, models, out_root=args.output, progress=progress, naming=naming
        )
        if not args.quiet:
            _print_summary(result, out_dir)
    return 0


def _print_summary(result, out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from pipeline.report.summary import print_summary

    # Off a terminal rich assumes 80 columns, which truncates speaker names in the table.
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    print_summary(result, console)
    console.print(f"outputs: {out_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``speechpipe`` console script; returns the exit code."""
    limit_arenas()  # before torch, onnxruntime and CTranslate2 start their threads
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
    try:
        return int(args.handler(args))
    except PipelineError as err:
        print(f"speechpipe: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("speechpipe: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if getattr(args, "debug", False):
            raise
        print(
            f"speechpipe: internal error: {type(err).__name__}: {err} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return 4
