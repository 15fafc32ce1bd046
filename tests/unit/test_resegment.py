"""Resegmentation on hand-built frame matrices and synthetic voices with known answers (no model)."""

from __future__ import annotations

import numpy as np

from pipeline.stages.diarization.resegment import (
    VoicesHeard,
    frame_levels,
    longest_runs,
    pause_frames,
    refine,
    refine_tails,
    resegment,
    short_utterances,
    speech_pieces,
    turn_tails,
)
from pipeline.stages.diarization.settings import ClusteringConfig

DIM = 16
STEP = 0.1  # seconds between frames
RULES = ClusteringConfig()
HEARD = np.ones(300, dtype=np.int8)  # one voice at a time everywhere


def everyone(frames: int) -> VoicesHeard:
    """The segmentation's local speakers sound like every voice in every frame."""
    return lambda voices: np.ones((frames, len(voices)), dtype=bool)


ANYONE = everyone(300)


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
        frames.copy(),
        frames.copy(),
        pieces,
        vectors,
        guest[None],
        RULES,
        heard=HEARD,
        voices_heard=ANYONE,
        step=STEP,
        max_new=1,
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
        frames.copy(),
        frames.copy(),
        pieces,
        vectors,
        guest[None],
        RULES,
        heard=HEARD,
        voices_heard=ANYONE,
        step=STEP,
        max_new=0,
    )
    assert fixed[1].shape[1] == 1
    vectors[[2, 7, 12, 17]] = np.array(others)  # four odd pieces, each a different voice: no speaker
    scattered = resegment(
        frames.copy(),
        frames.copy(),
        pieces,
        vectors,
        guest[None],
        RULES,
        heard=HEARD,
        voices_heard=ANYONE,
        step=STEP,
        max_new=2,
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
        regular,
        exclusive,
        pieces,
        vectors,
        np.vstack([a, b]),
        RULES,
        heard=HEARD,
        voices_heard=ANYONE,
        step=STEP,
        max_new=0,
    )
    assert (exclusive[30:40, 1] == 1).all() and (exclusive[30:40, 0] == 0).all()
    assert (regular[30:40, 1] == 1).all() and (regular[:20, 0] == 1).all()


def murmur_over_a(audible: VoicesHeard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of voices a then b, the segmentation hearing two voices over the end of a's piece.

    Returns the overlap-aware and exclusive views after resegmentation, and voice b.
    """
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
        exclusive.copy(),
        pieces,
        vectors,
        np.vstack([a, b]),
        RULES,
        heard=heard,
        voices_heard=audible,
        step=STEP,
        max_new=0,
    )
    return regular, exclusive, b


def test_overlap_the_segmentation_heard_gets_the_pieces_next_voice() -> None:
    regular, exclusive, _ = murmur_over_a(everyone(20))
    assert (regular[6:10] == 1).all() and (regular[:6, 1] == 0).all()
    assert (exclusive.sum(axis=1) == 1).all()


def test_overlap_is_not_given_to_a_voice_no_local_speaker_sounds_like() -> None:
    """Two voices heard at once, both local speakers sounding like a: a's voice heard twice, not b."""
    b = voices(0, 2)[1]

    def only_a_heard_there(found: np.ndarray) -> np.ndarray:
        audible = np.ones((20, len(found)), dtype=bool)
        audible[:10, int(np.argmax(found @ b))] = False
        return audible

    regular, _, _ = murmur_over_a(only_a_heard_there)
    assert (regular[:10, 0] == 1).all() and (regular[:10, 1] == 0).all()


def test_pauses_are_quiet_against_the_nearby_peak_so_a_quiet_murmur_stays_speech() -> None:
    rng = np.random.default_rng(7)
    hop, frames = 160, 100  # 10 ms frames, 1 s
    samples = 1e-3 * rng.standard_normal(hop * frames)  # line noise, -60 dB
    samples[: 40 * hop] += 0.3 * rng.standard_normal(40 * hop)  # a sentence, -10 dB
    samples[60 * hop : 70 * hop] += 0.01 * rng.standard_normal(10 * hop)  # a murmur, -40 dB: 30 dB quieter
    levels = frame_levels(samples.astype(np.float32), np.arange(frames) * hop, hop)
    assert levels.shape == (frames,)
    assert abs(levels[10] + 10.5) < 1 and abs(levels[50] + 60) < 1
    pauses = pause_frames(levels, step=0.01, drop=35.0)
    assert not pauses[5:38].any() and not pauses[62:68].any()  # the sentence and the murmur are speech
    assert pauses[43:58].all() and pauses[73:].all()


def test_short_utterances_lie_between_pauses_on_one_label() -> None:
    exclusive = np.zeros((60, 2), dtype=np.int8)
    exclusive[0:40, 0] = (
        1  # one 4 s turn on label 0: 2.2 s of speech, a pause, a 0.5 s murmur, a pause, 0.8 s
    )
    exclusive[45:50, 1] = 1  # 0.5 s on label 1 with no pause: a short utterance too
    pauses = np.zeros(60, dtype=bool)
    pauses[22:25] = pauses[30:32] = True
    pauses[41:45] = True  # between the turns: not inside either
    assert short_utterances(exclusive, pauses, step=STEP, min_pause=0.2) == [(25, 30), (32, 40), (45, 50)]
    assert short_utterances(exclusive, pauses, step=STEP, min_pause=0.3) == [(45, 50)]


def test_refine_moves_a_murmur_to_the_voice_it_resembles_by_the_margin() -> None:
    rng = np.random.default_rng(11)
    guest, host = voices(0, 2)
    exclusive = np.zeros((40, 2), dtype=np.int8)
    exclusive[:40, 0] = 1
    regular = exclusive.copy()
    murmurs = [(10, 15), (30, 35)]
    vectors = np.vstack([noisy(rng, host, 1), 0.5 * (guest + host)])  # the second is no nearer the host
    refine(regular, exclusive, murmurs, vectors, np.vstack([guest, host]), margin=RULES.resegment_margin)
    assert (exclusive[10:15, 1] == 1).all() and (regular[10:15, 1] == 1).all()
    assert (exclusive[30:35, 0] == 1).all() and exclusive[:, 1].sum() == 5


def test_turn_tails_are_a_turns_last_quarter_to_six_tenths_of_a_second_and_leave_some_of_it() -> None:
    exclusive = np.zeros((60, 2), dtype=np.int8)
    exclusive[0:40, 0] = 1  # 2 s: tails of 0.25, 0.4 and 0.6 s
    exclusive[50:60, 1] = 1  # 0.5 s: only the 0.25 s tail leaves 0.2 s of the turn
    step = 0.05
    assert turn_tails(exclusive, step=step) == [(28, 40), (32, 40), (35, 40), (55, 60)]


def test_a_reply_latched_on_a_turns_end_moves_only_when_two_of_its_tails_sound_like_it() -> None:
    rng = np.random.default_rng(5)
    guest, host = voices(3, 2)
    exclusive = np.zeros((100, 2), dtype=np.int8)
    exclusive[0:40, 0] = exclusive[50:90, 0] = 1  # two turns of the guest
    regular = exclusive.copy()
    tails = turn_tails(exclusive, step=0.05)  # three per turn, the longest first
    latched = [0.5 * (guest + host), host, noisy(rng, host, 1)[0]]  # the last 0.4 s are the host
    alike_by_chance = [guest, guest, noisy(rng, host, 1)[0]]  # one tail only
    refine_tails(
        regular, exclusive, tails, np.vstack(latched + alike_by_chance), np.vstack([guest, host]), margin=0.1
    )
    assert (exclusive[32:40, 1] == 1).all() and (regular[32:40, 1] == 1).all()  # the tail most like the host
    assert (exclusive[0:32, 0] == 1).all() and exclusive[:, 1].sum() == 8  # the second turn keeps its end
