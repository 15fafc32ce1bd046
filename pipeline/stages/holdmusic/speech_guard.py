"""Hold-music speech guard: Silero VAD moves a region's edges off speech and cuts out live speech.

Audio is 16 kHz mono (``SAMPLE_RATE``); every time is seconds on it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation

from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.silero import CHUNK as _VAD_CHUNK
from pipeline.models.silero import SileroVad

_DIP_PAD = 0.5  # seconds of audio around a repetition dip that Silero sees
_SPEECH_MARGIN = 0.2  # seconds kept either side of speech found inside a loop
_ECHO_SLACK = 3  # Silero chunks (32 ms) a loop's voice may shift by from one repeat to the next


def trim_speech_edges(
    audio: np.ndarray,
    start: float,
    end: float,
    *,
    vad: SileroVad,
    threshold: float,
    search: float,
    period: float | None = None,
) -> tuple[float, float]:
    """Move a region's edges off speech: Silero runs on ``search`` seconds inside each edge.

    Speech found there (probability above ``threshold``) is assumed to reach the
    edge, so the edge moves inward to just past it. In a loop (``period`` given,
    seconds) speech also heard one period further inside is the loop's own voice
    (a vocal, a recorded announcement), not someone talking, and stays in. The
    repeat need only reach half of ``threshold``: a few samples' shift moves
    Silero's probability on borderline music.

    Returns
    -------
    start, end : float
        Seconds, ``start <= end``.
    """
    sr = SAMPLE_RATE
    step = _VAD_CHUNK / sr

    def live_speech(w0: float, w1: float, inward: float) -> np.ndarray:
        speech = vad.probabilities(audio[int(w0 * sr) : int(w1 * sr)]) > threshold
        if period is None or not speech.any() or not start <= w0 + inward <= w1 + inward <= end:
            return speech
        echo = vad.probabilities(audio[int((w0 + inward) * sr) : int((w1 + inward) * sr)]) > threshold / 2
        echo = np.resize(binary_dilation(echo, iterations=_ECHO_SLACK), speech.size)
        return speech & ~echo

    head = live_speech(start, min(end, start + search), period or 0.0)
    if head.any():
        start = start + (np.flatnonzero(head)[-1] + 1) * step
    w0 = int(max(start, end - search) * sr) / sr  # on a sample, so chunk k starts at w0 + k * step
    tail = live_speech(w0, end, -(period or 0.0))
    if tail.any():
        end = w0 + np.flatnonzero(tail)[0] * step
    return start, max(start, end)


def speech_in_dips(
    audio: np.ndarray,
    dips: list[tuple[float, float]],
    *,
    region: tuple[float, float],
    period: float,
    vad: SileroVad,
    threshold: float,
    pad: float = _DIP_PAD,
) -> list[tuple[float, float]]:
    """Live speech Silero finds in and around the dips of a loop's repetition, seconds.

    Parameters
    ----------
    audio
        Shape ``(samples,)``, 16 kHz.
    dips
        ``(start, end)`` seconds where the audio stops repeating.
    region, period
        The loop's ``(start, end)`` and period, seconds: speech heard at the same
        place one period away belongs to the loop and is not reported.
    vad, threshold
        Silero and the probability above which a chunk is speech.
    pad
        Audio checked either side of a dip, seconds (Silero needs context, and an
        utterance blurs the repetition of less than its whole length).

    Returns
    -------
    list of (float, float)
        Speech spans, seconds, widened by ``_SPEECH_MARGIN`` each side.
    """
    sr = SAMPLE_RATE
    step = _VAD_CHUNK / sr
    duration = audio.size / sr
    found = []

    def speech_chunks(w0: float, w1: float) -> np.ndarray:
        return np.flatnonzero(vad.probabilities(audio[int(w0 * sr) : int(w1 * sr)]) > threshold)

    for d0, d1 in dips:
        w0, w1 = max(0.0, d0 - pad), min(duration, d1 + pad)
        hits = speech_chunks(w0, w1)
        # The utterance may run on past the window while the loop still half-repeats
        # under it: follow it outward while Silero hears speech at the window's border.
        while hits.size and hits[0] * step < _SPEECH_MARGIN and w0 > 0:
            wider = speech_chunks(max(0.0, w0 - 2 * pad), w1)
            if wider.size == 0:
                break
            w0, hits = max(0.0, w0 - 2 * pad), wider
        while hits.size and (w1 - w0) - (hits[-1] + 1) * step < _SPEECH_MARGIN and w1 < duration:
            wider = speech_chunks(w0, min(duration, w1 + 2 * pad))
            if wider.size == 0:
                break
            w1, hits = min(duration, w1 + 2 * pad), wider
        if hits.size == 0:
            continue
        # A loop may hold speech-like sound of its own (vocals, a voice sample): then the
        # same spot one period away sounds like speech too, and it is not live speech.
        shift = period if w1 + period <= region[1] else -period
        if region[0] <= w0 + shift and speech_chunks(w0 + shift, w1 + shift).size:
            continue
        found.append((w0 + hits[0] * step - _SPEECH_MARGIN, w0 + (hits[-1] + 1) * step + _SPEECH_MARGIN))
    return found


def subtract_intervals(
    span: tuple[float, float], cuts: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The parts of ``span`` outside every ``cut`` (all ``(start, end)`` seconds), in order."""
    pieces = []
    cursor, end = span
    for c0, c1 in sorted(cuts):
        if c0 > cursor:
            pieces.append((cursor, min(c0, end)))
        cursor = max(cursor, c1)
    if cursor < end:
        pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if b > a]
