"""Which language is spoken, before transcribing: the decisions, on plain numbers.

An English-only model (``tiny.en``) turns French into confident English nonsense, and
a fixed ``asr.language`` does the same to any other language. So when the model is
English-only or the language is fixed, a multilingual Whisper first hears a few speech
windows (``speech_windows``: the 30 s with the most speech in each of up to 3 equal
parts of the kept audio), its language probabilities are averaged
(``mean_language``), and ``language_action`` decides: nothing, warn, or switch to the
multilingual model in the language heard (``asr.language_check``). The ASR stage
(``pipeline.stages.transcribe``) runs the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.core.types import LanguageAction, LanguageDetection
from pipeline.stages.transcribe_settings import AsrConfig

WINDOW = 30.0
"""What Whisper hears at once, seconds."""
WINDOWS = 3
"""Most windows heard per recording: one per equal part of the kept audio."""
MIN_SPEECH = 3.0
"""Speech a window needs to be heard, seconds."""


def needs_check(config: AsrConfig) -> bool:
    """Language ID runs before transcribing: the check is on and the model cannot follow the speech.

    A multilingual model left to detect (``language: null``) follows any language by
    itself; its own detection is reported instead.
    """
    return config.language_check != "off" and (config.english_only or config.language is not None)


def expected_language(config: AsrConfig) -> str:
    """The language the transcript will be in unless the check acts."""
    return config.language or "en"


def speech_windows(
    speech: np.ndarray,
    *,
    frame: float,
    window: float = WINDOW,
    count: int = WINDOWS,
    min_speech: float = MIN_SPEECH,
) -> list[tuple[float, float]]:
    """Up to ``count`` windows with the most speech, one in each of ``count`` equal parts of the audio.

    Parameters
    ----------
    speech
        True where a frame is speech, shape ``(frames,)``.
    frame
        Frame length, seconds.
    window
        Window length, seconds (the whole audio when shorter).
    count
        Parts of the audio, each giving at most one window.
    min_speech
        Speech a window needs, seconds.

    Returns
    -------
    list of (start, end)
        Seconds from the audio's start, in time order, never overlapping.
    """
    n = speech.size
    width = min(n, max(1, round(window / frame)))
    if n == 0:
        return []
    sums = np.concatenate([[0], np.cumsum(speech, dtype=np.int64)])
    scores = sums[width:] - sums[:-width]  # speech frames of the window starting at each frame
    chosen: list[tuple[float, float]] = []
    end = -1
    for part in np.array_split(np.arange(scores.size), count):
        if part.size == 0:
            continue
        start = int(part[np.argmax(scores[part])])
        if start >= end and scores[start] * frame >= min_speech:
            end = start + width
            chosen.append((start * frame, end * frame))
    return chosen


def mean_language(heard: Sequence[Sequence[tuple[str, float]]]) -> tuple[str, float]:
    """The most probable language and its probability, averaged over windows.

    Parameters
    ----------
    heard
        Per window, (language code, probability) pairs (a language missing from a
        window counts 0 there).

    Returns
    -------
    language, probability
        Probability in [0, 1].
    """
    totals: dict[str, float] = {}
    for window in heard:
        for language, probability in window:
            totals[language] = totals.get(language, 0.0) + float(probability)
    language = max(totals, key=totals.__getitem__)
    return language, totals[language] / len(heard)


def language_action(config: AsrConfig, language: str, probability: float) -> LanguageAction:
    """The check's action (warn, switch) on another language heard surely enough, else ``"none"``."""
    if config.language_check == "off" or language == expected_language(config):
        return "none"
    if probability < config.language_threshold:
        return "none"
    return "switch" if config.language_check == "switch" else "warn"


def advice(config: AsrConfig, detection: LanguageDetection) -> str:
    """The warning for a recording in another language: what was heard, what it means, the fix."""
    heard = (
        f"the speech sounds like {detection.language!r} (probability {detection.probability:.2f} over "
        f"{detection.windows} window(s) of speech), not {expected_language(config)!r}"
    )
    if detection.action == "switch":
        return (
            f"ASR: {heard}; transcribing with {detection.model} in {detection.language!r} "
            "(asr.language_check: switch)"
        )
    fix = f"--language {detection.language}"
    if config.english_only:
        fix = f"--model {config.language_model} {fix}"
    return (
        f"ASR: {heard}; {config.model} will write nonsense. Rerun with `{fix}` "
        "(or set asr.language_check: switch)"
    )
