"""Pure helpers of the embedded diarizer, on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.stages.diarize_embedded import (
    cluster_embeddings,
    eigengap_count,
    fold_small_clusters,
    label_segments,
    majority_filter,
    merge_similar_clusters,
    partial_starts,
    renumber,
    resegment,
    speech_regions,
)


def _speakers(rng: np.random.Generator, counts: list[int], *, spread: float = 0.15, dim: int = 32) -> tuple:
    """Unit embeddings around ``len(counts)`` random centres, in contiguous turns."""
    centres = rng.standard_normal((len(counts), dim))
    labels = np.repeat(np.arange(len(counts)), counts)
    points = centres[labels] + spread * np.sqrt(dim) * rng.standard_normal((labels.size, dim)) / np.sqrt(dim)
    return points / np.linalg.norm(points, axis=1, keepdims=True), labels


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
    labels = cluster_embeddings(points)
    assert labels.max() + 1 == len(counts)
    assert labels.tolist() == renumber(truth).tolist()


def test_cluster_embeddings_honours_num_and_range() -> None:
    points, _ = _speakers(np.random.default_rng(3), [30, 30, 30])
    assert cluster_embeddings(points, num_speakers=2).max() + 1 == 2
    assert cluster_embeddings(points, num_speakers=1).tolist() == [0] * 90
    assert cluster_embeddings(points, max_speakers=2).max() + 1 <= 2


def test_merge_similar_clusters() -> None:
    points, truth = _speakers(np.random.default_rng(11), [30, 30])
    split = truth.copy()
    split[15:30] = 2  # one speaker cut in two
    assert merge_similar_clusters(points, split, threshold=0.25).max() + 1 == 2
    assert merge_similar_clusters(points, split, threshold=1.0).max() + 1 == 3
    assert merge_similar_clusters(points, split, threshold=0.25, min_clusters=3).max() + 1 == 3


def test_fold_small_clusters_and_resegment() -> None:
    points, truth = _speakers(np.random.default_rng(5), [30, 30])
    noisy = truth.copy()
    noisy[[3, 40]] = 2  # a spurious two-item cluster
    folded = fold_small_clusters(points, noisy, min_size=5)
    assert folded.tolist() == truth.tolist()
    wrong = truth.copy()
    wrong[25:30] = 1  # a late speaker change
    assert resegment(points, wrong, width=3, iterations=2).tolist() == truth.tolist()
