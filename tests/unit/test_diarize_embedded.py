"""Pure helpers of the embedded diarizer, on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.stages.diarize_embedded import (
    cluster_embeddings,
    eigengap_count,
    fold_small_clusters,
    independent_similarity,
    label_segments,
    majority_filter,
    merge_same_voice,
    partial_starts,
    renumber,
    resegment,
    speech_regions,
    split_minority,
)

HOP = 0.5  # seconds between synthetic embeddings, as the clustered partials (2 per second)


def _speakers(rng: np.random.Generator, counts: list[int], *, spread: float = 0.15, dim: int = 32) -> tuple:
    """Unit embeddings around ``len(counts)`` random centres, in contiguous turns."""
    centres = rng.standard_normal((len(counts), dim))
    labels = np.repeat(np.arange(len(counts)), counts)
    points = centres[labels] + spread * np.sqrt(dim) * rng.standard_normal((labels.size, dim)) / np.sqrt(dim)
    return points / np.linalg.norm(points, axis=1, keepdims=True), labels


def _times(n: int) -> np.ndarray:
    return np.arange(n) * HOP


def _drifting_voice(
    rng: np.random.Generator, n: int, *, drift: float, noise: float = 0.3, dim: int = 32
) -> np.ndarray:
    """One voice whose centre wanders (a random walk of ``drift`` per step), unit rows.

    Neighbours share a smoothed noise term, as overlapping windows share audio.
    """
    walk = np.cumsum(drift * rng.standard_normal((n, dim)) / np.sqrt(dim), axis=0)
    shared = rng.standard_normal((n + 3, dim)) / np.sqrt(dim)
    smooth = (shared[:-3] + shared[1:-2] + shared[2:-1] + shared[3:]) / 2
    points = rng.standard_normal(dim) + walk + noise * smooth
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_speech_regions_hysteresis_bridging_and_padding() -> None:
    probs = np.array([0.0, 0.9, 0.4, 0.9, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9, 0.0, 0.6, 0.0])
    regions = speech_regions(
        probs, frame_seconds=1.0, threshold=0.5, min_speech=0.0, min_silence=2.0, pad=0.0, duration=13.0
    )
    # 0.4 >= 0.5 - 0.15 keeps frames 1-3 one run; the 4 s gap stays, the 1 s gap is bridged
    assert regions == [(1.0, 4.0), (8.0, 12.0)]


def test_speech_regions_drops_short_and_splits_padding() -> None:
    probs = np.array([0.9, 0.9, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9])
    regions = speech_regions(
        probs, frame_seconds=1.0, threshold=0.5, min_speech=1.5, min_silence=0.5, pad=1.0, duration=10.5
    )
    # the 1 s blip at 4 is dropped; padding is clipped to the audio and never overlaps
    assert regions == [(0.0, 3.0), (8.0, 10.5)]


def test_speech_regions_empty() -> None:
    assert (
        speech_regions(
            np.zeros(5), frame_seconds=0.1, threshold=0.5, min_speech=0, min_silence=0, pad=0.1, duration=0.5
        )
        == []
    )


def test_partial_starts_cover_the_tail() -> None:
    assert partial_starts(10, window=4, hop=3).tolist() == [0, 3, 6]
    assert partial_starts(11, window=4, hop=3).tolist() == [0, 3, 6, 7]
    assert partial_starts(2, window=4, hop=3).tolist() == [0]


def test_renumber_by_first_appearance() -> None:
    assert renumber(np.array([5, 5, 2, 9, 2, 5])).tolist() == [0, 0, 1, 2, 1, 0]


def test_majority_filter_removes_blips_and_keeps_ties() -> None:
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 1, 1, 1])
    assert majority_filter(labels, 3).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert majority_filter(labels, 1).tolist() == labels.tolist()
    # a window of 2 is treated as 3
    assert majority_filter(np.array([1, 0, 1]), 2).tolist() == [1, 1, 1]


def test_label_segments_change_halfway() -> None:
    centers = np.array([0.5, 1.0, 1.5, 2.0])
    segments = label_segments(centers, np.array([0, 0, 1, 1]), duration=3.0)
    assert segments == [(0.0, 1.25, 0), (1.25, 3.0, 1)]
    assert label_segments(centers[:0], np.array([], dtype=int), duration=3.0) == []


def test_eigengap_count_respects_range() -> None:
    eigenvalues = np.array([0.0, 0.01, 0.3, 0.9, 0.95])
    assert eigengap_count(eigenvalues, min_k=1, max_k=4) == 3
    assert eigengap_count(eigenvalues, min_k=1, max_k=2) == 2
    assert eigengap_count(eigenvalues, min_k=4, max_k=8) == 4


@pytest.mark.parametrize("counts", [[40, 30], [30, 25, 20], [20, 20, 20, 20]])
def test_cluster_embeddings_finds_the_count(counts: list[int]) -> None:
    points, truth = _speakers(np.random.default_rng(7), counts)
    labels = cluster_embeddings(points, _times(len(points)))
    assert labels.max() + 1 == len(counts)
    assert labels.tolist() == renumber(truth).tolist()


def test_cluster_embeddings_honours_num_and_range() -> None:
    points, _ = _speakers(np.random.default_rng(3), [30, 30, 30])
    times = _times(90)
    assert cluster_embeddings(points, times, num_speakers=2).max() + 1 == 2
    assert cluster_embeddings(points, times, num_speakers=1).tolist() == [0] * 90
    assert cluster_embeddings(points, times, max_speakers=2).max() + 1 <= 2


def test_independent_similarity_ignores_overlapping_pairs() -> None:
    rng = np.random.default_rng(0)
    points = rng.standard_normal((4, 8))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    times = np.array([0.0, 0.5, 5.0, 5.5])
    similarity, pairs = independent_similarity(
        points, times, np.array([0, 0, 1, 1]), min_lag=1.0, lag_scale=1e9
    )
    # inside each cluster every pair is 0.5 s apart: no evidence, NaN
    assert np.isnan(similarity[0, 0]) and np.isnan(similarity[1, 1])
    assert pairs.tolist() == [[0, 4], [4, 0]]
    assert similarity[0, 1] == pytest.approx(float(np.mean(points[:2] @ points[2:].T)))


def test_independent_similarity_weights_near_pairs() -> None:
    points = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    times = np.array([0.0, 2.0, 100.0])
    similarity, _ = independent_similarity(
        points, times, np.zeros(3, dtype=np.int64), min_lag=1.0, lag_scale=5.0
    )
    # the 2 s pair (cosine 1, weight ~0.8) outweighs the ~100 s pairs (cosine 0), whose
    # weight is the 1e-6 floor
    assert similarity[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_merge_same_voice_joins_slices_of_one_drifting_voice() -> None:
    rng = np.random.default_rng(1)
    points = _drifting_voice(rng, 60, drift=0.15)
    slices = np.repeat(np.arange(6), 10)  # what the eigengap proposes: six time slices
    merged = merge_same_voice(points, _times(60), slices, margin=0.05, min_lag=1.0, lag_scale=5.0)
    assert merged.tolist() == [0] * 60


def test_merge_same_voice_keeps_two_voices_in_turns() -> None:
    rng = np.random.default_rng(2)
    a, b = _drifting_voice(rng, 120, drift=0.05), _drifting_voice(rng, 120, drift=0.05)
    truth = np.repeat(np.arange(12) % 2, 10)  # six turns each, alternating
    points = np.where(truth[:, None] == 0, a, b)
    over_split = truth * 2 + (np.arange(120) >= 60)  # each voice also cut in time
    merged = merge_same_voice(points, _times(120), over_split, margin=0.05, min_lag=1.0, lag_scale=5.0)
    assert merged.tolist() == renumber(truth).tolist()
    # a margin nothing reaches merges everything; an impossible one keeps the four
    assert (
        merge_same_voice(points, _times(120), over_split, margin=2.0, min_lag=1.0, lag_scale=5.0).max() == 0
    )
    kept = merge_same_voice(points, _times(120), over_split, margin=-2.0, min_lag=1.0, lag_scale=5.0)
    assert kept.max() + 1 == 4
    assert (
        merge_same_voice(
            points, _times(120), over_split, margin=2.0, min_lag=1.0, lag_scale=5.0, min_clusters=3
        ).max()
        + 1
        == 3
    )


def test_merge_same_voice_folds_unsupported_slices_first() -> None:
    points, truth = _speakers(np.random.default_rng(11), [30, 30])
    split = truth.copy()
    split[10:12] = 2  # a 1 s slice: no independent pair inside it
    merged = merge_same_voice(points, _times(60), split, margin=-2.0, min_lag=1.0, lag_scale=5.0)
    assert merged.tolist() == truth.tolist()


def test_split_minority_finds_murmurs_under_a_monologue() -> None:
    rng = np.random.default_rng(4)
    n = 600
    points = _drifting_voice(rng, n, drift=0.02)
    murmurs = np.zeros(n, dtype=bool)
    for start in rng.choice(np.arange(5, n - 5, 25), size=8, replace=False):
        murmurs[start : start + 2] = True  # 8 backchannels of 1 s, 2.7 % of the time
    other = _drifting_voice(rng, n, drift=0.02)
    points = np.where(murmurs[:, None], other, points)
    labels = split_minority(
        points, _times(n), np.zeros(n, dtype=np.int64), margin=0.12, min_lag=1.0, lag_scale=5.0, min_size=2
    )
    assert labels.max() + 1 == 2
    # the split finds the murmurs' core; re-segmentation later gives it the rest
    assert np.mean(labels[murmurs] != labels[0]) >= 0.75
    assert np.mean(labels[~murmurs] == labels[0]) >= 0.99


def test_split_minority_leaves_one_voice_alone() -> None:
    points = _drifting_voice(np.random.default_rng(6), 400, drift=0.1)
    labels = split_minority(
        points,
        _times(400),
        np.zeros(400, dtype=np.int64),
        margin=0.12,
        min_lag=1.0,
        lag_scale=5.0,
        min_size=2,
    )
    assert labels.tolist() == [0] * 400


def test_fold_small_clusters_and_resegment() -> None:
    points, truth = _speakers(np.random.default_rng(5), [30, 30])
    noisy = truth.copy()
    noisy[[3, 40]] = 2  # a spurious two-item cluster
    folded = fold_small_clusters(points, noisy, min_size=5)
    assert folded.tolist() == truth.tolist()
    wrong = truth.copy()
    wrong[25:30] = 1  # a late speaker change
    assert resegment(points, wrong, width=3, iterations=2).tolist() == truth.tolist()
