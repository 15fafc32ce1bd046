"""The flags ``run`` and ``batch`` share, parsed into one ``RunOptions``.

Defining the flags imports nothing heavy; the config (pydantic), the run layer and
the stages are imported when the flags are turned into options, as a command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.run.options import RunOptions
    from pipeline.stages.naming import SpeakerNaming


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
        "--stream",
        type=_stream_index,
        metavar="N",
        help="audio stream to analyse, 0-based among a file's audio streams "
        "(default: of several, the one with speech)",
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


def run_options(args: argparse.Namespace, **overrides: Any) -> RunOptions:
    """The ``RunOptions`` the common flags ask for: the config with its overrides, and speaker naming.

    Parameters
    ----------
    args
        Parsed flags (``add_common_options``).
    **overrides
        More dotted config keys a subcommand sets (``None`` values are ignored).

    Raises
    ------
    ConfigError
        The config, a flag, a speaker name or an enrollment clip is invalid.
    """
    from pipeline.run.config import load_config
    from pipeline.run.options import RunOptions

    config = load_config(args.config, flag_names=FLAG_NAMES, **config_overrides(args), **overrides)
    return RunOptions(config=config, naming=speaker_naming(args), stream=args.stream)


def _stream_index(text: str) -> int:
    """``--stream``'s value: an integer >= 0 (argparse turns the ValueError into exit 2)."""
    try:
        index = int(text)
    except ValueError:
        index = -1
    if index < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give an audio stream index, 0 or more")
    return index


FLAG_NAMES = {
    "asr.model": "--model",
    "asr.language": "--language",
    "asr.device": "--device",
    "diarization.device": "--device",
    "diarization.pyannote.pipeline": "--diarizer",
    "diarization.num_speakers": "--num-speakers",
    "diarization.min_speakers": "--min-speakers",
    "diarization.max_speakers": "--max-speakers",
    "hold_music.strip": "--keep-music",
}
"""The flag behind each config key ``config_overrides`` sets (named in errors)."""


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


def speaker_naming(args: argparse.Namespace) -> SpeakerNaming:
    """The ``SpeakerNaming`` ``--speaker-names`` and ``--enroll`` ask for (empty when neither is given)."""
    from pipeline.stages.naming import SpeakerNaming, parse_enrollments, parse_speaker_names

    names = parse_speaker_names(args.speaker_names) if args.speaker_names else ()
    return SpeakerNaming(names=names, enroll=parse_enrollments(args.enroll))
