"""The embedded CPU diarizer: Silero VAD + resemblyzer (GE2E) partial embeddings + spectral clustering.

Every weight it runs ships inside a PyPI package (faster-whisper's Silero VAD ONNX,
resemblyzer's ``pretrained.pt``), so it works on an air-gapped CPU machine.

How it works, in order:

1. **Speech regions.** Silero VAD speech probabilities every 32 ms, hysteresis
   thresholding, short gaps bridged, short blips dropped, a little padding.
2. **Partial embeddings.** The speech regions are concatenated (silence carries no
   speaker information and would blur the embeddings) and normalised in volume;
   resemblyzer's encoder embeds a 1.6 s window every ``1 / embedding_rate`` seconds.
3. **Clustering.** An even subsample of the partials (``cluster_rate``; overlapping
   neighbours are near-duplicates that chain the graph into time slices) is clustered
   spectrally: NME-SC picks the nearest-neighbour pruning of the cosine affinities and
   a speaker count (largest Laplacian eigengap within ``[min_speakers,
   max_speakers]``) together. That count is only a proposal: the eigengap cuts one
   drifting voice into time slices, and cannot see a voice with a few percent of the
   speech.
4. **How many speakers really.** Clusters are merged until every pair left is two
   distinct voices (``merge_same_voice``): within-cluster similarity must beat
   between-cluster similarity by a margin, both measured only over window pairs that
   share no audio and weighted towards near lags, so a voice's drift cancels. Then each
   cluster's windows least like it seed a possible minority voice (``split_minority``,
   murmurs under a monologue), kept only if the same test calls it distinct.
5. **Smoothing and re-segmentation.** A majority filter over the label sequence, then
   each partial is re-assigned to its nearest cluster centroid and smoothed again; tiny
   clusters are folded into their nearest neighbour.
6. **Segments.** Speaker changes fall halfway between partials with different labels;
   segments are mapped from concatenated-speech time back to time on ``audio``.

Overlapped speech is not detected: ``Diarization.regular`` equals ``exclusive``.

The pure helpers (``speech_regions``, ``cluster_embeddings``, ``majority_filter``,
``label_segments``...) take arrays and return arrays, so they are unit-tested on
synthetic data without any model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.config import EmbeddedDiarizerConfig
from pipeline.errors import ModelError
from pipeline.hashing import file_sha256
from pipeline.stages.diarize import Diarization
from pipeline.stages.vad import CHUNK as VAD_WINDOW_SAMPLES
from pipeline.stages.vad import SileroVad
from pipeline.timeline import KeptTimeline
from pipeline.types import ModelIdentity

if TYPE_CHECKING:
    from pyannote.core import Annotation

logger = logging.getLogger(__name__)


MEL_HOP_SECONDS = 0.01
"""resemblyzer mel-frame hop, seconds (``mel_window_step`` = 10 ms)."""

PARTIAL_FRAMES = 160
"""Mel frames in one resemblyzer partial utterance (1.6 s)."""

_FAR_WEIGHT = 1e-6
"""Floor of a pair's lag weight: far pairs decide only where no near pair exists."""

_TARGET_DBFS = -30.0  # resemblyzer's training-time loudness (hparams.audio_norm_target_dBFS)


# --------------------------------------------------------------------------- pure helpers


def speech_regions(
    probs: np.ndarray,
    *,
    frame_seconds: float,
    threshold: float,
    min_speech: float,
    min_silence: float,
    pad: float,
    duration: float,
) -> list[tuple[float, float]]:
    """Turn per-frame speech probabilities into speech regions.

    Hysteresis as in Silero's reference code: speech starts at a frame whose probability
    reaches ``threshold`` and lasts while it stays at or above ``threshold - 0.15``.

    Parameters
    ----------
    probs
        Speech probability per frame, shape ``(frames,)``, values in [0, 1].
    frame_seconds
        Frame hop, seconds.
    threshold
        Onset probability.
    min_speech
        Regions shorter than this (after bridging) are dropped, seconds.
    min_silence
        Gaps shorter than this are bridged, seconds.
    pad
        Seconds added to each side of a region; when two regions are closer than
        ``2 * pad`` the gap is split between them, so regions never overlap.
    duration
        Length of the audio, seconds; regions are clipped to ``[0, duration]``.

    Returns
    -------
    list of (float, float)
        Sorted, disjoint ``(start, end)`` regions, seconds.
    """
    offset = max(threshold - 0.15, 0.01)
    runs: list[list[float]] = []
    active = False
    for index, prob in enumerate(np.asarray(probs, dtype=np.float64).reshape(-1)):
        if not active and prob >= threshold:
            active = True
            runs.append([index * frame_seconds, (index + 1) * frame_seconds])
        elif active and prob >= offset:
            runs[-1][1] = (index + 1) * frame_seconds
        else:
            active = False
    merged: list[list[float]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < min_silence:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    kept = [(s, min(e, duration)) for s, e in merged if min(e, duration) - s >= min_speech]
    padded: list[tuple[float, float]] = []
    for index, (start, end) in enumerate(kept):
        lo = max(0.0, start - pad) if index == 0 else max(start - pad, (kept[index - 1][1] + start) / 2)
        hi = (
            min(duration, end + pad)
            if index == len(kept) - 1
            else min(end + pad, (end + kept[index + 1][0]) / 2)
        )
        padded.append((lo, hi))
    return padded


def partial_starts(n_frames: int, *, window: int, hop: int) -> np.ndarray:
    """First frame of each partial window covering ``n_frames`` frames.

    Windows start every ``hop`` frames; one more window is added, ending at the last
    frame, when the regular grid leaves a tail uncovered. A signal shorter than one
    window gets one window at 0 (the caller zero-pads).

    Returns
    -------
    np.ndarray
        Shape ``(partials,)``, int, sorted.
    """
    last = max(n_frames - window, 0)
    starts = np.arange(0, last + 1, hop)
    if starts[-1] < last:
        starts = np.append(starts, last)
    return starts


def cosine_affinity(embeddings: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix, shape ``(n, n)``, of ``embeddings`` shape ``(n, dim)``."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.maximum(norms, 1e-12)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def laplacian_eigenvalues(affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of the symmetric normalised Laplacian of ``affinity``.

    Returns
    -------
    eigenvalues : np.ndarray
        Shape ``(n,)``, ascending, in [0, 2].
    eigenvectors : np.ndarray
        Shape ``(n, n)``, column ``i`` for ``eigenvalues[i]``.
    """
    degree = affinity.sum(axis=1)
    inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    laplacian = np.eye(affinity.shape[0]) - inv_sqrt[:, None] * affinity * inv_sqrt[None, :]
    eigenvalues, eigenvectors = np.linalg.eigh(laplacian)
    return eigenvalues, eigenvectors


def eigengap_count(eigenvalues: np.ndarray, *, min_k: int, max_k: int) -> int:
    """Number of clusters where the Laplacian spectrum jumps most.

    Parameters
    ----------
    eigenvalues
        Ascending Laplacian eigenvalues, shape ``(n,)``.
    min_k, max_k
        Allowed range (inclusive); clipped to ``[1, n - 1]``.

    Returns
    -------
    int
        The ``k`` in range maximising ``eigenvalues[k] - eigenvalues[k - 1]``.
    """
    n = eigenvalues.size
    hi = max(1, min(max_k, n - 1))
    lo = min(max(1, min_k), hi)
    gaps = eigenvalues[lo : hi + 1] - eigenvalues[lo - 1 : hi]
    return lo + int(np.argmax(gaps))


def nme_search(affinity: np.ndarray, *, max_keep: float, min_k: int, max_k: int) -> tuple[np.ndarray, int]:
    """Pick the affinity pruning and the speaker count together (NME-SC, Park et al. 2019).

    For each neighbour count ``p`` up to ``max_keep * n``, rows are binarised to their
    ``p`` largest entries; the ``p`` whose normalised maximum eigengap ``g_p`` is largest
    relative to ``p`` (smallest ``p / g_p``) wins. A fixed pruning cannot serve both a
    telephone call (speakers close together) and a wideband panel (many short turns).

    Parameters
    ----------
    affinity
        Cosine affinities, shape ``(n, n)``.
    max_keep
        Largest fraction of each row kept, in (0, 1].
    min_k, max_k
        Allowed speaker counts (inclusive).

    Returns
    -------
    graph : np.ndarray
        The chosen binarised symmetric graph, shape ``(n, n)``.
    k : int
        Its eigengap speaker count.
    """
    n = affinity.shape[0]
    top_p = max(2, int(np.ceil(max_keep * n)))
    order = np.argsort(-affinity, axis=1)
    best: tuple[float, np.ndarray, int] | None = None
    for p in range(2, min(top_p, n) + 1, max(1, top_p // 30)):
        graph = np.zeros_like(affinity)
        np.put_along_axis(graph, order[:, :p], 1.0, axis=1)
        graph = (graph + graph.T) / 2
        eigenvalues = np.linalg.eigvalsh(np.diag(graph.sum(axis=1)) - graph)
        k = eigengap_count(eigenvalues, min_k=min_k, max_k=max_k)
        gap = (eigenvalues[k] - eigenvalues[k - 1]) / max(float(eigenvalues[-1]), 1e-12)
        ratio = p / max(gap, 1e-12)
        if best is None or ratio < best[0]:
            best = (ratio, graph, k)
    assert best is not None
    return best[1], best[2]


def centroids(embeddings: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit-norm mean embedding of each label ``0..k-1``, shape ``(k, dim)`` (zeros when empty)."""
    out = np.zeros((k, embeddings.shape[1]))
    for label in range(k):
        members = embeddings[labels == label]
        if len(members):
            mean = members.mean(axis=0)
            out[label] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def independent_similarity(
    embeddings: np.ndarray, times: np.ndarray, labels: np.ndarray, *, min_lag: float, lag_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean cosine similarity within and between clusters, over independent pairs only.

    Two partials closer in time than ``min_lag`` share most of their audio (1.6 s
    windows a fraction of a second apart), so their similarity says nothing about the
    voice: a drifting voice cut into time slices looks coherent only through such pairs.
    Pairs at least ``min_lag`` apart are weighted by ``exp(-(lag - min_lag) /
    lag_scale)`` (floored at ``_FAR_WEIGHT``), so within- and between-cluster means are
    taken at comparable lags where such pairs exist and a voice's slow drift cancels
    out of their difference.

    Parameters
    ----------
    embeddings
        Shape ``(n, dim)``.
    times
        Centre of each embedding's window, seconds, shape ``(n,)``.
    labels
        Cluster of each embedding, ``0..k-1``, shape ``(n,)``.
    min_lag
        Pairs closer than this are ignored, seconds.
    lag_scale
        Decay of a pair's weight with its lag, seconds.

    Returns
    -------
    similarity : np.ndarray
        Shape ``(k, k)``: weighted mean cosine over independent pairs within
        (diagonal) and between (off-diagonal) clusters; NaN where there is no such pair.
    pairs : np.ndarray
        Shape ``(k, k)``: how many independent pairs (ordered, so each twice) each mean
        is over.
    """
    k = int(labels.max()) + 1
    one_hot = np.eye(k)[labels]
    lag = np.abs(times[:, None] - times[None, :])
    weight = np.where(lag >= min_lag, np.maximum(np.exp(-(lag - min_lag) / lag_scale), _FAR_WEIGHT), 0.0)
    pairs = one_hot.T @ (lag >= min_lag).astype(np.float64) @ one_hot
    totals = one_hot.T @ weight @ one_hot
    sums = one_hot.T @ (weight * cosine_affinity(embeddings)) @ one_hot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, sums / totals, np.nan), pairs


def merge_same_voice(
    embeddings: np.ndarray,
    times: np.ndarray,
    labels: np.ndarray,
    *,
    margin: float,
    min_lag: float,
    lag_scale: float,
    relative_threshold: float = 1.0,
    min_clusters: int = 1,
) -> np.ndarray:
    """Merge clusters until every pair left is two distinct voices.

    Two clusters are one voice when either test says so:

    - **distinctness gap**: ``within - between < margin``, where ``within`` is the mean
      similarity inside the two clusters (pooled over their pairs) and ``between`` the
      mean similarity across, all over independent, lag-weighted pairs
      (``independent_similarity``). Slices of one drifting voice are as similar across
      as within; two voices are not.
    - **relative centroid similarity**: ``(cos - spread) / (1 - spread) >
      relative_threshold``, the centroid cosine rescaled by the recording's ``spread``
      (mean cosine of every embedding to the recording's mean). On its own it
      over-splits single voices (their spread is high, so slices never look close), but
      it joins the halves of a long wideband turn whose gap is just above ``margin``.

    A cluster with no independent pair inside (all of it within ``min_lag``: a slice of
    someone's turn) carries no evidence of a voice of its own and is merged first, into
    the cluster with the nearest centroid. Otherwise the pair furthest past either
    threshold merges first, and merging stops when no pair is past one.

    Measured with GE2E partials, ``min_lag`` 1 s and ``lag_scale`` 5 s
    (``bench/diarization_der.py``): gaps between real speakers 0.065-0.37 (pyannote's
    telephone sample 0.069); between slices of one reader 0.04 or less on LibriSpeech,
    up to 0.07 on a counting clip; 0.22 between one speaker's English and German, which
    this test cannot tell from a change of speaker.

    Parameters
    ----------
    embeddings
        Shape ``(n, dim)``.
    times
        Centre of each embedding's window, seconds, shape ``(n,)``.
    labels
        Cluster of each embedding, shape ``(n,)``.
    margin
        Gap below which two clusters are one voice (cosine units); -2 only merges
        unsupported clusters and relative matches.
    min_lag, lag_scale
        Independence lag and weight decay, seconds (see ``independent_similarity``).
    relative_threshold
        Relative centroid similarity above which two clusters are one voice; 1 never.
    min_clusters
        Merging stops at this many clusters.

    Returns
    -------
    np.ndarray
        Labels renumbered ``0..k'-1`` in order of first appearance, shape ``(n,)``.
    """
    labels = renumber(labels)
    spread = float(np.mean(embeddings @ centroids(embeddings, np.zeros(len(labels), dtype=np.int64), 1)[0]))
    while labels.max(initial=-1) + 1 > max(min_clusters, 1):
        k = int(labels.max()) + 1
        similarity, pairs = independent_similarity(
            embeddings, times, labels, min_lag=min_lag, lag_scale=lag_scale
        )
        within = np.diag(similarity)
        unsupported = np.flatnonzero(np.isnan(within))
        if unsupported.size:
            # the smallest unsupported cluster joins the cluster whose centroid is nearest
            a = int(unsupported[np.argmin(np.bincount(labels, minlength=k)[unsupported])])
            centres = centroids(embeddings, labels, k)
            cosine = centres @ centres[a]
            cosine[a] = -np.inf
            b = int(np.argmax(cosine))
        else:
            weights = np.diag(pairs)
            pooled = (weights[:, None] * within[:, None] + weights[None, :] * within[None, :]) / (
                weights[:, None] + weights[None, :]
            )
            # no independent pair between two clusters: nothing shows they differ
            gap = np.where(np.isnan(similarity), -np.inf, pooled - similarity)
            cosine = cosine_affinity(centroids(embeddings, labels, k))
            relative = (cosine - spread) / max(1.0 - spread, 1e-6)
            excess = np.maximum(margin - gap, relative - relative_threshold)
            np.fill_diagonal(excess, -np.inf)
            a, b = (int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
            if excess[a, b] <= 0:
                break
        labels = renumber(np.where(labels == max(a, b), min(a, b), labels))
    return labels


def split_minority(
    embeddings: np.ndarray,
    times: np.ndarray,
    labels: np.ndarray,
    *,
    margin: float,
    min_lag: float,
    lag_scale: float,
    min_size: int,
    tail: float = 0.03,
    iterations: int = 5,
) -> np.ndarray:
    """Look inside each cluster for a minority voice the spectral step could not see.

    A second voice with a few percent of the speech (murmurs of assent under a long
    monologue) has too few graph neighbours to get an eigenvector of its own. Its
    windows are, however, the ones least like their cluster's centroid: the ``tail``
    least similar seed a second centroid, a few two-centroid assignment passes grow it,
    and the split is kept when ``merge_same_voice``'s test finds the two parts distinct
    voices (independent-pair gap at least ``margin``). Odd windows of one voice (breaths,
    edges of words) are not coherent among themselves, so their split fails the test.

    Parameters
    ----------
    embeddings
        Shape ``(n, dim)``.
    times
        Centre of each embedding's window, seconds, shape ``(n,)``.
    labels
        Cluster of each embedding, ``0..k-1``, shape ``(n,)``.
    margin, min_lag, lag_scale
        The distinctness test (see ``merge_same_voice``, ``independent_similarity``).
    min_size
        Smallest minority kept, in embeddings.
    tail
        Fraction of a cluster, least similar to its centroid, that seeds the minority.
    iterations
        Two-centroid assignment passes.

    Returns
    -------
    np.ndarray
        Labels renumbered in order of first appearance, shape ``(n,)``.
    """
    labels = renumber(labels).copy()
    for cluster in range(int(labels.max(initial=-1)) + 1):
        members = np.flatnonzero(labels == cluster)
        if members.size < 2 * max(min_size, 2):
            continue
        points = embeddings[members]
        score = points @ centroids(points, np.zeros(members.size, dtype=np.int64), 1)[0]
        minority = score <= np.quantile(score, tail)
        for _ in range(iterations):
            # prune, never grow: a broad voice's own outliers sit as far from its centroid
            # as from the minority's, so growing would pull them in
            centres = centroids(points, minority.astype(np.int64), 2)
            minority &= points @ centres[1] > points @ centres[0]
        if not min_size <= minority.sum() <= members.size - min_size:
            continue
        similarity, pairs = independent_similarity(
            points, times[members], minority.astype(np.int64), min_lag=min_lag, lag_scale=lag_scale
        )
        within = np.diag(similarity)
        pooled = float(np.average(within, weights=np.diag(pairs))) if np.all(np.diag(pairs) > 0) else np.nan
        if pooled - similarity[0, 1] >= margin:
            labels[members[minority]] = int(labels.max()) + 1
    return renumber(labels)


def renumber(labels: np.ndarray) -> np.ndarray:
    """Relabel ``0, 1, ...`` in order of first appearance, shape kept."""
    labels = np.asarray(labels)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse].reshape(labels.shape).astype(np.int64)


def cluster_embeddings(
    embeddings: np.ndarray,
    times: np.ndarray,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    keep: float = 0.2,
    merge_margin: float = 0.05,
    merge_threshold: float = 0.25,
    minority_margin: float = 0.12,
    minority_tail: float = 0.03,
    min_lag: float = 1.0,
    lag_scale: float = 5.0,
    min_cluster_size: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Spectral clustering of speaker embeddings; finds the number of speakers.

    Parameters
    ----------
    embeddings
        Shape ``(n, dim)``.
    times
        Centre of each embedding's window, seconds, shape ``(n,)``.
    num_speakers
        Exact count, when known; otherwise the eigengap picks one in
        ``[min_speakers, max_speakers]`` and clusters that are not distinct voices are
        merged.
    min_speakers, max_speakers
        Allowed range of the count.
    keep
        Fraction of each affinity row kept (NME-SC searches neighbour counts up to it, see ``nme_search``).
    merge_margin, min_lag
        Clusters closer than this are one voice (see ``merge_same_voice``; not applied
        when ``num_speakers`` is given).
    min_cluster_size
        Smallest speaker, in embeddings: the count found is at most
        ``n // min_cluster_size`` (a few embeddings cannot support many speakers).
    seed
        k-means seed, so results are reproducible.

    Returns
    -------
    np.ndarray
        Labels ``0..k-1`` in order of first appearance, shape ``(n,)``.
    """
    from sklearn.cluster import KMeans

    n = embeddings.shape[0]
    if n < 3 or num_speakers == 1:
        return np.zeros(n, dtype=np.int64)
    graph, k = nme_search(
        np.maximum(cosine_affinity(embeddings), 0.0),
        max_keep=keep,
        min_k=min_speakers,
        max_k=max(min_speakers, min(max_speakers, n // max(min_cluster_size, 1))),
    )
    if num_speakers is not None:
        k = min(num_speakers, n)
    if k == 1:
        labels = np.zeros(n, dtype=np.int64)
    else:
        _, eigenvectors = laplacian_eigenvalues(graph)
        spectral = eigenvectors[:, :k]
        spectral = spectral / np.maximum(np.linalg.norm(spectral, axis=1, keepdims=True), 1e-12)
        labels = renumber(KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(spectral))
    if num_speakers is not None:
        return labels
    labels = merge_same_voice(
        embeddings,
        times,
        labels,
        margin=merge_margin,
        min_lag=min_lag,
        lag_scale=lag_scale,
        relative_threshold=merge_threshold,
        min_clusters=min_speakers,
    )
    if labels.max() + 1 >= max_speakers:
        return labels
    return split_minority(
        embeddings,
        times,
        labels,
        margin=minority_margin,
        min_lag=min_lag,
        lag_scale=lag_scale,
        min_size=max(min_cluster_size, 2),
        tail=minority_tail,
    )


def majority_filter(labels: np.ndarray, width: int) -> np.ndarray:
    """Replace each label with the most frequent label in a centred window.

    Ties keep the current label when it is among the most frequent, else the smallest.

    Parameters
    ----------
    labels
        Integer labels ``>= 0``, shape ``(n,)``.
    width
        Window length in items; even widths are rounded up to the next odd one;
        ``width <= 1`` returns a copy.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if width <= 1 or labels.size == 0:
        return labels.copy()
    half = width // 2
    k = int(labels.max()) + 1
    one_hot = np.zeros((labels.size + 2 * half + 1, k))
    one_hot[np.arange(labels.size) + half + 1, labels] = 1.0
    cumulative = np.cumsum(one_hot, axis=0)
    counts = cumulative[2 * half + 1 :] - cumulative[: labels.size]
    best = counts.max(axis=1)
    keep_own = counts[np.arange(labels.size), labels] == best
    return np.where(keep_own, labels, np.argmax(counts, axis=1))


def fold_small_clusters(
    embeddings: np.ndarray, labels: np.ndarray, *, min_size: int, min_clusters: int = 1
) -> np.ndarray:
    """Give the members of clusters with fewer than ``min_size`` items to the nearest big cluster.

    Returns
    -------
    np.ndarray
        Labels renumbered in order of first appearance, shape ``(n,)``. Unchanged when
        no cluster is big enough or folding would leave fewer than ``min_clusters``.
    """
    labels = renumber(labels)
    sizes = np.bincount(labels)
    big = np.flatnonzero(sizes >= min_size)
    if big.size == 0 or big.size == sizes.size or big.size < min_clusters:
        return labels
    centres = centroids(embeddings, labels, sizes.size)[big]
    small = ~np.isin(labels, big)
    nearest = big[np.argmax(embeddings[small] @ centres.T, axis=1)]
    labels = labels.copy()
    labels[small] = nearest
    return renumber(labels)


def resegment(embeddings: np.ndarray, labels: np.ndarray, *, width: int, iterations: int) -> np.ndarray:
    """Re-assign every item to its nearest centroid, then majority-filter; repeat.

    Clustering decides who the speakers are; this decides where each one speaks, from
    each partial's own similarity to every speaker rather than its graph neighbours.

    Returns
    -------
    np.ndarray
        Labels in order of first appearance, shape ``(n,)``.
    """
    for _ in range(iterations):
        k = int(labels.max()) + 1
        nearest = np.argmax(embeddings @ centroids(embeddings, labels, k).T, axis=1)
        updated = majority_filter(nearest, width)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return renumber(labels)


def label_segments(
    centers: np.ndarray, labels: np.ndarray, *, duration: float
) -> list[tuple[float, float, int]]:
    """Contiguous runs of one label as ``(start, end, label)``; changes fall halfway between items.

    Parameters
    ----------
    centers
        Time of each labelled item, seconds, ascending, shape ``(n,)``.
    labels
        Label of each item, shape ``(n,)``.
    duration
        End of the last segment, seconds (the first starts at 0).

    Returns
    -------
    list of (float, float, int)
        Segments covering ``[0, duration]`` without gaps, in time order.
    """
    if len(labels) == 0 or duration <= 0:
        return []
    changes = np.flatnonzero(np.diff(labels)) + 1
    bounds = [0.0, *((centers[changes - 1] + centers[changes]) / 2).tolist(), duration]
    firsts = [0, *changes.tolist()]
    return [
        (float(bounds[i]), float(bounds[i + 1]), int(labels[first]))
        for i, first in enumerate(firsts)
        if bounds[i + 1] > bounds[i]
    ]


# --------------------------------------------------------------------------- backend


class EmbeddedDiarizer:
    """CPU diarizer from weights that ship in PyPI packages (see the module docstring).

    Parameters
    ----------
    config
        Tuning knobs; the defaults are the best measured on the project's references.

    Raises
    ------
    ModelError
        The Silero VAD or resemblyzer weights are missing (reinstall faster-whisper /
        resemblyzer).
    """

    def __init__(self, config: EmbeddedDiarizerConfig | None = None) -> None:
        self.config = config or EmbeddedDiarizerConfig()
        vad_path, encoder_path = _model_paths()
        fw_version, encoder_version = _version("faster-whisper"), _version("resemblyzer")
        for path, package in ((vad_path, "faster-whisper"), (encoder_path, "resemblyzer")):
            if not path.is_file():
                raise ModelError(
                    f"{path}: model weights missing; reinstall {package} "
                    f"(`pip install --force-reinstall {package}`)"
                )
        from resemblyzer import VoiceEncoder

        self._vad = SileroVad(vad_path)
        self._encoder = VoiceEncoder(device="cpu", verbose=False, weights_fpath=encoder_path)
        self._identities = (
            ModelIdentity(
                role="vad",
                name="silero-vad-v6",
                source=f"pypi:faster-whisper=={fw_version} faster_whisper/assets/{vad_path.name}",
                sha256=file_sha256(vad_path),
            ),
            ModelIdentity(
                role="speaker-embedding",
                name="resemblyzer-ge2e",
                source=f"pypi:resemblyzer=={encoder_version} resemblyzer/{encoder_path.name}",
                sha256=file_sha256(encoder_path),
            ),
        )

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """The VAD and speaker-embedding models, with checksums."""
        return self._identities

    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
    ) -> Diarization:
        """Diarize ``audio`` (float32, 16 kHz mono, shape ``(samples,)``).

        Returns
        -------
        Diarization
            Labels ``SPEAKER_00``, ``SPEAKER_01``... in order of first speech; seconds
            from the start of ``audio``; ``regular`` equals ``exclusive``.
        """
        cfg = self.config
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        duration = audio.size / SAMPLE_RATE
        regions = speech_regions(
            self.speech_probabilities(audio),
            frame_seconds=VAD_WINDOW_SAMPLES / SAMPLE_RATE,
            threshold=cfg.vad_threshold,
            min_speech=cfg.min_speech,
            min_silence=cfg.min_silence,
            pad=cfg.speech_pad,
            duration=duration,
        )
        logger.debug(
            "%d speech regions, %.1f s of %.1f s", len(regions), sum(e - s for s, e in regions), duration
        )
        if not regions:
            return _to_diarization([])
        speech = KeptTimeline(duration, tuple(regions))
        stream = speech.kept_audio(audio, SAMPLE_RATE)
        embeddings, centers = self.partial_embeddings(stream)
        labels = self.assign_speakers(
            embeddings,
            centers,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
        turns = [
            (start, end, label)
            for k_start, k_end, label in label_segments(centers, labels, duration=stream.size / SAMPLE_RATE)
            for start, end in speech.interval_to_original(k_start, k_end)
        ]
        logger.debug("%d speakers, %d turns", int(labels.max()) + 1, len(turns))
        return _to_diarization(turns)

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Silero speech probability per 512-sample window, shape ``(ceil(samples / 512),)``."""
        return self._vad.probabilities(audio, pad_end=True)

    def partial_embeddings(self, stream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """GE2E embeddings of 1.6 s windows every ``1 / embedding_rate`` seconds of ``stream``.

        Parameters
        ----------
        stream
            Speech audio, float32 16 kHz, shape ``(samples,)``.

        Returns
        -------
        embeddings : np.ndarray
            Unit-norm, shape ``(partials, 256)``.
        centers : np.ndarray
            Centre of each window, seconds into ``stream`` (clipped to its length),
            shape ``(partials,)``.
        """
        import torch
        from resemblyzer.audio import wav_to_mel_spectrogram

        rms = float(np.sqrt(np.mean(np.square(stream, dtype=np.float64))))
        if rms > 0:
            # the mel features are linear, not log: loudness shifts the embedding
            stream = stream * np.float32(10 ** (_TARGET_DBFS / 20) / rms)
        mel = wav_to_mel_spectrogram(stream)
        if mel.shape[0] < PARTIAL_FRAMES:
            mel = np.pad(mel, ((0, PARTIAL_FRAMES - mel.shape[0]), (0, 0)))
        hop = max(1, round(1 / (self.config.embedding_rate * MEL_HOP_SECONDS)))
        starts = partial_starts(mel.shape[0], window=PARTIAL_FRAMES, hop=hop)
        windows = np.lib.stride_tricks.sliding_window_view(mel, PARTIAL_FRAMES, axis=0)
        batches = []
        with torch.inference_mode():
            for first in range(0, starts.size, self.config.batch_size):
                chunk = windows[starts[first : first + self.config.batch_size]].transpose(0, 2, 1)
                batches.append(self._encoder(torch.from_numpy(np.ascontiguousarray(chunk))).numpy())
        centers = np.minimum((starts + PARTIAL_FRAMES / 2) * MEL_HOP_SECONDS, stream.size / SAMPLE_RATE)
        return np.concatenate(batches).astype(np.float64), centers

    def assign_speakers(
        self,
        embeddings: np.ndarray,
        times: np.ndarray,
        *,
        num_speakers: int | None,
        min_speakers: int,
        max_speakers: int,
    ) -> np.ndarray:
        """Speaker label per partial: cluster, smooth, fold tiny clusters, re-segment.

        Parameters
        ----------
        embeddings
            Shape ``(partials, dim)``, in time order.
        times
            Centre of each partial's window, seconds, shape ``(partials,)``.

        Returns
        -------
        np.ndarray
            Labels ``0..k-1`` in order of first appearance, shape ``(partials,)``.
        """
        cfg = self.config
        n = embeddings.shape[0]
        # Overlapping neighbours are near-duplicates that chain the affinity graph into
        # time slices, and a dense eigendecomposition is cubic: cluster an even subsample.
        step = max(
            1, round(cfg.embedding_rate / cfg.cluster_rate), int(np.ceil(n / cfg.max_cluster_partials))
        )
        sample = embeddings[::step]
        labels = cluster_embeddings(
            sample,
            times[::step],
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            keep=cfg.affinity_keep,
            merge_margin=cfg.merge_margin,
            merge_threshold=cfg.merge_threshold,
            minority_margin=cfg.minority_margin,
            minority_tail=cfg.minority_tail,
            min_lag=cfg.independent_lag,
            lag_scale=cfg.lag_scale,
            min_cluster_size=max(1, int(np.ceil(cfg.min_speaker_time * cfg.embedding_rate / step))),
        )
        if step > 1:
            k = int(labels.max()) + 1
            labels = np.argmax(embeddings @ centroids(sample, labels, k).T, axis=1)
        width = round(cfg.median_filter * cfg.embedding_rate)
        labels = majority_filter(labels, width)
        if num_speakers is None:
            min_size = int(np.ceil(cfg.min_speaker_time * cfg.embedding_rate))
            labels = fold_small_clusters(embeddings, labels, min_size=min_size, min_clusters=min_speakers)
        return resegment(embeddings, renumber(labels), width=width, iterations=cfg.resegment_iterations)


def _to_diarization(turns: Sequence[tuple[float, float, int]]) -> Diarization:
    from pyannote.core import Annotation, Segment

    annotation: Annotation = Annotation()
    order = renumber(np.array([label for _, _, label in turns])) if turns else np.zeros(0, dtype=np.int64)
    for (start, end, _), label in zip(turns, order, strict=True):
        annotation[Segment(start, end)] = f"SPEAKER_{int(label):02d}"
    annotation = annotation.support()  # joins touching turns of one speaker
    return Diarization(regular=annotation, exclusive=annotation.copy())


def _model_paths() -> tuple[Path, Path]:
    import importlib.util

    paths = []
    wanted = (("faster_whisper", "assets/silero_vad_v6.onnx"), ("resemblyzer", "pretrained.pt"))
    for module, relative in wanted:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ModelError(f"{module}: package not installed; `pip install {module.replace('_', '-')}`")
        paths.append(Path(spec.origin).parent / relative)
    return paths[0], paths[1]


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
