"""Give diarized speakers names: by order of first speech, or by voice enrollment.

Diarization labels speakers ``SPEAKER_00``, ``SPEAKER_01``...; people want "Host" and
"Guest". ``--speaker-names "Host,Guest"`` names them in order of first speech;
``--enroll NAME=clip.wav`` names the speaker whose voice matches a reference clip
(``enrollment.py``). Both produce a ``{label: name}`` mapping that ``rename_speakers``
applies to the turns and segments before metrics are computed. The naming stage is
cached when it enrolls voices (its encoder loads once per process).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError
from pipeline.core.types import ModelIdentity, Segment, Turn
from pipeline.io.hashing import file_sha256
from pipeline.stages.base import ProgressHook, RecordingState, Stage
from pipeline.stages.enrollment import CampplusEncoder, enroll
from pipeline.stages.naming_settings import EnrollmentConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeakerNaming:
    """How to name diarized speakers: by order of first speech, or by enrolled voices.

    Attributes
    ----------
    names : tuple of str
        ``--speaker-names``: names in order of first speech.
    enroll : dict
        ``--enroll``: ``{name: reference clip}``; matched voices win over ``names``.
    """

    names: tuple[str, ...] = ()
    enroll: Mapping[str, Path] = field(default_factory=dict)

    def __bool__(self) -> bool:
        """True when any name is asked for."""
        return bool(self.names or self.enroll)


def parse_speaker_names(text: str) -> tuple[str, ...]:
    """Split ``--speaker-names "Host,Guest"`` into names.

    Raises
    ------
    ConfigError
        A name is empty or repeated.
    """
    names = tuple(part.strip() for part in text.split(","))
    if any(not name for name in names):
        raise ConfigError(
            f"--speaker-names {text!r}: empty name; give names separated by commas, e.g. 'Host,Guest'"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--speaker-names {text!r}: {', '.join(repeated)} given twice; give each name once")
    return names


def parse_enrollments(items: Iterable[str]) -> dict[str, Path]:
    """Parse ``--enroll NAME=clip.wav`` options into ``{name: clip path}``.

    Raises
    ------
    ConfigError
        An item lacks ``=``, has an empty name or path, repeats a name, or its clip
        does not exist.
    """
    clips: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise ConfigError(f"--enroll {item!r}: expected NAME=clip.wav, e.g. --enroll 'Host=host.wav'")
        if name in clips:
            raise ConfigError(f"--enroll {item!r}: {name} enrolled twice; give one clip per name")
        if not Path(path).is_file():
            raise ConfigError(f"--enroll {item!r}: {path}: no such file; give a recording of {name}'s voice")
        clips[name] = Path(path)
    return clips


def speaker_order(turns: Iterable[Turn], segments: Iterable[Segment] = ()) -> tuple[str, ...]:
    """Speaker labels in order of first speech (ties: label order)."""
    first: dict[str, float] = {}
    starts: list[tuple[str | None, float]] = [(t.speaker, t.start) for t in turns]
    starts += [(w.speaker or s.speaker, w.start) for s in segments for w in s.words]
    starts += [(s.speaker, s.start) for s in segments if not s.words]
    for speaker, start in starts:
        if speaker is not None and start < first.get(speaker, float("inf")):
            first[speaker] = start
    return tuple(sorted(first, key=lambda s: (first[s], s)))


def name_speakers_by_order(
    names: Sequence[str],
    *,
    turns: Iterable[Turn],
    overlapped_turns: Iterable[Turn] = (),
    segments: Iterable[Segment] = (),
) -> dict[str, str]:
    """Map the first speaker to ``names[0]``, the second to ``names[1]``, and so on.

    Speakers beyond the names keep their labels; names beyond the speakers are
    unused (logged).

    Returns
    -------
    dict
        ``{diarization label: name}``, for ``rename_speakers``.
    """
    order = speaker_order([*turns, *overlapped_turns], segments)
    if len(names) > len(order):
        logger.warning(
            "%d speaker names given but %d speakers found; unused: %s",
            len(names),
            len(order),
            ", ".join(names[len(order) :]),
        )
    return dict(zip(order, names, strict=False))


def rename_speakers(
    mapping: Mapping[str, str],
    *,
    turns: Sequence[Turn],
    overlapped_turns: Sequence[Turn],
    segments: Sequence[Segment],
) -> tuple[tuple[Turn, ...], tuple[Turn, ...], tuple[Segment, ...]]:
    """Apply ``{label: name}`` to turns, overlapped turns, segments and their words.

    Labels missing from ``mapping`` are kept.

    Returns
    -------
    turns, overlapped_turns, segments
        Renamed copies, same order.

    Raises
    ------
    ConfigError
        Two speakers would end up with one name (e.g. a name equal to another
        speaker's unchanged label).
    """
    labels = set(speaker_order([*turns, *overlapped_turns], segments))
    owners: dict[str, str] = {}
    for label in sorted(labels):
        name = mapping.get(label, label)
        if name in owners:
            raise ConfigError(
                f"speaker names: {owners[name]} and {label} would both be called {name!r}; "
                "choose distinct names"
            )
        owners[name] = label

    def new(label: str | None) -> str | None:
        return None if label is None else mapping.get(label, label)

    return (
        tuple(replace(t, speaker=mapping.get(t.speaker, t.speaker)) for t in turns),
        tuple(replace(t, speaker=mapping.get(t.speaker, t.speaker)) for t in overlapped_turns),
        tuple(
            replace(
                s, speaker=new(s.speaker), words=tuple(replace(w, speaker=new(w.speaker)) for w in s.words)
            )
            for s in segments
        ),
    )


class NamingStage(Stage[dict[str, str]]):
    """Rename speakers: enrolled voices first, then ``names`` in order of first speech.

    Parameters
    ----------
    naming
        The names and enrollment clips asked for.
    enrollment
        Voice enrollment's thresholds (``enrollment.match_speakers``).
    models_dir
        Where the registry keeps CAM++.
    """

    name = "naming"
    needs = ("audio", "timeline", "turns", "overlapped_turns", "segments")
    provides = ("turns", "overlapped_turns", "segments")
    output_type = dict[str, str]

    def __init__(self, naming: SpeakerNaming, *, enrollment: EnrollmentConfig, models_dir: Path) -> None:
        self.naming = naming
        self.enrollment = enrollment
        self.models_dir = models_dir
        self.encoder: CampplusEncoder | None = None

    @property
    def cached(self) -> bool:
        return bool(self.naming.enroll)  # embedding voices takes seconds; naming by order, nothing

    def cache_key(self) -> dict[str, Any]:
        return {
            "names": list(self.naming.names),
            "enroll": {name: file_sha256(path) for name, path in sorted(self.naming.enroll.items())},
            "enrollment_threshold": self.enrollment.threshold,
            "enrollment_margin": self.enrollment.margin,
        }

    def load(self) -> None:
        if self.naming.enroll:
            self._encoder()

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        return self.encoder.identities if self.encoder is not None else ()

    def run(self, state: RecordingState, progress: ProgressHook) -> dict[str, str]:
        by_order = name_speakers_by_order(
            self.naming.names,
            turns=state.turns,
            overlapped_turns=state.overlapped_turns,
            segments=state.segments,
        )
        enrolled = (
            enroll(
                state.audio,
                state.turns,
                self.naming.enroll,
                threshold=self.enrollment.threshold,
                margin=self.enrollment.margin,
                encoder=self._encoder(),
                to_audio_time=state.timeline.to_kept,
            )
            if self.naming.enroll
            else {}
        )
        taken = set(enrolled.values())
        # Enrolled voices win; order-based names fill in for speakers no clip matched.
        kept = {
            label: name for label, name in by_order.items() if name not in taken and label not in enrolled
        }
        return {**kept, **enrolled}

    def apply(self, state: RecordingState, output: dict[str, str]) -> RecordingState:
        turns, overlapped, segments = rename_speakers(
            output, turns=state.turns, overlapped_turns=state.overlapped_turns, segments=state.segments
        )
        return replace(state, turns=turns, overlapped_turns=overlapped, segments=segments)

    def _encoder(self) -> CampplusEncoder:
        if self.encoder is None:
            self.encoder = CampplusEncoder(models_dir=self.models_dir)
        return self.encoder
