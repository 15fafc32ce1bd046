"""The stage contract: what every step of a recording's analysis declares and does.

A stage declares

- ``name``: its key in ``result.timings`` and in the stage cache;
- ``needs`` and ``provides``: the fields of ``RecordingState`` it reads and writes
  (the runner checks at start that each need is provided by the decoded recording
  or an earlier stage);
- ``cache_key()``: the settings that change its output (config fields, model names,
  inputs from outside the recording such as enrollment clips, by checksum). Those
  of every stage, together, are what the batch ledger hashes as a run's config;
- ``identities``: the models it loaded (name, source, sha256), for ``result.models``
  and, for a cached stage, its cache entry;
- ``load()`` (models, once per process), ``run()`` (compute the output) and
  ``apply()`` (return the state with the output in it).

A cached stage (``cached``: model stages, seconds to hours of work) has its output
kept under the recording's content hash, the fingerprint of what it needs, its key
and its models' checksums (``pipeline.run.cache``); the others are pure and cheap.
Every time a stage writes into the state is in seconds on the ORIGINAL recording.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from pipeline.core.errors import StageError
from pipeline.core.serialize import to_jsonable
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import (
    ConversationStats,
    FloorTurn,
    LanguageDetection,
    ModelIdentity,
    RecordingResult,
    Region,
    Segment,
    SpeakerStats,
    Turn,
)

T = TypeVar("T")

ProgressHook = Callable[[float], None]
"""Called by a stage with the seconds of its audio done so far."""


@dataclass(frozen=True, eq=False)
class RecordingState:
    """What is known about one recording so far; each stage returns a copy with its part added.

    Attributes
    ----------
    source : Path
        The file decoded (a local copy, for a batch's URLs).
    content_sha256 : str
        Hash of its bytes.
    duration : float
        Length of the original recording, seconds.
    audio : np.ndarray
        16 kHz mono float32, shape ``(samples,)``: the whole recording, then (once the
        hold music is stripped) only the kept audio.
    timeline : KeptTimeline
        Which pieces of the original ``audio`` holds (all of it until stripping).
    music, stripped : tuple of Region
        Music found; the part of it removed before ASR and diarization.
    segments : tuple of Segment
        ASR utterances with words; speaker-attributed after alignment.
    language : str or None
        Language of the transcript.
    language_detected : LanguageDetection or None
        The spoken language as heard by language identification.
    turns, overlapped_turns : tuple of Turn
        Exclusive and regular (overlapping) diarization.
    speakers : tuple of SpeakerStats
    conversation : ConversationStats or None
    floor_turns : tuple of FloorTurn
        The metrics: per speaker, whole recording, classified turns.
    audio_stream, audio_streams : int
        The audio stream decoded (0-based) among the file's audio streams; how many it has.
    """

    source: Path
    content_sha256: str
    duration: float
    audio: np.ndarray
    timeline: KeptTimeline
    music: tuple[Region, ...] = ()
    stripped: tuple[Region, ...] = ()
    segments: tuple[Segment, ...] = ()
    language: str | None = None
    language_detected: LanguageDetection | None = None
    turns: tuple[Turn, ...] = ()
    overlapped_turns: tuple[Turn, ...] = ()
    speakers: tuple[SpeakerStats, ...] = ()
    conversation: ConversationStats | None = None
    floor_turns: tuple[FloorTurn, ...] = ()
    audio_stream: int = 0
    audio_streams: int = 1

    DECODED: ClassVar[tuple[str, ...]] = (
        "source",
        "content_sha256",
        "duration",
        "audio",
        "timeline",
        "audio_stream",
        "audio_streams",
    )
    """Fields set before the first stage runs."""

    def fingerprint(self, names: Iterable[str]) -> dict[str, Any]:
        """JSON-ready data that pins the values of the fields ``names`` (part of a cache key).

        The recording's hash and the audio stream decoded stand for its audio and
        duration (stream 0 adds nothing: keys written before streams were chosen stay
        valid); the audio a stage sees is that recording cut at the timeline's kept
        pieces; ``source`` (a path) never changes an output.
        """
        data: dict[str, Any] = {"content_sha256": self.content_sha256}
        if self.audio_stream:
            data["audio_stream"] = self.audio_stream
        for name in names:
            if name == "audio":
                data["kept"] = self.timeline.pieces
            elif name not in ("source", "content_sha256", "duration", "audio_stream", "audio_streams"):
                data[name] = to_jsonable(getattr(self, name))
        return data

    def result(
        self, *, config: dict[str, Any], models: tuple[ModelIdentity, ...], timings: dict[str, float]
    ) -> RecordingResult:
        """The finished ``RecordingResult`` (after every stage has run).

        Raises
        ------
        StageError
            The transcript or the metrics are missing: a stage list without ASR or metrics.
        """
        if self.conversation is None or self.language is None:
            raise StageError(
                f"{self.source}: the stages left no transcript language or metrics; please report it"
            )
        return RecordingResult(
            source=str(self.source),
            duration=self.duration,
            content_sha256=self.content_sha256,
            music=self.music,
            stripped=self.stripped,
            segments=self.segments,
            turns=self.turns,
            overlapped_turns=self.overlapped_turns,
            speakers=self.speakers,
            conversation=self.conversation,
            language=self.language,
            floor_turns=self.floor_turns,
            language_detected=self.language_detected,
            audio_stream=self.audio_stream,
            audio_streams=self.audio_streams,
            config=config,
            models=models,
            timings=timings,
        )


STATE_FIELDS = frozenset(f.name for f in fields(RecordingState))


class Stage(ABC, Generic[T]):
    """One step of the analysis of a recording (see the module docstring).

    Subclasses set the class attributes and implement ``cache_key``, ``run`` and ``apply``;
    model stages also ``load``, ``identities`` and ``cached``.
    """

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]]
    provides: ClassVar[tuple[str, ...]]
    output_type: ClassVar[Any] = None
    """Type of ``run``'s output, to rebuild it from the cache (cached stages)."""
    progress_label: ClassVar[str | None] = None
    """Name of the progress bar over the stage's audio; None for instant stages."""

    @property
    def cached(self) -> bool:
        """Whether the runner keeps this stage's output in the stage cache."""
        return False

    @abstractmethod
    def cache_key(self) -> dict[str, Any]:
        """JSON-ready settings that change this stage's output (besides its inputs and models)."""

    def load(self) -> None:
        """Load the stage's models; the runner calls it once per process, before any recording.

        Raises
        ------
        ModelError
            A model is missing or fails its checksum.
        """

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """The models this stage runs (after ``load``)."""
        return ()

    @abstractmethod
    def run(self, state: RecordingState, progress: ProgressHook) -> T:
        """Compute this stage's output from the fields it ``needs``."""

    @abstractmethod
    def apply(self, state: RecordingState, output: T) -> RecordingState:
        """``state`` with ``output`` in the fields this stage ``provides``."""


def check_order(stages: Iterable[Stage[Any]]) -> None:
    """Raise ``StageError`` unless every stage's needs are provided before it runs."""
    available = set(RecordingState.DECODED)
    for stage in stages:
        missing = [name for name in stage.needs if name not in available]
        unknown = [name for name in (*stage.needs, *stage.provides) if name not in STATE_FIELDS]
        if missing or unknown:
            raise StageError(
                f"stage {stage.name!r}: needs {', '.join(missing or unknown)}, which "
                + ("no stage before it provides" if missing else "the recording state does not have")
            )
        available.update(stage.provides)
