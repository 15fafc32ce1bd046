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

Before decoding, with an English-only model or a fixed language, a multilingual model
hears which language is spoken (``pipeline.stages.language``): another language is
warned about, or transcribed with that model in that language (``asr.language_check``).
The multilingual model loads at the first recording that needs it; when it is the ASR
model itself, that model listens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.heap import release_free_memory
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import LanguageDetection, ModelIdentity, Segment, Word
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.device import run_halving_batch
from pipeline.models.registry import pinned_identity
from pipeline.models.silero import CHUNK, SileroVad
from pipeline.models.whisper import LoadedWhisper, load_whisper
from pipeline.stages.base import ProgressHook, RecordingState, Stage
from pipeline.stages.language import (
    advice,
    expected_language,
    language_action,
    mean_language,
    needs_check,
    speech_windows,
)
from pipeline.stages.transcribe_settings import AsrConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transcript:
    """ASR output on the original timeline."""

    segments: tuple[Segment, ...]
    language: str
    detected: LanguageDetection | None = None


VAD_STRIDE = 4
"""Language ID finds speech with Silero on one 32 ms chunk in this many, chunks."""


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
        self.whisper = load_whisper(config, models_dir=models_dir)
        self.config = config
        self.models_dir = models_dir
        self.identity = self.whisper.identity
        self.batch_size = config.batch_size
        self._listener: LoadedWhisper | None = None
        self._vad: SileroVad | None = None
        logger.info("ASR %s on %s (%s)", config.model, self.whisper.device, self.whisper.compute_type)

    @property
    def device(self) -> str:
        """Where the ASR model runs: ``"cpu"`` or ``"cuda"``."""
        return self.whisper.device

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Models this stage runs: the ASR model, and the language-ID model it loads when it needs it."""
        if needs_check(self.config) and self.config.english_only:
            return (self.identity, pinned_identity(self.config.language_model, role="language-id"))
        return (self.identity,)

    def transcribe_kept(self, audio: np.ndarray, *, progress: ProgressHook | None = None) -> Transcript:
        """Transcribe 16 kHz mono float32 audio, shape ``(samples,)``; times are seconds from its start."""
        detected = self.hear_language(audio)
        whisper, language = self.whisper, self.config.language or ("en" if self.config.english_only else None)
        if detected is not None and detected.action == "switch":
            whisper, language = self._language_model(), detected.language
        elif audio.size > self.config.window * SAMPLE_RATE:
            # Not transcribing with it, and the audio is long enough for ASR's peak to
            # matter: give its memory back (129 min of talk: 166 MB held). Reloading costs
            # about 0.6 s, which short recordings (live rooms, calls) would pay each time.
            self._listener = None
        segments: list[Segment] = []
        for start, end in window_bounds(audio, sample_rate=SAMPLE_RATE, window=self.config.window):
            # Each window starts from the memory that is really in use, not from what
            # the heap kept of the last one: hours of windows would stack their leftovers.
            release_free_memory()
            offset = start / SAMPLE_RATE
            found, info = self._transcribe_window(whisper, audio[start:end], offset, language, progress)
            segments.extend(found)
            if language is None:  # the model detected: later windows keep the first window's language
                language = info.language
                detected = LanguageDetection(
                    info.language, float(info.language_probability), 0, whisper.identity.name
                )
        return Transcript(tuple(segments), language or "en", detected)

    def hear_language(self, audio: np.ndarray) -> LanguageDetection | None:
        """The language spoken in ``audio`` (16 kHz, shape ``(samples,)``), when ``asr.language_check`` asks.

        None when it does not ask or the audio has too little speech. Another language
        than the expected one is logged as a WARNING with the fix.
        """
        if not needs_check(self.config):
            return None
        speech = self._speech_vad().probabilities(audio, stride=VAD_STRIDE) > 0.5
        windows = speech_windows(speech, frame=VAD_STRIDE * CHUNK / SAMPLE_RATE)
        if not windows:
            return None
        listener = self._language_model()
        heard = [
            listener.model.detect_language(audio[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)])[2]
            for a, b in windows
        ]
        language, probability = mean_language(heard)
        action = language_action(self.config, language, probability)
        detection = LanguageDetection(language, probability, len(windows), listener.identity.name, action)
        if action != "none":
            logger.warning(advice(self.config, detection))
        else:
            logger.info(
                "ASR: language %s (%.2f), expected %s", language, probability, expected_language(self.config)
            )
        return detection

    def _language_model(self) -> LoadedWhisper:
        """The multilingual model that listens: the ASR model, else ``asr.language_model`` (loaded once)."""
        if not self.config.english_only:
            return self.whisper
        if self._listener is None:
            config = self.config.model_copy(update={"model": self.config.language_model})
            self._listener = load_whisper(config, models_dir=self.models_dir)
        return self._listener

    def _speech_vad(self) -> SileroVad:
        if self._vad is None:
            self._vad = SileroVad(models_dir=self.models_dir)
        return self._vad

    def _transcribe_window(
        self,
        whisper: LoadedWhisper,
        audio: np.ndarray,
        offset: float,
        language: str | None,
        progress: ProgressHook | None,
    ) -> tuple[list[Segment], Any]:
        """Segments of one window, and faster-whisper's ``TranscriptionInfo`` (language, probability)."""
        options = dict(
            language=language,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=self.config.vad_filter,
        )
        if whisper.batched is None:
            raw, info = whisper.model.transcribe(audio, condition_on_previous_text=False, **options)
            return _collect(raw, offset, len(audio) / SAMPLE_RATE, progress), info
        batched = whisper.batched

        def decode(batch_size: int) -> tuple[list[Segment], Any]:
            raw, info = batched.transcribe(audio, batch_size=batch_size, without_timestamps=False, **options)
            return _collect(raw, offset, len(audio) / SAMPLE_RATE, progress), info

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
    return Transcript(restore_original_time(kept.segments, timeline), kept.language, kept.detected)


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
    provides = ("segments", "language", "language_detected")
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
        return replace(
            state, segments=output.segments, language=output.language, language_detected=output.detected
        )
