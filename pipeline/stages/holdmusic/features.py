"""Hold-music features: gain-invariant log-mel frames, the input of the repetition search.

Shapes are ``(frames, bands)``; one frame every ``1 / frame_rate`` seconds of the audio given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.ndimage import uniform_filter1d

from pipeline.io.audio import SAMPLE_RATE

_STFT_FRAMES_PER_HOP = 4  # STFT frames pooled into one feature frame
POWER_FLOOR = 1e-9  # power floor before a log: digital silence must not give log(0)


def music_features(
    audio: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    frame_rate: float = 10.0,
    pool: float = 0.4,
    n_mels: int = 32,
    fmax: float = 7000.0,
    detrend: float = 0.0,
    block_seconds: float = 120.0,
    progress: Callable[[int], None] | None = None,
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
    progress
        Called after each block with the frames done so far.

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
        if progress is not None:
            progress(f1)
    feats = np.log10(pooled + POWER_FLOOR).astype(np.float32)
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
