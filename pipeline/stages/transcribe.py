"""What was said: faster-whisper with word timings, mapped to original time.

faster-whisper is imported only here. The model sees the kept audio (music
stripped); every word comes back on the original recording's timeline, and a
segment that spans a cut is split there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import AsrConfig
from pipeline.device import resolve_ctranslate2_device
from pipeline.models import resolve_model
from pipeline.timeline import KeptTimeline
from pipeline.types import ModelIdentity, Segment, Word

logger = logging.getLogger(__name__)

ProgressHook = Callable[[float], None]
"""Called with kept-audio seconds done so far."""


@dataclass(frozen=True)
class Transcript:
    """ASR output on the original timeline."""

    segments: tuple[Segment, ...]
    language: str


class Transcriber:
    """A loaded faster-whisper model (load once, transcribe many recordings)."""

    def __init__(self, config: AsrConfig, *, models_dir: Path) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        path, self.identity = resolve_model(config.model, models_dir=models_dir)
        self.device = resolve_ctranslate2_device(config.device)
        self.compute_type = config.compute_type or ("float16" if self.device == "cuda" else "int8")
        self.config = config
        self.model = WhisperModel(
            str(path), device=self.device, compute_type=self.compute_type, cpu_threads=config.cpu_threads
        )
        # Batched decoding pays off on a GPU; on the CPU the sequential path is as fast.
        self.batched = BatchedInferencePipeline(self.model) if self.device == "cuda" else None
        logger.info("ASR %s on %s (%s)", config.model, self.device, self.compute_type)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Models this stage runs."""
        return (self.identity,)

    def transcribe_kept(self, audio: np.ndarray, *, progress: ProgressHook | None = None) -> Transcript:
        """Transcribe 16 kHz mono float32 audio; times are seconds from its start."""
        language = self.config.language or ("en" if self.config.model.endswith(".en") else None)
        options = dict(
            language=language,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=self.config.vad_filter,
        )
        if self.batched is not None:
            raw, info = self.batched.transcribe(audio, batch_size=self.config.batch_size, **options)
        else:
            raw, info = self.model.transcribe(audio, condition_on_previous_text=False, **options)
        segments = []
        for seg in raw:  # a generator: decoding happens while we iterate
            words = tuple(
                Word(start=float(w.start), end=float(w.end), text=w.word, probability=float(w.probability))
                for w in (seg.words or ())
            )
            segments.append(Segment(start=float(seg.start), end=float(seg.end), text=seg.text.strip(), words=words))
            if progress is not None:
                progress(float(seg.end))
        return Transcript(tuple(segments), info.language)


def transcribe(
    transcriber: Transcriber,
    audio: np.ndarray,
    timeline: KeptTimeline,
    *,
    progress: ProgressHook | None = None,
) -> Transcript:
    """Transcribe kept audio and return segments in original time."""
    if audio.size == 0:
        return Transcript((), transcriber.config.language or "en")
    kept = transcriber.transcribe_kept(audio, progress=progress)
    return Transcript(restore_original_time(kept.segments, timeline), kept.language)


def restore_original_time(segments: tuple[Segment, ...], timeline: KeptTimeline) -> tuple[Segment, ...]:
    """Map kept-time segments to original time, splitting a segment at each cut it spans.

    A word that straddles a cut is kept in the piece holding most of it and clipped
    to that piece, so no word ever lies in a stripped region.
    """
    if timeline.is_identity:
        return segments
    out: list[Segment] = []
    for segment in segments:
        if not segment.words:
            for start, end in timeline.interval_to_original(segment.start, segment.end)[:1]:
                out.append(Segment(start, end, segment.text))
            continue
        groups: dict[tuple[float, float], list[Word]] = {}
        for word in segment.words:
            pieces = timeline.interval_to_original(word.start, word.end)
            if not pieces:  # zero-length word exactly on a cut
                t = timeline.to_original(word.start)
                pieces = [(t, t)]
            start, end = max(pieces, key=lambda p: p[1] - p[0])
            piece = _piece_of(timeline, start)
            groups.setdefault(piece, []).append(Word(start, end, word.text, word.probability, word.speaker))
        for words in groups.values():
            out.append(
                Segment(words[0].start, words[-1].end, "".join(w.text for w in words).strip(), tuple(words))
            )
    return tuple(sorted(out, key=lambda s: s.start))


def _piece_of(timeline: KeptTimeline, t: float) -> tuple[float, float]:
    return next((p for p in timeline.pieces if p[0] <= t <= p[1]), timeline.pieces[-1])
