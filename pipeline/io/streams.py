"""Which audio stream of a file holds the speech: a cheap level measure on a few windows of each.

A video or a multi-track recording may carry several audio streams (a silent
guide track first, the room second; a commentary track; one language per track).
No model is run here (the io layer sits below the models): each stream is decoded
in a few short windows spread over the file, and the one with the most speech-like
32 ms frames wins: energy in the speech band (300-3400 Hz) above -60 dBFS and at
least 10 dB over the stream's own quietest frames (speech comes and goes between
syllables; a steady tone or hiss does not). The mean speech-band power breaks
ties, so a silent stream (no power at all) never wins over one with signal.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.io.frames import MonoResampler

if TYPE_CHECKING:
    import av

_WINDOWS = 5  # windows per stream, spread over the file
_WINDOW_SECONDS = 4.0
_FRAME = 512  # samples per analysis frame (32 ms)
_BAND = (300.0, 3400.0)  # speech band, Hz
_ACTIVE_POWER = 1e-6  # mean speech-band power of an active frame (-60 dBFS: quiet speech counts)
_OVER_FLOOR = 10.0  # an active frame's power over the stream's 10th percentile (10 dB)


@dataclass(frozen=True, order=True)
class StreamActivity:
    """How much speech-like signal the sampled windows of one stream hold (compares by both, in order).

    Attributes
    ----------
    active : float
        Fraction of 32 ms frames with speech-band power above -60 dBFS and 10 dB over
        the stream's 10th percentile, in [0, 1].
    power : float
        Mean speech-band power over all sampled frames (full scale 1.0).
    """

    active: float
    power: float

    @property
    def has_signal(self) -> bool:
        """True when the speech band holds more than -60 dBFS on average (speech, music, a tone)."""
        return self.power > _ACTIVE_POWER


def stream_activity(
    container: av.container.InputContainer, stream: av.AudioStream, duration: float, *, sample_rate: int
) -> StreamActivity:
    """Speech-band activity of ``stream`` on ``_WINDOWS`` windows of 4 s spread over ``duration`` seconds.

    The windows are decoded to mono at ``sample_rate`` Hz (the decoder's ``SAMPLE_RATE``).
    A stream that fails to decode counts as silent.
    """
    import av

    try:
        signal = np.concatenate(
            [_window(container, stream, *window, sample_rate=sample_rate) for window in _windows(duration)]
        )
    except av.FFmpegError:
        return StreamActivity(0.0, 0.0)
    return band_activity(signal, sample_rate=sample_rate)


def band_activity(signal: np.ndarray, *, sample_rate: int) -> StreamActivity:
    """Speech-band activity of a mono signal at ``sample_rate`` Hz, shape ``(samples,)``."""
    count = signal.size // _FRAME
    if count == 0:
        return StreamActivity(0.0, 0.0)
    frames = np.nan_to_num(signal[: count * _FRAME].astype(np.float64)).reshape(count, _FRAME)
    window = np.hanning(_FRAME)
    spectrum = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    freqs = np.fft.rfftfreq(_FRAME, 1.0 / sample_rate)
    in_band = (freqs >= _BAND[0]) & (freqs <= _BAND[1])
    # One-sided spectrum, windowed: Parseval gives the band's mean power per sample.
    power = 2.0 * spectrum[:, in_band].sum(axis=1) / (_FRAME * float(np.sum(window**2)))
    active = (power > _ACTIVE_POWER) & (power > _OVER_FLOOR * np.percentile(power, 10))
    return StreamActivity(float(np.mean(active)), float(power.mean()))


def _windows(duration: float) -> list[tuple[float, float]]:
    """(start, length) of each window, seconds: one from 0 for a short (or unknown-length) file."""
    if duration <= _WINDOWS * _WINDOW_SECONDS:
        return [(0.0, _WINDOWS * _WINDOW_SECONDS)]
    step = duration / _WINDOWS
    return [(step * (i + 0.5) - _WINDOW_SECONDS / 2, _WINDOW_SECONDS) for i in range(_WINDOWS)]


def _window(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    start: float,
    seconds: float,
    *,
    sample_rate: int,
) -> np.ndarray:
    """Up to ``seconds`` of ``stream`` from ``start`` seconds, mono at ``sample_rate`` Hz."""
    import av

    if stream.time_base is not None:
        with contextlib.suppress(av.FFmpegError):  # unseekable: measure from where the reading is
            container.seek(int(start / stream.time_base), stream=stream)  # to the keyframe at or before
    resample = MonoResampler(sample_rate)
    pieces: list[np.ndarray] = []
    wanted = int(seconds * sample_rate)
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError:  # a damaged packet: the window does without it
            continue
        for frame in frames:
            if frame.time is None or frame.time + frame.samples / frame.sample_rate > start:
                pieces.extend(resample(frame))
        if sum(piece.size for piece in pieces) >= wanted:
            break
    return np.concatenate(pieces)[:wanted] if pieces else np.zeros(0, dtype=np.float32)
