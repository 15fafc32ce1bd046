"""Hold-music repetition: which frames repeat a later one, runs of them, and a loop's period.

Works on the frames of ``features.music_features`` (rows unit-norm); every index and
lag is in frames, block by block over a band of the self-similarity matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided


def lag_similarity(
    features: np.ndarray,
    *,
    min_lag: int,
    max_lag: int,
    smoothing: int,
    tolerance: float = 0.03,
    block: int = 1200,
    progress: Callable[[int], None] | None = None,
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
    progress
        Called after each block with the frames done so far.

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
        if progress is not None:
            progress(stop)
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
