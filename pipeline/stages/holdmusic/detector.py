"""Hold-music filter: find looping music in a recording, before anything else runs.

How it decides (chosen by measurement, see ``bench/holdmusic.py``):

1. **Features** — log-mel energies pooled over ``pool`` seconds, one frame every
   ``1 / frame_rate`` seconds; each band's ``detrend``-second moving average is
   removed, then each frame is mean-removed and unit-normalised. The detrend is
   what separates loops from speech: a speaker's steady timbre made plain log-mel
   frames of speech look alike at many lags (95th percentile best-lag similarity
   0.94, three of four speech-only recordings falsely stripped); with the 2 s
   detrend speech tops out at 0.69 (99th percentile) while loop frames stay at a
   median of 0.99 through mp3/AAC and fades. Mean removal makes a frame blind to
   gain, the coarse bands and pooling to codec noise and to beat alignment.
2. **Repetition** — for every frame, cosine similarity to the frames ``min_period``
   to ``max_period`` seconds later, computed block by block (a band of the
   self-similarity matrix, never the whole matrix) and smoothed over
   ``smoothing`` seconds. A frame repeats when its best lag is both similar
   (``similarity_threshold``) and sharper than the lag curve's mean
   (``contrast_threshold``): steady noise or a held chord is similar at every lag
   and so has no contrast.
3. **Regions** — a frame is a loop frame when it matches a later frame or is
   matched by an earlier one; runs are joined over short dips, kept when longer
   than ``min_region``; the period is the region's most common lag, reduced to
   its shortest divisor that matches as well, refined to a fraction of a frame;
   the edges are placed by the unsmoothed similarity at the period.
4. **Speech guard** — Silero VAD (the ONNX model faster-whisper ships) runs only
   where a cut could take speech: inside each region edge, and around the frames
   of a region that stop repeating (someone talking over the loop). Speech heard
   there and not one period away is cut out of the region. Speech over a music
   bed never repeats, so it never forms a region in the first place.
5. **Music that does not repeat** (a song played once, a piece that fades into the
   talk) — outside the loops, cheapest test first: level above ``silence_level``;
   Silero on one chunk in ``screen_stride`` (in sequence) averaged over
   ``screen_span``, below ``speech_threshold`` (speech read 0.9 median, music and
   noise <= 0.2 median at stride 8, an eighth of dense Silero's cost); then, only
   there, ``tonality`` (spectral peaks that persist 0.1 s: real and synthesized
   music 0.28-0.7, noise 0.0-0.25, 10th/90th percentiles over 6 s) or ``rhythm``
   (onset autocorrelation at a beat lag: beats 0.4-0.7, noise and speech <= 0.2)
   above their thresholds, averaged over ``music_window``. A stretch of at least
   ``min_region`` (any length when it continues a loop) becomes a ``"music"``
   region; dense Silero moves its edges off speech as for loops. Speech over a
   bed keeps Silero high, so it is never a candidate.

All times are seconds on the audio given (the original recording). Beyond the
audio, memory is the features (32 floats a frame, 4.6 MB an hour) plus one block.
"""

from __future__ import annotations

import logging
from math import gcd
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.ndimage import binary_dilation, uniform_filter1d
from scipy.signal import resample_poly

from pipeline.core.config import HoldMusicConfig
from pipeline.core.types import ModelIdentity, Region
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.silero import CHUNK as _VAD_CHUNK
from pipeline.models.silero import SileroVad

logger = logging.getLogger(__name__)

_STFT_FRAMES_PER_HOP = 4  # STFT frames pooled into one feature frame
_PERIOD_TOLERANCE = 0.05  # a divisor of the lag mode matching this much worse is still the period (cosine)
_DIP_PAD = 0.5  # seconds of audio around a repetition dip that Silero sees
_SPEECH_MARGIN = 0.2  # seconds kept either side of speech found inside a loop
_ECHO_SLACK = 3  # Silero chunks (32 ms) a loop's voice may shift by from one repeat to the next
_FLOOR = 1e-9  # mel power floor: digital silence must not give log(0)
# 2048 samples (128 ms at 16 kHz) resolve harmonics 8 Hz apart: lounge keys vs crowd cheering measured
# 0.28 (10th pct) vs 0.25 (90th pct); at 1024 the two overlapped
_TONAL_FFT = 2048
_TONAL_BINS = (8, 666)  # FFT bins searched for spectral peaks (62 Hz to 5.2 kHz at 16 kHz)
_PEAK_SPAN = 9  # bins of the local spectral envelope a peak stands out from
_ONSET_HOP = 160  # samples per energy-envelope step (10 ms at 16 kHz) for the rhythm feature
_BEAT_RANGE = (0.25, 1.5)  # seconds: inter-beat intervals (240 to 40 BPM) the rhythm feature searches


# --------------------------------------------------------------------------- features


def music_features(
    audio: np.ndarray,
    *,
    sample_rate: int = 16_000,
    frame_rate: float = 10.0,
    pool: float = 0.4,
    n_mels: int = 32,
    fmax: float = 7000.0,
    detrend: float = 0.0,
    block_seconds: float = 120.0,
) -> np.ndarray:
    """Gain-invariant log-mel frames for repetition search.

    Parameters
    ----------
    audio
        Shape ``(samples,)``, float32 mono.
    sample_rate
        Hz.
    frame_rate
        Feature frames per second.
    pool
        Each frame averages mel power over this many seconds centred on it.
    n_mels
        Mel bands between 60 Hz and ``fmax``.
    fmax
        Top band edge, Hz (below the 8 kHz of 16 kHz audio, where codecs cut).
    block_seconds
        Audio transformed at a time, seconds (bounds memory).

    Returns
    -------
    np.ndarray
        Shape ``(frames, n_mels)``, float32, ``frames = ceil(samples * frame_rate / sample_rate)``;
        each row has zero mean and unit norm (all zeros for digital silence).
    """
    import librosa

    hop = round(sample_rate / frame_rate / _STFT_FRAMES_PER_HOP)
    n_fft = 1 << int(np.ceil(np.log2(2 * hop)))
    mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=60.0, fmax=fmax).astype(
        np.float32
    )
    window = np.hanning(n_fft).astype(np.float32)
    n_stft = int(np.ceil(audio.size / hop))
    width = max(1, round(pool * frame_rate * _STFT_FRAMES_PER_HOP))
    centres = np.arange(0, n_stft, _STFT_FRAMES_PER_HOP)
    pooled = np.empty((centres.size, n_mels), dtype=np.float32)
    block = max(1, int(block_seconds * frame_rate))
    for f0 in range(0, centres.size, block):
        f1 = min(centres.size, f0 + block)
        # STFT frames this block of feature frames pools over (frame k is centred on sample k * hop)
        k0 = max(0, int(centres[f0]) - width // 2)
        k1 = min(n_stft, int(centres[f1 - 1]) + width - width // 2)
        power = _mel_power(audio, k0, k1, hop=hop, window=window, mel=mel)
        csum = np.concatenate([np.zeros((1, n_mels)), np.cumsum(power, axis=0, dtype=np.float64)])
        first = np.clip(centres[f0:f1] - width // 2, k0, k1) - k0
        last = np.clip(centres[f0:f1] + width - width // 2, k0, k1) - k0
        pooled[f0:f1] = (csum[last] - csum[first]) / np.maximum(last - first, 1)[:, None]
    feats = np.log10(pooled + _FLOOR).astype(np.float32)
    if detrend > 0:
        feats -= uniform_filter1d(feats, size=max(1, round(detrend * frame_rate)), axis=0, mode="nearest")
    feats -= feats.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(feats, axis=1, keepdims=True)
    return feats / np.where(norm > 1e-3, norm, np.inf)


def _mel_power(
    audio: np.ndarray, k0: int, k1: int, *, hop: int, window: np.ndarray, mel: np.ndarray
) -> np.ndarray:
    """Mel power of STFT frames ``k0 .. k1 - 1`` (centred on ``k * hop``), shape ``(k1 - k0, mels)``."""
    n_fft = window.size
    lo, hi = k0 * hop - n_fft // 2, (k1 - 1) * hop + n_fft - n_fft // 2
    # pad only this stretch, never a copy of the whole recording
    padded = np.pad(
        audio[max(0, lo) : min(audio.size, hi)].astype(np.float32, copy=False),
        (max(0, -lo), max(0, hi - audio.size)),
    )
    frames = as_strided(
        padded, shape=(k1 - k0, n_fft), strides=(hop * padded.strides[0], padded.strides[0]), writeable=False
    )
    spec = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return spec.astype(np.float32) @ mel.T


# --------------------------------------------------------------------------- repetition


def lag_similarity(
    features: np.ndarray,
    *,
    min_lag: int,
    max_lag: int,
    smoothing: int,
    tolerance: float = 0.03,
    block: int = 1200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best forward repetition lag of every frame, from a band of the self-similarity matrix.

    Parameters
    ----------
    features
        Shape ``(frames, dims)``, rows unit-norm (``music_features``).
    min_lag, max_lag
        Lags searched, frames (inclusive).
    smoothing
        Similarities are averaged over this many consecutive frames (same lag).
    tolerance
        A frame's lag is the shortest local peak within ``tolerance`` of its best
        similarity, so that a loop reports its period rather than a multiple.
    block
        Frames per block; memory is ``block * (block + max_lag)`` floats.

    Returns
    -------
    best : np.ndarray
        Shape ``(frames,)``: smoothed similarity at the chosen lag (0 where no lag fits).
    contrast : np.ndarray
        Shape ``(frames,)``: ``best`` minus the mean of the frame's lag curve.
    lag : np.ndarray
        Shape ``(frames,)``, int: chosen lag in frames (0 where none).
    """
    n = features.shape[0]
    best = np.zeros(n, np.float32)
    contrast = np.zeros(n, np.float32)
    lag = np.zeros(n, np.int64)
    n_lags = max_lag - min_lag + 1
    if n - min_lag <= 0 or n_lags <= 0:
        return best, contrast, lag
    half = smoothing // 2
    for start in range(0, n - min_lag, block):
        stop = min(n - min_lag, start + block)
        lo, hi = max(0, start - half), min(n - min_lag, stop + smoothing - half)
        ref = features[lo:hi]
        cand = features[lo + min_lag : min(n, hi + max_lag)]
        gram = np.ascontiguousarray(ref @ cand.T)
        width = gram.shape[1]
        # band[i, l] = gram[i, i + l]: frame lo+i against frame lo+i+min_lag+l
        band = as_strided(
            gram,
            shape=(hi - lo, n_lags),
            strides=(gram.strides[0] + gram.strides[1], gram.strides[1]),
            writeable=False,
        )
        valid = (np.arange(hi - lo)[:, None] + np.arange(n_lags)[None, :]) < width
        band = np.where(valid, band, np.nan)
        smooth = _box_mean(band, smoothing)[start - lo : stop - lo]
        finite = np.isfinite(smooth)
        filled = np.where(finite, smooth, -np.inf)
        peak = filled.max(axis=1)
        mean = np.where(finite, smooth, 0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        is_peak = np.zeros_like(finite)
        is_peak[:, 1:-1] = (filled[:, 1:-1] >= filled[:, :-2]) & (filled[:, 1:-1] >= filled[:, 2:])
        is_peak[:, [0, -1]] = True
        is_peak &= filled >= (peak - tolerance)[:, None]
        choice = np.argmax(is_peak, axis=1)
        ok = np.isfinite(peak)
        rows = np.arange(stop - start)
        best[start:stop] = np.where(ok, filled[rows, choice], 0)
        contrast[start:stop] = np.where(ok, filled[rows, choice] - mean, 0)
        lag[start:stop] = np.where(ok, choice + min_lag, 0)
    return best, contrast, lag


def _box_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Mean of ``width`` consecutive rows starting ``width // 2`` before each row (NaN-propagating)."""
    if width <= 1:
        return x
    c = np.concatenate([np.zeros((1, x.shape[1]), x.dtype), np.cumsum(x, axis=0)])
    idx = np.arange(x.shape[0])
    lo = np.clip(idx - width // 2, 0, x.shape[0])
    hi = np.clip(lo + width, 0, x.shape[0])
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def loop_mask(
    best: np.ndarray,
    contrast: np.ndarray,
    lag: np.ndarray,
    *,
    similarity_threshold: float,
    contrast_threshold: float,
) -> np.ndarray:
    """Frames that repeat: they match a later frame, or an earlier frame matches them.

    Returns
    -------
    np.ndarray
        Shape ``(frames,)``, bool.
    """
    forward = (best >= similarity_threshold) & (contrast >= contrast_threshold) & (lag > 0)
    mask = forward.copy()
    src = np.flatnonzero(forward)
    mask[np.minimum(src + lag[src], mask.size - 1)] = True
    return mask


def runs(mask: np.ndarray, *, max_gap: int, min_length: int) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of ``mask`` joined over gaps up to ``max_gap`` frames, if ``>= min_length``."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    stops = np.r_[idx[breaks], idx[-1]] + 1
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= min_length]


def repeat_curve(features: np.ndarray, start: int, stop: int, lag: int) -> np.ndarray:
    """Per-frame similarity of ``features[start:stop]`` to the same frames ``lag`` later or earlier.

    Returns
    -------
    np.ndarray
        Shape ``(stop - start,)``: the better of the forward and backward match
        (0 where neither partner exists).
    """
    n = features.shape[0]
    idx = np.arange(start, stop)
    out = np.zeros(idx.size, np.float32)
    for partner in (idx + lag, idx - lag):
        ok = (partner >= 0) & (partner < n)
        sims = np.einsum("ij,ij->i", features[idx[ok]], features[partner[ok]])
        out[ok] = np.maximum(out[ok], sims)
    return out


def region_period(
    features: np.ndarray,
    start: int,
    stop: int,
    lags: np.ndarray,
    *,
    min_lag: int,
    tolerance: float,
    floor_similarity: float,
) -> tuple[float, float]:
    """Loop period of a region, in frames (sub-frame), and the mean similarity at it.

    The most common per-frame lag is reduced to its shortest divisor (not under
    ``min_lag``) whose mean similarity is within ``tolerance`` of the mode's but
    not under ``floor_similarity`` (a loop also matches at twice its period), then
    refined by a parabola through the similarities at neighbouring lags.
    """
    values, counts = np.unique(lags[lags > 0], return_counts=True)
    mode = int(values[np.argmax(counts)])

    def score(lag: int) -> float:
        return float(repeat_curve(features, start, stop, lag).mean()) if lag > 0 else 0.0

    chosen, floor = mode, max(floor_similarity, score(mode) - tolerance)
    for k in range(mode // max(min_lag, 1), 1, -1):
        cand = round(mode / k)
        cand = max((cand - 1, cand, cand + 1), key=score)
        if score(cand) >= floor:
            chosen = cand
            break
    ref = max((chosen - 1, chosen, chosen + 1), key=score)
    left, mid, right = score(ref - 1), score(ref), score(ref + 1)
    denom = left - 2 * mid + right
    offset = 0.5 * (left - right) / denom if denom < 0 else 0.0
    return ref + float(np.clip(offset, -0.5, 0.5)), mid


# --------------------------------------------------------------------------- speech guard


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


# --------------------------------------------------------------------------- music without repetition


def frame_level(audio: np.ndarray, *, sample_rate: int = 16_000, frame_rate: float = 10.0) -> np.ndarray:
    """RMS level of consecutive ``1 / frame_rate`` second frames, dBFS.

    Returns
    -------
    np.ndarray
        Shape ``(ceil(samples * frame_rate / sample_rate),)``, float32 (the last
        frame may be short; digital silence reads -180 dB).
    """
    hop = round(sample_rate / frame_rate)
    whole = audio.size // hop
    frames = audio[: whole * hop].reshape(whole, hop)  # a view: never a copy of hours of audio
    power = np.einsum("ij,ij->i", frames, frames) / hop
    tail = audio[whole * hop :]
    if tail.size:  # the short last frame, zero-padded as if it were whole
        power = np.append(power, np.dot(tail, tail) / hop)
    return (10 * np.log10(power + 1e-18)).astype(np.float32)


def tonality(audio: np.ndarray, *, sample_rate: int = 16_000, frame_rate: float = 10.0) -> np.ndarray:
    """Persistence of spectral peaks from one frame to the next, one value per frame.

    Each ``_TONAL_FFT``-sample frame's log spectrum minus its local envelope keeps
    only the peaks standing out of it; the value is the cosine between those peak
    patterns ``1 / frame_rate`` seconds apart. A held note keeps its harmonics in
    place (high); speech glides in pitch and noise has no stable peaks (near 0).

    Returns
    -------
    np.ndarray
        Shape ``(ceil(samples * frame_rate / sample_rate),)``, float32 in [-1, 1];
        the last frame repeats the one before it.
    """
    hop = round(sample_rate / frame_rate)
    n = int(np.ceil(audio.size / hop))
    padded = np.zeros(n * hop + _TONAL_FFT, np.float32)
    padded[: audio.size] = audio
    frames = as_strided(
        padded, shape=(n, _TONAL_FFT), strides=(hop * padded.strides[0], padded.strides[0]), writeable=False
    )
    spec = np.abs(np.fft.rfft(frames * np.hanning(_TONAL_FFT).astype(np.float32), axis=1))
    logs = np.log(np.square(spec[:, _TONAL_BINS[0] : _TONAL_BINS[1]]) + _FLOOR)
    peaks = np.maximum(logs - uniform_filter1d(logs, _PEAK_SPAN, axis=1), 0)
    peaks -= peaks.mean(axis=1, keepdims=True)
    peaks /= np.linalg.norm(peaks, axis=1, keepdims=True) + 1e-9
    out = np.empty(n, np.float32)
    out[:-1] = np.einsum("ij,ij->i", peaks[:-1], peaks[1:])
    out[-1:] = out[-2:-1] if n > 1 else 0.0
    return out


def rhythm(
    audio: np.ndarray, *, sample_rate: int = 16_000, frame_rate: float = 10.0, window: float = 6.0
) -> np.ndarray:
    """Onset periodicity around each frame: the autocorrelation peak of spectral flux at beat lags.

    The flux is the rise of the 10 ms log-energy envelope; over ``window`` seconds
    centred on the frame, its normalised autocorrelation is searched at
    inter-beat lags ``_BEAT_RANGE``. A beat (drums, a bass pulse) gives a strong
    peak; speech syllables and noise are not periodic enough (<= 0.2 measured).

    Returns
    -------
    np.ndarray
        Shape ``(ceil(samples * frame_rate / sample_rate),)``, float32 in [-1, 1]
        (0 where the audio is shorter than ``window``).
    """
    n_out = int(np.ceil(audio.size * frame_rate / sample_rate))
    hop = round(_ONSET_HOP * sample_rate / 16_000)
    n = audio.size // hop
    width = int(window * sample_rate / hop)
    out = np.zeros(n_out, np.float32)
    if n < width + 1:
        return out
    chunks = audio[: n * hop].astype(np.float32, copy=False).reshape(n, hop)
    flux = np.maximum(np.diff(np.log(np.einsum("ij,ij->i", chunks, chunks) / hop + 1e-10)), 0)
    step = max(1, round(sample_rate / hop / frame_rate))
    starts = np.arange(0, flux.size - width + 1, step)
    windows = as_strided(
        flux, shape=(starts.size, width), strides=(step * flux.strides[0], flux.strides[0]), writeable=False
    )
    windows = windows - windows.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * width)))
    acf = np.fft.irfft(np.abs(np.fft.rfft(windows, size, axis=1)) ** 2, size, axis=1)
    lo, hi = (round(b * sample_rate / hop) for b in _BEAT_RANGE)
    peak = (acf[:, lo : hi + 1].max(axis=1) / np.maximum(acf[:, 0], 1e-12)).astype(np.float32)
    # window k covers flux[k*step : k*step+width]: it speaks for the frame at its centre
    centres = ((starts + width // 2) * hop * frame_rate / sample_rate).astype(np.int64)
    out[:] = np.interp(np.arange(n_out), centres, peak)
    return out


def speech_screen(
    audio: np.ndarray, *, vad: SileroVad, stride: int, frame_rate: float, span: float
) -> np.ndarray:
    """Cheap speech probability per frame: Silero on one 32 ms chunk in ``stride``, averaged.

    Parameters
    ----------
    audio
        Shape ``(samples,)``, 16 kHz.
    vad
        Silero VAD.
    stride
        Silero sees every ``stride``-th chunk (in sequence, so its state carries
        over): ``stride`` times cheaper than dense, and speech still reads
        0.9 median against <= 0.2 for music and noise (measured at 8).
    frame_rate
        Output frames per second.
    span
        Probabilities averaged over this many seconds around each frame.

    Returns
    -------
    np.ndarray
        Shape ``(ceil(samples * frame_rate / 16000),)``, float32 in [0, 1].
    """
    n_out = int(np.ceil(audio.size * frame_rate / SAMPLE_RATE))
    probs = vad.probabilities(audio, stride=stride)
    if probs.size == 0:
        return np.zeros(n_out, np.float32)
    times = (np.arange(probs.size) * stride + 0.5) * _VAD_CHUNK / SAMPLE_RATE
    per_frame = np.interp((np.arange(n_out) + 0.5) / frame_rate, times, probs)
    return uniform_filter1d(per_frame, max(1, round(span * frame_rate)), mode="nearest").astype(np.float32)


# --------------------------------------------------------------------------- detector


class MusicDetector:
    """Finds hold music; the Silero model loads once, in the constructor.

    Parameters
    ----------
    config
        Tuning (``HoldMusicConfig``).
    models_dir
        The models folder (``None``: the default; Silero ships inside faster-whisper).
    """

    def __init__(self, config: HoldMusicConfig, *, models_dir: Path | None = None) -> None:
        self.config = config
        self._vad = SileroVad(models_dir=models_dir)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """The Silero VAD used by the speech guard."""
        return (self._vad.identity,)

    def detect(self, audio: np.ndarray, *, sample_rate: int = 16_000) -> tuple[Region, ...]:
        """Music regions of ``audio`` (shape ``(samples,)``), seconds from its start, in time order."""
        cfg = self.config
        if sample_rate != SAMPLE_RATE:
            g = gcd(sample_rate, SAMPLE_RATE)
            audio = resample_poly(audio, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)
        rate = cfg.frame_rate
        features = music_features(
            audio, sample_rate=SAMPLE_RATE, frame_rate=rate, pool=cfg.pool, detrend=cfg.detrend
        )
        min_lag = max(1, round(cfg.min_period * rate))
        best, contrast, lags = lag_similarity(
            features,
            min_lag=min_lag,
            max_lag=round(cfg.max_period * rate),
            smoothing=max(1, round(cfg.smoothing * rate)),
        )
        mask = loop_mask(
            best,
            contrast,
            lags,
            similarity_threshold=cfg.similarity_threshold,
            contrast_threshold=cfg.contrast_threshold,
        )
        regions: list[Region] = []
        for i0, i1 in runs(mask, max_gap=int(cfg.gap_fill * rate), min_length=int(cfg.min_region * rate)):
            regions.extend(self._region(audio, features, i0, i1, lags[i0:i1], min_lag=min_lag))
        regions.extend(self._unrepeated(audio, regions))
        return tuple(sorted(regions, key=lambda r: r.start))

    def _unrepeated(self, audio: np.ndarray, loops: list[Region]) -> list[Region]:
        """Music that does not repeat, outside ``loops``: not speech, not silent, tonal or rhythmic.

        Cheapest first, each step only where the one before left candidates: the
        level (whole recording), Silero at a stride (non-silent stretches outside
        loops), tonality and rhythm (stretches Silero did not call speech), then
        dense Silero at the edges of what is kept. A stretch must last
        ``min_region``, unless it touches a loop: then it is the rest of that
        music (a song whose middle repeats) and any length counts.
        """
        cfg = self.config
        rate = cfg.frame_rate
        hop = round(SAMPLE_RATE / rate)
        longest_gap, shortest = int(cfg.gap_fill * rate), int(cfg.min_region * rate)
        candidate = frame_level(audio, sample_rate=SAMPLE_RATE, frame_rate=rate) > cfg.silence_level
        looped = np.zeros(candidate.size + 2 * longest_gap + 2, bool)  # padded: edges need no bounds checks
        for loop in loops:
            i0, i1 = int(loop.start * rate), int(np.ceil(loop.end * rate))
            candidate[i0:i1] = False
            looped[i0 + longest_gap + 1 : i1 + longest_gap + 1] = True

        def stretches(mask: np.ndarray, offset: int, *, max_gap: int) -> list[tuple[int, int]]:
            return [
                (a, b)
                for a, b in runs(mask, max_gap=max_gap, min_length=1)
                if b - a >= shortest
                or looped[offset + a : offset + a + longest_gap + 1].any()
                or looped[offset + b + longest_gap : offset + b + 2 * longest_gap + 1].any()
            ]

        found: list[Region] = []
        for c0, c1 in stretches(candidate, 0, max_gap=longest_gap):
            speech = (
                speech_screen(
                    audio[c0 * hop : c1 * hop],
                    vad=self._vad,
                    stride=cfg.screen_stride,
                    frame_rate=rate,
                    span=cfg.screen_span,
                )
                >= cfg.speech_threshold
            )
            quiet = candidate[c0:c1] & ~speech
            for s0, s1 in stretches(quiet, c0, max_gap=longest_gap):
                piece = audio[(c0 + s0) * hop : (c0 + s1) * hop]
                smooth = max(1, round(cfg.music_window * rate))
                tonal = uniform_filter1d(tonality(piece, frame_rate=rate), smooth, mode="nearest")
                beat = uniform_filter1d(rhythm(piece, frame_rate=rate), smooth, mode="nearest")
                score = np.maximum(tonal / cfg.tonality_threshold, beat / cfg.rhythm_threshold)
                musical = (score >= 1.0) & quiet[s0:s1]
                # gaps are joined (a pause, a weak bar) but never across speech
                for m0, m1 in stretches(musical, c0 + s0, max_gap=longest_gap):
                    for k0, k1 in stretches(~speech[s0 + m0 : s0 + m1], c0 + s0 + m0, max_gap=0):
                        a, b = c0 + s0 + m0 + k0, c0 + s0 + m0 + k1
                        start, end = trim_speech_edges(
                            audio,
                            a / rate,
                            min(b / rate, audio.size / SAMPLE_RATE),
                            vad=self._vad,
                            threshold=cfg.speech_threshold,
                            search=min(cfg.edge_search, (b - a) / rate / 2),
                        )
                        if end - start < min(cfg.min_region, (b - a) / rate) or end <= start:
                            continue
                        strength = float(np.mean(score[m0 + k0 : m0 + k1]))
                        logger.debug("music %.1f-%.1f s, score %.2f", start, end, strength)
                        found.append(
                            Region(
                                start=round(float(start), 3),
                                end=round(float(end), 3),
                                kind="music",
                                confidence=round(min(1.0, strength / 2), 3),
                            )
                        )
        return found

    def _region(
        self, audio: np.ndarray, features: np.ndarray, i0: int, i1: int, lags: np.ndarray, *, min_lag: int
    ) -> list[Region]:
        """Turn a run of repeating frames ``[i0, i1)`` into regions: period, exact edges, speech cut out."""
        cfg = self.config
        rate = cfg.frame_rate
        period, similarity = region_period(
            features,
            i0,
            i1,
            lags,
            min_lag=min_lag,
            tolerance=_PERIOD_TOLERANCE,
            floor_similarity=cfg.similarity_threshold,
        )
        # The run's edges are blurred by the smoothing; the unsmoothed repeat curve at the
        # period (one frame either side, for a period between frames) places them.
        margin = int(cfg.smoothing * rate) + 1
        lo, hi = max(0, i0 - margin), min(features.shape[0], i1 + margin)
        lag = round(period)
        curve = np.maximum.reduce([repeat_curve(features, lo, hi, lag + d) for d in (-1, 0, 1)])
        good = curve >= cfg.edge_threshold
        inner = np.flatnonzero(good[i0 - lo : i1 - lo])
        if inner.size == 0:
            return []
        a, b = i0 + int(inner[0]), i0 + int(inner[-1]) + 1
        while a > lo and good[a - 1 - lo]:
            a -= 1
        while b < hi and good[b - lo]:
            b += 1
        start, end = trim_speech_edges(
            audio,
            a / rate,
            min(b / rate, audio.size / SAMPLE_RATE),
            vad=self._vad,
            threshold=cfg.speech_threshold,
            search=cfg.edge_search,
            period=period / rate,
        )
        if end - start < cfg.min_region:
            return []
        # Frames inside that do not repeat may be someone talking over the loop: ask Silero.
        dips = [(lo + d0, lo + d1) for d0, d1 in runs(~good, max_gap=0, min_length=1)]
        speech = speech_in_dips(
            audio,
            [(d0 / rate, d1 / rate) for d0, d1 in dips if d0 / rate > start and d1 / rate < end],
            region=(start, end),
            period=period / rate,
            vad=self._vad,
            threshold=cfg.speech_threshold,
        )
        pieces = subtract_intervals((start, end), speech)
        seconds = period / rate
        shortest = cfg.min_region if len(pieces) == 1 else min(cfg.min_region, seconds)
        is_loop = (end - start) / seconds >= cfg.min_loop_repeats
        logger.debug("music %.1f-%.1f s, period %.2f s, similarity %.2f", start, end, seconds, similarity)
        return [
            Region(
                start=round(float(p0), 3),
                end=round(float(p1), 3),
                kind="loop" if is_loop else "music",
                period=round(float(seconds), 3) if is_loop else None,
                repeats=round(float((p1 - p0) / seconds), 2) if is_loop else None,
                confidence=round(float(np.clip(similarity, 0.0, 1.0)), 3),
            )
            for p0, p1 in pieces
            if p1 - p0 >= shortest
        ]


def detect_music(
    audio: np.ndarray, *, config: HoldMusicConfig, sample_rate: int = 16_000
) -> tuple[Region, ...]:
    """Find music regions (loops with period and repeats) in a recording.

    Parameters
    ----------
    audio
        Shape ``(samples,)``, float32 mono: the original recording.
    config
        Tuning (``HoldMusicConfig``).
    sample_rate
        Hz.

    Returns
    -------
    tuple of Region
        Seconds on ``audio``, in time order, disjoint. Speech over music is not music.
    """
    return MusicDetector(config).detect(audio, sample_rate=sample_rate)
