"""Speaker clustering rules on synthetic embeddings with known answers (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.stages.diarization.clustering import (
    UNASSIGNED,
    agglomerate,
    assign,
    cluster_local_speakers,
    dissolve,
    ghosts,
    merge_similar_clusters,
    two_voice_chunks,
    unit,
)
from pipeline.stages.diarization.settings import ClusteringConfig

DIM = 32
RULES = ClusteringConfig()


def voices(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` orthogonal unit 'voices', shape ``(count, DIM)``."""
    q, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    return q[:count]


def around(rng: np.random.Generator, voice: np.ndarray, n: int, *, spread: float = 0.5) -> np.ndarray:
    """``n`` noisy unit embeddings of ``voice``; ``spread`` 0.5 gives pairwise cosines about 0.8."""
    return unit(voice + spread * rng.standard_normal((n, DIM)) / np.sqrt(DIM))


def chunks_of(*per_chunk: tuple[np.ndarray | None, ...]) -> np.ndarray:
    """Stack ``(local speaker embeddings per chunk)`` into ``(chunks, 3, DIM)`` with NaN rows."""
    out = np.full((len(per_chunk), 3, DIM), np.nan)
    for c, row in enumerate(per_chunk):
        for s, vector in enumerate(row):
            if vector is not None:
                out[c, s] = vector
    return out


def test_two_voices_in_turn_are_two_speakers_and_one_per_chunk_slot() -> None:
    rng = np.random.default_rng(0)
    a, b = voices(rng, 2)
    ea, eb = around(rng, a, 20), around(rng, b, 20)
    embeddings = chunks_of(*[(ea[i], eb[i]) for i in range(20)])
    speech = np.where(np.isnan(embeddings[..., 0]), 0.0, 2.0)
    hard, centre = cluster_local_speakers(embeddings, speech, speech, RULES)
    assert centre.shape == (2, DIM)
    assert len(set(hard[:, 0])) == 1 and len(set(hard[:, 1])) == 1 and hard[0, 0] != hard[0, 1]
    assert (hard[:, 2] == UNASSIGNED).all()


def test_local_speakers_of_one_chunk_share_a_speaker_only_when_one_voice_was_split() -> None:
    centre = unit(np.array([[1.0, 0.0], [0.0, 1.0]]))
    # Both local speakers look like the first voice: one sure, one a short murmur.
    embeddings = np.array([[unit(np.array([1.0, 0.1])), unit(np.array([0.9, 0.2])), [np.nan, np.nan]]])
    short_murmur = np.array([[3.0, 0.3, 0.0]])
    hard = assign(embeddings, centre, short_murmur, RULES)
    assert sorted(hard[0, :2]) == [0, 1] and hard[0, 2] == UNASSIGNED  # kept apart: the murmur is noisy
    both_sure = np.array([[3.0, 2.0, 0.0]])
    hard = assign(embeddings, centre, both_sure, RULES)
    assert list(hard[0, :2]) == [0, 0]  # one voice split in two: the second resembles speaker 1 too little
    # A sure second voice that does resemble speaker 1 (two people talking at once) goes there.
    overlap = np.array([[unit(np.array([1.0, 0.1])), unit(np.array([0.8, 0.6])), [np.nan, np.nan]]])
    hard = assign(overlap, centre, both_sure, RULES)
    assert list(hard[0, :2]) == [0, 1]


def test_small_distinct_cluster_stays_a_speaker_and_a_small_similar_one_merges() -> None:
    rng = np.random.default_rng(1)
    guest, host = voices(rng, 2)
    main = around(rng, guest, 30)
    host_bits = around(rng, host, 2)  # a host with two short questions
    odd = unit(guest + 0.9 * rng.standard_normal(DIM) / np.sqrt(DIM))[None]  # one odd guest window
    embeddings = np.vstack([main, host_bits, odd])
    weights = np.r_[np.full(30, 3.0), np.full(2, 1.0), 1.0]
    labels = agglomerate(embeddings, weights, RULES)
    assert labels.max() + 1 == 2
    assert labels[30] == labels[31] != labels[0]  # the host is kept, on its own
    assert labels[32] == labels[0]  # the odd window is the guest's


def test_clusters_with_alike_centroids_merge() -> None:
    rng = np.random.default_rng(2)
    (voice,) = voices(rng, 1)
    noisy = around(rng, voice, 40, spread=1.6)  # pairwise cosines about 0.3: average linkage splits
    labels = np.r_[np.zeros(20, int), np.ones(20, int)]
    merged = merge_similar_clusters(noisy, labels, np.ones(40), RULES)
    assert merged.max() == 0


def test_num_speakers_and_bounds_set_the_count() -> None:
    rng = np.random.default_rng(3)
    vs = voices(rng, 4)
    embeddings = np.vstack([around(rng, v, 10) for v in vs])
    weights = np.full(40, 2.0)
    assert agglomerate(embeddings, weights, RULES).max() + 1 == 4
    assert agglomerate(embeddings, weights, RULES, num_speakers=2).max() + 1 == 2
    assert agglomerate(embeddings, weights, RULES, max_speakers=3).max() + 1 == 3
    assert agglomerate(embeddings, weights, RULES, min_speakers=6).max() + 1 == 6


def test_a_speaker_with_under_a_second_of_speech_is_dissolved() -> None:
    rng = np.random.default_rng(4)
    a, b, c = voices(rng, 3)
    ea, eb = around(rng, a, 10), around(rng, b, 10)
    rows = [(ea[i], eb[i]) for i in range(10)] + [(around(rng, c, 1)[0],)]
    embeddings = chunks_of(*rows)
    clean = np.where(np.isnan(embeddings[..., 0]), 0.0, 2.0)
    clean[-1, 0] = 0.6  # the third voice: one short burst, below min_speaker_speech
    hard, centre = cluster_local_speakers(embeddings, clean, clean, RULES)
    assert centre.shape[0] == 2 and hard[-1, 0] in (0, 1)


def test_dissolve_moves_to_the_next_best_and_renumbers() -> None:
    centre = unit(np.eye(3))
    embeddings = unit(np.array([[[1.0, 0.0, 0.0]], [[0.0, 0.2, 1.0]], [[0.0, 1.0, 0.0]]]))
    hard = np.array([[0], [2], [1]])
    moved = dissolve(embeddings, hard, centre, np.array([2]))
    assert moved.tolist() == [[0], [1], [1]]


def test_ghosts_are_slivers_without_a_long_turn() -> None:
    speech = np.array([100.0, 1.0, 1.5, 30.0])
    longest = np.array([20.0, 0.6, 2.5, 5.0])
    assert ghosts(speech, longest, max_share=0.02, max_turn=2.0).tolist() == [1]
    assert ghosts(np.zeros(2), np.zeros(2), max_share=0.02, max_turn=2.0).size == 0


def test_nothing_to_cluster() -> None:
    embeddings = np.full((3, 3, DIM), np.nan)
    hard, centre = cluster_local_speakers(embeddings, np.zeros((3, 3)), np.zeros((3, 3)), RULES)
    assert (hard == UNASSIGNED).all() and centre.shape == (0, DIM)


@pytest.mark.parametrize("n", [1, 2])
def test_one_or_two_embeddings(n: int) -> None:
    rng = np.random.default_rng(5)
    embeddings = around(rng, voices(rng, 1)[0], n)
    assert agglomerate(embeddings, np.ones(n), RULES).max() == 0


def test_odd_chunks_borrow_the_embedding_of_the_same_track_next_door() -> None:
    from pipeline.stages.diarization.chunks import link_to_neighbours

    # Three chunks of 8 frames, 4 frames apart: one voice runs through all of them on
    # local speaker 0 (chunk 1 calls it local speaker 2); a second voice appears in
    # chunk 1 only, in frames no neighbour tracks.
    activity = np.zeros((3, 8, 3))
    activity[0, 4:, 0] = 1
    activity[1, :4, 2] = 1
    activity[1, 5:7, 1] = 1
    activity[2, :4, 0] = 1
    enough = activity.sum(axis=1) > 0
    links = link_to_neighbours(activity, enough, np.array([0, 4, 8]))
    assert tuple(links[1, 2]) in {(0, 0), (2, 0)}
    assert tuple(links[1, 1]) == (-1, -1)  # its own embedding
    assert (links[[0, 2]] == -1).all()  # even chunks always embed


def test_each_second_counts_once_across_overlapping_chunks() -> None:
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    from pipeline.stages.diarization.chunks import frame_seconds

    chunks = SlidingWindow(start=0.0, duration=10.0, step=2.5)
    frames = SlidingWindow(start=0.0, duration=0.5, step=0.5)  # 20 frames per chunk
    segmentations = SlidingWindowFeature(np.ones((5, 20, 1)), chunks)
    seconds = frame_seconds(segmentations, frames)
    assert seconds.sum() == pytest.approx(20.0)  # 5 chunks reach from 0 s to 20 s
    assert seconds[2, 10] == pytest.approx(0.5 / 4)  # mid-recording: four chunks share a frame


def test_two_voice_chunks_counts_chunks_with_two_sure_local_speakers() -> None:
    alone = np.array([[2.0, 1.5, 0.0], [2.0, 0.2, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 3.0]])
    valid = alone > 0
    valid[3, 2] = False  # no embedding: not sure, however long
    assert two_voice_chunks(alone, valid, min_speech=1.0) == (2, 3)


def test_min_speakers_holds_through_the_refinement_merges() -> None:
    """Two alike voices that the refinement would merge stay two when two are asked for."""
    rng = np.random.default_rng(4)
    a, b = voices(rng, 2)
    alike = unit(a + 0.9 * b)
    ea, eb = around(rng, a, 20), around(rng, alike, 20)
    embeddings = chunks_of(*[(ea[i], eb[i]) for i in range(20)])
    speech = np.where(np.isnan(embeddings[..., 0]), 0.0, 2.0)
    rules = RULES.model_copy(update={"centroid_threshold": 0.5})
    assert cluster_local_speakers(embeddings, speech, speech, rules)[1].shape[0] == 1
    hard, centre = cluster_local_speakers(embeddings, speech, speech, rules, min_speakers=2)
    assert centre.shape[0] == 2 and hard[0, 0] != hard[0, 1]
