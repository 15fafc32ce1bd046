"""What was said: the ASR stage, faster-whisper with word timings, mapped to original time.

faster-whisper is loaded by ``pipeline.models.whisper`` and called only here. The
model sees the kept audio (music stripped); every word comes back on the original
recording's timeline, and a segment that spans a cut is split there.

Decoding is batched by default (``AsrConfig.batched``, faster-whisper's
``BatchedInferencePipeline``): Silero VAD cuts the audio into speech chunks of at
most 30 s, decoded ``batch_size`` at a time. Measured on 4 minutes of real speech
(tiny.en, 2 CPU cores), this took 10-13 s against 14-25 s for the sequential path,
whose time swings with where its 30 s windows fall (a 0.3 s shift of the audio
moves them, and with them Whisper's temperature fallbacks).

Long audio (hours) is transcribed in windows of at most ``AsrConfig.window`` seconds,
each cut at the quietest moment near its end, so host and GPU memory stay bounded
whatever the length. On the GPU a window that runs out of memory is decoded again
at half the batch size (logged), and the smaller batch is kept for later windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.config import AsrConfig
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import ModelIdentity, Segment, Word
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.device import run_halving_batch
from pipeline.models.whisper import load_whisper
from pipeline.stages.base import ProgressHook, RecordingState, Stage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transcript:
    """ASR output on the original timeline."""

    segments: tuple[Segment, ...]
    language: str


class Transcriber:
    """A loaded faster-whisper model (load once, transcribe many recordings).

    Raises
    ------
    ModelError
        The model is missing or fails its checksum.
    ConfigError
        ``device: cuda`` was asked for and CTranslate2 cannot use the GPU.
    """

    def __init__(self, config: AsrConfig, *, models_dir: Path | None = None) -> None:
        whisper = load_whisper(config, models_dir=models_dir)
        self.config = config
        self.identity = whisper.identity
        self.model = whisper.model
        self.batched = whisper.batched
        self.device = whisper.device
        self.compute_type = whisper.compute_type
        self.batch_size = config.batch_size
        logger.info("ASR %s on %s (%s)", config.model, self.device, self.compute_type)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Models this stage runs."""
        return (self.identity,)

    def transcribe_kept(self, audio: np.ndarray, *, progress: ProgressHook | None = None) -> Transcript:
        """Transcribe 16 kHz mono float32 audio, shape ``(samples,)``; times are seconds from its start."""
        language = self.config.language or ("en" if self.config.model.endswith(".en") else None)
        segments: list[Segment] = []
        for start, end in window_bounds(audio, sample_rate=SAMPLE_RATE, window=self.config.window):
            offset = start / SAMPLE_RATE
            found, detected = self._transcribe_window(audio[start:end], offset, language, progress)
            segments.extend(found)
            # Later windows keep the first window's language: one recording, one language.
            language = language or detected
        return Transcript(tuple(segments), language or "en")

    def _transcribe_window(
        self, audio: np.ndarray, offset: float, language: str | None, progress: ProgressHook | None
    ) -> tuple[list[Segment], str]:
        options = dict(
            language=language,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=self.config.vad_filter,
        )
        if self.batched is None:
            raw, info = self.model.transcribe(audio, condition_on_previous_text=False, **options)
            return _collect(raw, offset, len(audio) / SAMPLE_RATE, progress), info.language
        batched = self.batched

        def decode(batch_size: int) -> tuple[list[Segment], str]:
            raw, info = batched.transcribe(audio, batch_size=batch_size, without_timestamps=False, **options)
            return _collect(raw, offset, len(audio) / SAMPLE_RATE, progress), info.language

        result, self.batch_size = run_halving_batch(
            decode, self.batch_size, what=f"ASR window at {offset:.0f} s"
        )
        return result


def window_bounds(
    audio: np.ndarray, *, sample_rate: int, window: float, search: float = 30.0, frame: float = 0.1
) -> list[tuple[int, int]]:
    """Cut audio into windows of at most ``window`` seconds, each ending at a quiet moment.

    Each cut lies in the ``frame``-long stretch of least energy within the last
    ``search`` seconds of its window, so a word is rarely cut in two.

    Parameters
    ----------
    audio
        Mono samples, shape ``(samples,)``.
    sample_rate
        Samples per second.
    window
        Longest window, seconds (> ``search``).
    search
        Span before each window's end searched for the quietest frame, seconds.
    frame
        Energy frame, seconds.

    Returns
    -------
    list of (start, end)
        Sample indices; consecutive, covering the whole audio (one pair for short audio).
    """
    total = len(audio)
    longest = int(window * sample_rate)
    span = min(int(search * sample_rate), longest // 2)
    hop = max(1, int(frame * sample_rate))
    bounds: list[tuple[int, int]] = []
    start = 0
    while total - start > longest:
        lo = start + longest - span
        frames = audio[lo : lo + span - span % hop].astype(np.float64).reshape(-1, hop)
        cut = lo + int(np.argmin(np.einsum("ij,ij->i", frames, frames))) * hop + hop // 2
        bounds.append((start, cut))
        start = cut
    bounds.append((start, total))
    return bounds


def _collect(raw, offset: float, length: float, progress: ProgressHook | None) -> list[Segment]:  # type: ignore[no-untyped-def]
    """Segments of a window ``length`` seconds long starting at ``offset``, times clipped to it.

    Decoding happens while ``raw`` (a generator) is iterated. Batched decoding can
    time the last words of the audio past its end: they are clipped to the window.
    """

    def at(t: float) -> float:
        return offset + min(max(float(t), 0.0), length)

    segments = []
    for seg in raw:
        words = tuple(
            Word(start=at(w.start), end=at(w.end), text=w.word, probability=float(w.probability))
            for w in (seg.words or ())
        )
        segments.append(Segment(start=at(seg.start), end=at(seg.end), text=seg.text.strip(), words=words))
        if progress is not None:
            progress(at(seg.end))
    return segments


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


class AsrStage(Stage[Transcript]):
    """The ASR stage: the kept audio transcribed, words on the original timeline.

    Parameters
    ----------
    config
        ``AsrConfig``; all of it but ``cpu_threads`` (how fast, not what) is its cache key.
    models_dir
        Where registry models are joined or pulled.
    """

    name = "asr"
    needs = ("audio", "timeline")
    provides = ("segments", "language")
    output_type = Transcript
    progress_label = "transcribe"

    def __init__(self, config: AsrConfig, *, models_dir: Path) -> None:
        self.config = config
        self.models_dir = models_dir
        self.transcriber: Transcriber | None = None

    @property
    def cached(self) -> bool:
        return True

    def cache_key(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json", exclude={"cpu_threads"})

    def load(self) -> None:
        self._loaded()

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        return self.transcriber.identities if self.transcriber is not None else ()

    def run(self, state: RecordingState, progress: ProgressHook) -> Transcript:
        return transcribe(self._loaded(), state.audio, state.timeline, progress=progress)

    def _loaded(self) -> Transcriber:
        if self.transcriber is None:
            self.transcriber = Transcriber(self.config, models_dir=self.models_dir)
        return self.transcriber

    def apply(self, state: RecordingState, output: Transcript) -> RecordingState:
        return replace(state, segments=output.segments, language=output.language)
