"""Resegmentation on hand-built frame matrices and synthetic voices with known answers (no model)."""

from __future__ import annotations

import numpy as np

from pipeline.core.config import ClusteringConfig
from pipeline.stages.diarization.resegment import longest_runs, resegment, speech_pieces

DIM = 16
STEP = 0.1  # seconds between frames
RULES = ClusteringConfig()
HEARD = np.ones(300, dtype=np.int8)  # one voice at a time everywhere


def voices(seed: int, count: int) -> np.ndarray:
    """``count`` orthogonal unit voices, shape ``(count, DIM)``."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((DIM, DIM)))
    return q[:count]


def noisy(rng: np.random.Generator, voice: np.ndarray, n: int) -> np.ndarray:
    """``n`` unit embeddings about ``voice`` (pairwise cosine about 0.8)."""
    x = voice + 0.5 * rng.standard_normal((n, DIM)) / np.sqrt(DIM)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_speech_pieces_cut_turns_evenly_never_across_speakers_and_skip_slivers() -> None:
    exclusive = np.zeros((60, 2), dtype=np.int8)
    exclusive[0:40, 0] = 1  # 4 s: cut into three pieces of at most 1.5 s
    exclusive[45:46, 0] = 1  # 0.1 s: too short to embed
    exclusive[46:58, 1] = 1  # 1.2 s of the other speaker, right after: a piece of its own
    pieces = speech_pieces(exclusive, step=STEP, window=1.5)
    assert pieces == [(0, 13), (13, 27), (27, 40), (46, 58)]
    assert all((b - a) * STEP <= 1.5 for a, b in pieces)


def test_longest_runs_per_column_in_seconds() -> None:
    frames = np.zeros((10, 2), dtype=np.int8)
    frames[0:3, 0] = frames[5:9, 0] = frames[2:4, 1] = 1
    assert np.allclose(longest_runs(frames, STEP), [0.4, 0.2])


def test_a_quiet_voice_hidden_in_the_main_label_becomes_its_own_speaker() -> None:
    """Twenty 1.5 s pieces all on one label; four of them are another voice (a host's questions)."""
    rng = np.random.default_rng(1)
    guest, host = voices(0, 2)
    pieces = [(15 * i, 15 * (i + 1)) for i in range(20)]
    asked = [3, 8, 13, 18]
    vectors = noisy(rng, guest, 20)
    vectors[asked] = noisy(rng, host, len(asked))
    frames = np.ones((300, 1), dtype=np.int8)
    regular, exclusive, found = resegment(
        frames.copy(), frames.copy(), pieces, vectors, guest[None], RULES, heard=HEARD, step=STEP, max_new=1
    )
    assert regular.shape[1] == exclusive.shape[1] == found.shape[0] == 2
    host_column = int(np.argmax(found @ host))
    for i, (a, b) in enumerate(pieces):
        assert (exclusive[a:b, host_column] == 1).all() == (i in asked)
    assert (exclusive.sum(axis=1) == 1).all()  # one speaker at a time, no frame lost


def test_no_new_speaker_when_the_count_is_fixed_or_the_outliers_are_not_one_voice() -> None:
    rng = np.random.default_rng(2)
    guest, *others = voices(0, 5)
    pieces = [(15 * i, 15 * (i + 1)) for i in range(20)]
    vectors = noisy(rng, guest, 20)
    frames = np.ones((300, 1), dtype=np.int8)
    fixed = resegment(
        frames.copy(), frames.copy(), pieces, vectors, guest[None], RULES, heard=HEARD, step=STEP, max_new=0
    )
    assert fixed[1].shape[1] == 1
    vectors[[2, 7, 12, 17]] = np.array(others)  # four odd pieces, each a different voice: no speaker
    scattered = resegment(
        frames.copy(), frames.copy(), pieces, vectors, guest[None], RULES, heard=HEARD, step=STEP, max_new=2
    )
    assert scattered[1].shape[1] == 1


def test_a_piece_moves_only_by_the_margin_and_overlap_keeps_its_other_speaker() -> None:
    rng = np.random.default_rng(3)
    a, b = voices(0, 2)
    pieces = [(0, 10), (10, 20), (20, 30), (30, 40)]
    vectors = np.vstack([noisy(rng, a, 2), noisy(rng, b, 2)])
    regular = np.zeros((40, 2), dtype=np.int8)
    exclusive = np.zeros((40, 2), dtype=np.int8)
    exclusive[:20, 0] = exclusive[20:30, 1] = 1
    exclusive[30:40, 0] = 1  # the last piece is voice b but was labelled a
    regular[:] = exclusive
    regular[30:35, 1] = 1  # and b overlaps its first half in the overlap-aware view
    regular, exclusive, _ = resegment(
        regular, exclusive, pieces, vectors, np.vstack([a, b]), RULES, heard=HEARD, step=STEP, max_new=0
    )
    assert (exclusive[30:40, 1] == 1).all() and (exclusive[30:40, 0] == 0).all()
    assert (regular[30:40, 1] == 1).all() and (regular[:20, 0] == 1).all()


def test_overlap_the_segmentation_heard_gets_the_pieces_next_voice() -> None:
    rng = np.random.default_rng(5)
    a, b = voices(0, 2)
    pieces = [(0, 10), (10, 20)]
    vectors = np.vstack([noisy(rng, a, 1), noisy(rng, b, 1)])
    exclusive = np.zeros((20, 2), dtype=np.int8)
    exclusive[:10, 0] = exclusive[10:, 1] = 1
    heard = np.ones(20, dtype=np.int8)
    heard[6:10] = 2  # a murmur of b over the end of a's piece
    regular, exclusive, _ = resegment(
        exclusive.copy(),
        exclusive,
        pieces,
        vectors,
        np.vstack([a, b]),
        RULES,
        heard=heard,
        step=STEP,
        max_new=0,
    )
    assert (regular[6:10] == 1).all() and (regular[:6, 1] == 0).all()
    assert (exclusive.sum(axis=1) == 1).all()
