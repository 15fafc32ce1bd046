"""Signal helpers of the generators: levels, the noise floor, seeded synthesized music, loops, codecs.

Every generated recording sits on a noise floor (silence is never digital zero) and
sets each part's level with :func:`at_level`. All audio is 16 kHz mono float32.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal, cast

import numpy as np
from scipy.signal import butter, sosfilt

from pipeline.io.audio import SAMPLE_RATE

Codec = Literal["mp3", "aac"]

NOISE_FLOOR_DB = -62.0
"""Room/line noise under the hold-music scenarios, live rooms and speed-up recordings, dBFS RMS."""

CONVERSATION_NOISE_FLOOR_DB = -60.0
"""Line noise under the conversations (calls, interviews, long talks), dBFS RMS. 2 dB above
:data:`NOISE_FLOOR_DB` for no reason of substance; kept apart so that every recording the
published figures were measured on stays sample for sample what it was."""

_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 3, 5, 7, 10))  # major, minor, pentatonic


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x`` (linear), never exactly 0."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def at_level(x: np.ndarray, db: float) -> np.ndarray:
    """``x`` scaled to an RMS level of ``db`` dBFS, float32."""
    return (x * (10 ** (db / 20) / rms(x))).astype(np.float32)


def noise_floor(rng: np.random.Generator, samples: int, db: float) -> np.ndarray:
    """White noise at ``db`` dBFS RMS, shape ``(samples,)``, float32."""
    return rng.standard_normal(samples).astype(np.float32) * np.float32(10 ** (db / 20))


def merge_intervals(intervals: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Sort and merge overlapping or touching ``(start, end)`` intervals."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _note(freq: float, seconds: float, *, harmonics: np.ndarray, decay: float, attack: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(
        a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics) if freq * (k + 1) < 7600
    )
    env = np.minimum(1.0, t / attack) * np.exp(-t / decay)
    return (wave * env).astype(np.float32)


def synth_loop(
    rng: np.random.Generator,
    *,
    bpm: float,
    bars: int,
    drums: bool = True,
) -> np.ndarray:
    """Synthesize one loop: drums, bass and a melodic voice, random per bar.

    Each bar gets its own notes so that the loop is not periodic at the bar level:
    its period is the whole loop, as a real hold track's is.

    Parameters
    ----------
    rng
        Seeded generator (timbre, notes and drum pattern are drawn from it).
    bpm
        Tempo, beats per minute (4 beats a bar).
    bars
        Loop length in bars: the period is ``bars * 240 / bpm`` seconds.
    drums
        Include kick, snare and hi-hat.

    Returns
    -------
    np.ndarray
        Shape ``(round(period * 16000),)``, float32, peak about 0.5.
    """
    beat = 60.0 / bpm
    n = round(bars * 4 * beat * SAMPLE_RATE)
    out = np.zeros(n + SAMPLE_RATE * 4, dtype=np.float32)  # tail room; folded back so the loop is seamless
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    scale = np.array(_SCALES[int(rng.integers(0, len(_SCALES)))])
    lead_harm = 1.0 / np.arange(1, 9) ** rng.uniform(0.7, 2.5)
    bass_harm = 1.0 / np.arange(1, 5) ** 1.5
    lead_decay, lead_attack = rng.uniform(0.08, 0.8), rng.uniform(0.003, 0.05)
    steps = int(rng.choice([2, 4]))  # melodic notes per beat
    for bar in range(bars):
        bar_start = bar * 4 * beat
        for b in range(4):
            t0 = bar_start + b * beat
            degree = scale[rng.integers(0, len(scale))]
            _add(
                out,
                t0,
                0.5
                * _note(root / 2 * 2 ** (degree / 12), beat, harmonics=bass_harm, decay=beat, attack=0.01),
            )
            for s in range(steps):
                if rng.random() < 0.8:
                    d = scale[rng.integers(0, len(scale))] + 12 * int(rng.integers(1, 3))
                    tone = _note(
                        root * 2 ** (d / 12),
                        beat / steps * 1.5,
                        harmonics=lead_harm,
                        decay=lead_decay,
                        attack=lead_attack,
                    )
                    _add(out, t0 + s * beat / steps, 0.35 * tone)
            if drums:
                if b % 2 == 0:
                    t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
                    _add(
                        out, t0, 0.9 * np.sin(2 * np.pi * (50 + 120 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
                    )
                else:
                    _add(
                        out,
                        t0,
                        0.4
                        * rng.standard_normal(int(0.15 * SAMPLE_RATE))
                        * np.exp(-np.arange(int(0.15 * SAMPLE_RATE)) / 800),
                    )
                for half in (0.0, 0.5):
                    if rng.random() < 0.85:
                        hat = _highpass(rng.standard_normal(int(0.05 * SAMPLE_RATE)), 6000.0)
                        _add(out, t0 + half * beat, 0.15 * hat * np.exp(-np.arange(hat.size) / 150))
    out[: out.size - n] += out[n:]  # wrap the ring-out of the last notes to the start
    loop = out[:n]
    return (0.5 * loop / (np.abs(loop).max() + 1e-9)).astype(np.float32)


def _add(out: np.ndarray, t0: float, x: np.ndarray) -> None:
    i = round(t0 * SAMPLE_RATE)
    j = min(out.size, i + x.size)
    out[i:j] += x[: j - i]


def _highpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    return sosfilt(butter(4, cutoff, "highpass", fs=SAMPLE_RATE, output="sos"), x).astype(np.float32)


def repeat_loop(loop: np.ndarray, repeats: float, *, phase: float = 0.0) -> np.ndarray:
    """Play ``loop`` ``repeats`` times (fractional: cut mid-loop), starting ``phase`` into it.

    Parameters
    ----------
    loop
        Shape ``(period_samples,)``.
    repeats
        Plays, e.g. 3.4; the result has ``round(repeats * period_samples)`` samples.
    phase
        Where in the loop playback starts, as a fraction of the period in [0, 1).
    """
    n = round(repeats * loop.size)
    index = (np.arange(n) + int(phase * loop.size)) % loop.size
    return loop[index]


def fade(x: np.ndarray, *, fade_in: float = 0.0, fade_out: float = 0.0) -> np.ndarray:
    """Linear fade in and out, seconds; returns a new array."""
    y = x.copy()
    for seconds, sl in ((fade_in, slice(None)), (fade_out, slice(None, None, -1))):
        k = min(int(seconds * SAMPLE_RATE), y.size)
        if k:
            view = y[sl]
            view[:k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
    return y


def reencode(x: np.ndarray, codec: Codec, *, bitrate: int = 64_000) -> np.ndarray:
    """Round-trip ``x`` through an mp3 or AAC encoder (PyAV), re-aligned to ``x``.

    Encoders add priming samples; the decoded signal is shifted back by the lag
    that best correlates it with the input, so ground truth stays exact.

    Returns
    -------
    np.ndarray
        Same shape as ``x``, float32.
    """
    import av

    fmt, name = {"mp3": ("mp3", "libmp3lame"), "aac": ("adts", "aac")}[codec]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = cast("av.audio.stream.AudioStream", out.add_stream(name, rate=SAMPLE_RATE, layout="mono"))
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(x[None], dtype=np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with av.open(io.BytesIO(buf.getvalue()), "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        y = np.concatenate(
            [o.to_ndarray().reshape(-1) for f in inp.decode(audio=0) for o in resampler.resample(f)]
        )
    return aligned(x, y, max_lag=4096, window=20 * SAMPLE_RATE)


def aligned(x: np.ndarray, y: np.ndarray, *, max_lag: int, window: int | None = None) -> np.ndarray:
    """``y`` (a codec's output) shifted back onto ``x``, its input, and cut or padded to ``x.size``.

    The lag, searched in ``[-max_lag, max_lag]`` samples, is the one whose cross-correlation
    of the first ``window`` samples (all when None) is highest: ``y[lag + i] ~ x[i]``.

    Returns
    -------
    np.ndarray
        Shape ``x.shape``, float32.
    """
    n = min(x.size, y.size) if window is None else min(x.size, y.size, window)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(y[:n], size) * np.conj(np.fft.rfft(x[:n], size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    lag = int(lags[np.argmax(corr[lags])])
    y = y[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), y])
    return np.concatenate([y, np.zeros(max(0, x.size - y.size), np.float32)])[: x.size].astype(np.float32)
