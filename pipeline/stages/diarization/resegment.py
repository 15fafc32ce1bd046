"""Resegmentation: the speech re-embedded in short pieces and relabelled, so a quiet voice keeps its words.

The segmentation model tracks up to three local speakers per 10 s chunk, and with two
alike voices it often tracks a host's short question or murmur as the same local
speaker as the guest around it: the chunk's embedding is then the guest's, and no
clustering can give those words back to the host. Here the speech is cut anew, each
turn of the exclusive view in pieces of at most ``resegment_window`` seconds, each piece
is embedded on its own, and:

1. each speaker's voice is the mean of its pure pieces (those wholly on one label);
2. pieces of at least a second unlike every speaker (cosine under
   ``new_speaker_similarity``) that are alike among themselves (average linkage at
   ``threshold``), at least ``new_speaker_pieces`` of them, become a new speaker: the
   quiet host whom the chunk-level clustering never saw alone. One at most, the largest
   group: over hours of one voice, its odd pieces form small groups by chance;
3. a few rounds of nearest-voice assignment settle the voices (k-means on the pieces);
4. a piece moves to another speaker when that voice is more similar by at least
   ``resegment_margin``; only its frames on its old label move (overlapped speech
   keeps its other speaker);
5. where the segmentation hears more voices at once than the overlap-aware view holds
   (a murmur over the guest's last words, heard before the host was found), the
   piece's next most similar voices are added there, each only where one of the
   segmentation's local speakers sounds like it (``voices_heard``): over hours of one
   voice, the segmentation now and then hears that voice as two local speakers at once,
   and the second must not become the host;
6. a new speaker that ends up a ghost (``ghost_share``, ``ghost_turn``) is dropped
   and the relabelling redone without it.

Then the short utterances (:func:`short_utterances`): a murmur in the pause after the
guest's sentence is often on the guest's label and is then a fifth of a 1.5 s piece
that sounds like the guest. Cut at the pauses (:func:`pause_frames`), each utterance of
0.15-1 s is embedded on its own and moves like a piece (:func:`refine`).

Last the ends of the turns (:func:`turn_tails`): a murmur latched on the guest's last
word, with no pause between them, is the end of the guest's turn. The turn's last
0.25, 0.4 and 0.6 s are embedded on their own, and where two of them sound like the
same other voice the one most like it moves (:func:`refine_tails`).

Pure numpy/scipy on frame matrices; the embedding is the caller's (CAM++).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from pipeline.stages.diarization.clustering import ghosts, unit
from pipeline.stages.diarization.settings import ClusteringConfig

_ROUNDS = 3  # nearest-voice rounds; the voices settle in one or two
_MIN_PIECE = 0.2  # seconds: shorter pieces are not embedded
_SURE_PIECE = 1.0  # seconds: only pieces this long may found a new speaker (short ones are noisy)
SHORT_SECONDS = (0.15, 1.0)  # seconds: an utterance between pauses this long is embedded on its own
TAIL_SECONDS = (0.25, 0.4, 0.6)  # seconds: the ends of a turn embedded on their own
_TAIL_LEAVES = 0.2  # seconds: a tail leaves at least this much of its turn
_TAIL_VOTES = 2  # tails of one turn that must sound like one other voice before its end moves
_LEVEL_SPAN = 6.0  # seconds: a pause is quiet against the loudest frame within half of this
_LEVEL_BLOCK = 20_000  # frames measured at once (bounded memory on hours of audio)

Piece = tuple[int, int]
VoicesHeard = Callable[[np.ndarray], np.ndarray]
"""Given the voices ``(speakers, dim)``, whether each is heard in each frame, ``(frames, speakers)`` bool."""


def speech_pieces(exclusive: np.ndarray, *, step: float, window: float) -> list[Piece]:
    """Frame ranges ``[start, end)`` to embed: each turn of ``exclusive`` in equal pieces, ``window`` at most.

    Pieces never straddle a change of speaker, so a piece that moves takes one voice with it.

    Parameters
    ----------
    exclusive
        One speaker at a time per frame, binary, shape ``(frames, speakers)``.
    step
        Seconds between frames.
    window
        Longest piece, seconds. Turns shorter than 0.2 s are left out (too little voice).
    """
    pieces: list[Piece] = []
    longest = max(1, round(window / step))
    for k in range(exclusive.shape[1]):
        for a, b in _runs(exclusive[:, k] > 0):
            if (b - a) * step < _MIN_PIECE:
                continue
            count = -(-(b - a) // longest)
            edges = np.linspace(a, b, count + 1).round().astype(int)
            pieces += [(int(x), int(y)) for x, y in itertools.pairwise(edges)]
    return sorted(pieces)


def _runs(mask: np.ndarray) -> list[Piece]:
    """``[start, end)`` of each run of true values."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def frame_levels(samples: np.ndarray, starts: np.ndarray, hop: int) -> np.ndarray:
    """Level of each frame, dB (mean square of ``samples[start : start + hop]``), shape ``(frames,)``."""
    starts = np.clip(starts, 0, max(0, samples.size - hop))
    windows = np.lib.stride_tricks.sliding_window_view(samples, min(hop, samples.size))
    power = np.concatenate(
        [
            np.square(windows[starts[i : i + _LEVEL_BLOCK]], dtype=np.float64).mean(axis=1)
            for i in range(0, starts.size, _LEVEL_BLOCK)
        ]
    )
    return 10 * np.log10(power + 1e-10)


def pause_frames(levels: np.ndarray, *, step: float, drop: float) -> np.ndarray:
    """Frames ``drop`` dB or more under the loudest frame near them (``_LEVEL_SPAN``): pauses, ``(frames,)``.

    ``levels`` in dB per frame, ``step`` seconds between frames. Against the local peak,
    not a fixed floor, so a quiet host's murmur is speech and line noise is a pause.
    """
    smooth = uniform_filter1d(levels, 3)
    return smooth < maximum_filter1d(smooth, size=max(1, round(_LEVEL_SPAN / step))) - drop


def short_utterances(
    exclusive: np.ndarray, pauses: np.ndarray, *, step: float, min_pause: float
) -> list[Piece]:
    """Frame ranges of each speaker's speech between pauses of ``min_pause`` seconds or more, 0.15-1 s long.

    Parameters
    ----------
    exclusive
        One speaker at a time per frame, binary, shape ``(frames, speakers)``.
    pauses
        Quiet frames (:func:`pause_frames`), shape ``(frames,)``.
    step
        Seconds between frames.
    """
    shortest, longest = (round(s / step) for s in SHORT_SECONDS)
    least_pause = max(1, round(min_pause / step))
    pieces: list[Piece] = []
    for k in range(exclusive.shape[1]):
        for a, b in _runs(exclusive[:, k] > 0):
            quiet = [(a + x, a + y) for x, y in _runs(pauses[a:b]) if y - x >= least_pause]
            edges = [a, *itertools.chain.from_iterable(quiet), b]
            pieces += [
                (x, y) for x, y in zip(edges[0::2], edges[1::2], strict=True) if shortest <= y - x <= longest
            ]
    return sorted(pieces)


def refine(
    regular: np.ndarray,
    exclusive: np.ndarray,
    pieces: list[Piece],
    vectors: np.ndarray,
    voices: np.ndarray,
    *,
    margin: float,
) -> None:
    """Move each of ``pieces`` (embedded as ``vectors``) to the voice it resembles ``margin`` more; in place.

    ``regular`` and ``exclusive`` are ``(frames, speakers)`` with a column per row of ``voices``.
    """
    if pieces:
        labels, _ = _piece_labels(exclusive, pieces)
        _move(regular, exclusive, pieces, labels, unit(vectors) @ voices.T, margin)


def turn_tails(exclusive: np.ndarray, *, step: float) -> list[Piece]:
    """Frame ranges of the last 0.25, 0.4 and 0.6 s of each turn, each leaving 0.2 s of it or more.

    ``exclusive``: one speaker at a time per frame, binary, shape ``(frames, speakers)``;
    ``step``: seconds between frames.
    """
    lengths = [round(s / step) for s in TAIL_SECONDS]
    least_left = round(_TAIL_LEAVES / step)
    pieces: list[Piece] = []
    for k in range(exclusive.shape[1]):
        for a, b in _runs(exclusive[:, k] > 0):
            pieces += [(b - n, b) for n in lengths if n < b - a - least_left]
    return sorted(set(pieces))


def refine_tails(
    regular: np.ndarray,
    exclusive: np.ndarray,
    tails: list[Piece],
    vectors: np.ndarray,
    voices: np.ndarray,
    *,
    margin: float,
) -> None:
    """Move the end of a turn that sounds like another voice (a reply latched on without a pause); in place.

    Where at least two of a turn's ``tails`` (:func:`turn_tails`, embedded as ``vectors``)
    are ``margin`` more similar to one other voice than to the turn's own, the tail most
    so moves to that voice: one tail alike by chance moves nothing. ``regular`` and
    ``exclusive`` are ``(frames, speakers)`` with a column per row of ``voices``.
    """
    if not tails:
        return
    labels, _ = _piece_labels(exclusive, tails)
    similarity = unit(vectors) @ voices.T
    votes: Counter[tuple[int, int]] = Counter()
    strongest: dict[tuple[int, int], tuple[float, int]] = {}
    for i, (_, end) in enumerate(tails):
        if labels[i] < 0:
            continue
        gain = similarity[i] - similarity[i, labels[i]]
        other = int(np.argmax(gain))
        if gain[other] < margin:
            continue
        votes[end, other] += 1
        strongest[end, other] = max(strongest.get((end, other), (-np.inf, -1)), (gain[other], i))
    moving = [i for turn, (_, i) in strongest.items() if votes[turn] >= _TAIL_VOTES]
    _move(regular, exclusive, [tails[i] for i in moving], labels[moving], similarity[moving], margin)


def longest_runs(frames: np.ndarray, step: float) -> np.ndarray:
    """Each column's longest run of active frames, seconds; ``frames`` shape ``(frames, speakers)``."""
    return np.array(
        [max((b - a for a, b in _runs(frames[:, k] > 0)), default=0) * step for k in range(frames.shape[1])]
    )


def resegment(
    regular: np.ndarray,
    exclusive: np.ndarray,
    pieces: list[Piece],
    vectors: np.ndarray,
    centre: np.ndarray,
    rules: ClusteringConfig,
    *,
    heard: np.ndarray,
    voices_heard: VoicesHeard,
    step: float,
    max_new: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel the speech piece by piece (steps 1-6 of the module docstring).

    Parameters
    ----------
    regular, exclusive
        Binary speaker activity per frame, shape ``(frames, speakers)``: overlap-aware,
        and one speaker at a time.
    pieces
        Frame ranges of :func:`speech_pieces`, ``(n,)``.
    vectors
        Their voice embeddings, shape ``(n, dim)``.
    centre
        Each speaker's voice from the clustering, shape ``(speakers, dim)``: kept for a
        speaker with no piece of its own.
    rules
        ``resegment_margin``, ``new_speaker_similarity``, ``new_speaker_pieces``,
        ``threshold``, ``ghost_share``, ``ghost_turn``.
    heard
        Voices the segmentation hears at once in each frame, shape ``(frames,)``.
    voices_heard
        Which voices the segmentation's local speakers sound like, frame by frame (step 5).
    step
        Seconds between frames.
    max_new
        Room for new speakers (0: the count is fixed); one at most is added.

    Returns
    -------
    regular, exclusive : np.ndarray
        Same meaning, shape ``(frames, speakers')``: new speakers are extra columns,
        speakers left without speech are removed.
    voices : np.ndarray
        Unit voice of each remaining speaker, shape ``(speakers', dim)``.
    """
    k = exclusive.shape[1]
    if not pieces or k == 0:
        return regular, exclusive, centre
    vectors = unit(vectors)
    labels, pure = _piece_labels(exclusive, pieces)
    voices = np.stack([_mean(vectors[_own_pieces(labels == j, pure)], centre[j]) for j in range(k)])
    sure = np.array([b - a for a, b in pieces]) * step >= _SURE_PIECE
    new = _new_voices(vectors[sure], voices, rules)[: min(max_new, 1)]
    while True:
        moved = _relabel(
            regular, exclusive, labels, pieces, vectors, np.vstack([voices, new]), rules, heard, voices_heard
        )
        added = moved[0][:, k:]
        gone = ghosts(
            np.r_[moved[0][:, :k].sum(), added.sum(axis=0)],
            np.r_[np.inf, longest_runs(added, step)],
            max_share=rules.ghost_share,
            max_turn=rules.ghost_turn,
        )
        if not gone.size:
            break
        new = np.delete(new, gone - 1, axis=0)
    kept = moved[0].sum(axis=0) > 0
    return moved[0][:, kept], moved[1][:, kept], moved[2][kept]


def _piece_labels(exclusive: np.ndarray, pieces: list[Piece]) -> tuple[np.ndarray, np.ndarray]:
    """Each piece's most frequent label (-1: none) and whether all its speech is on it."""
    labels = np.full(len(pieces), -1)
    pure = np.zeros(len(pieces), dtype=bool)
    for i, (a, b) in enumerate(pieces):
        on = exclusive[a:b][exclusive[a:b].sum(axis=1) > 0].argmax(axis=1)
        if on.size:
            labels[i] = np.bincount(on).argmax()
            pure[i] = bool((on == labels[i]).all())
    return labels, pure


def _own_pieces(mine: np.ndarray, pure: np.ndarray) -> np.ndarray:
    """A speaker's pure pieces, or all its pieces when none is pure (a speaker heard only in overlap)."""
    return mine & pure if (mine & pure).any() else mine


def _mean(vectors: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Unit mean of the rows of ``vectors``; ``default`` when there are none."""
    return unit(vectors.sum(axis=0)) if vectors.shape[0] else default


def _new_voices(vectors: np.ndarray, voices: np.ndarray, rules: ClusteringConfig) -> np.ndarray:
    """Voices of groups of pieces unlike every known voice (step 2), shape ``(m, dim)``."""
    closest = (vectors @ voices.T).max(axis=1)
    far = np.flatnonzero(closest < rules.new_speaker_similarity)
    if far.size < max(2, rules.new_speaker_pieces):
        return np.zeros((0, vectors.shape[1]))
    groups = fcluster(
        linkage(vectors[far], method="average", metric="cosine"), 1 - rules.threshold, "distance"
    )
    found = [far[groups == g] for g in np.unique(groups)]
    found.sort(key=len, reverse=True)
    sums = [vectors[m].sum(axis=0) for m in found if m.size >= rules.new_speaker_pieces]
    return unit(np.array(sums).reshape(-1, vectors.shape[1]))


def _relabel(
    regular: np.ndarray,
    exclusive: np.ndarray,
    labels: np.ndarray,
    pieces: list[Piece],
    vectors: np.ndarray,
    voices: np.ndarray,
    rules: ClusteringConfig,
    heard: np.ndarray,
    voices_heard: VoicesHeard,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 3-5: settle ``voices`` (a row per column, new ones last), move pieces, fill the overlap.

    Returns copies of ``regular`` and ``exclusive`` with a column per row of ``voices``, and the voices.
    """
    for _ in range(_ROUNDS):
        nearest = (vectors @ voices.T).argmax(axis=1)
        voices = np.stack([_mean(vectors[nearest == j], voices[j]) for j in range(len(voices))])
    extra = len(voices) - exclusive.shape[1]
    regular = np.hstack([regular, np.zeros((regular.shape[0], extra), regular.dtype)])
    exclusive = np.hstack([exclusive, np.zeros((exclusive.shape[0], extra), exclusive.dtype)])
    similarity = vectors @ voices.T
    _move(regular, exclusive, pieces, labels, similarity, rules.resegment_margin)
    audible = voices_heard(voices)
    for i, (a, b) in enumerate(pieces):
        wanted = np.minimum(heard[a:b], len(voices))
        short = np.flatnonzero(regular[a:b].sum(axis=1) < wanted)
        for f in a + short:
            for j in np.flatnonzero(audible[f])[np.argsort(-similarity[i, audible[f]])]:
                if regular[f].sum() >= wanted[f - a]:
                    break
                regular[f, j] = 1
    return regular, exclusive, voices


def _move(
    regular: np.ndarray,
    exclusive: np.ndarray,
    pieces: list[Piece],
    labels: np.ndarray,
    similarity: np.ndarray,
    margin: float,
) -> None:
    """Step 4, in place: a piece's frames on its label go to the most similar voice, ``margin`` more so."""
    for i, (a, b) in enumerate(pieces):
        old, best = int(labels[i]), int(np.argmax(similarity[i]))
        if old < 0 or best == old or similarity[i, best] - similarity[i, old] < margin:
            continue
        rows = a + np.flatnonzero(exclusive[a:b, old] > 0)
        exclusive[rows, old], exclusive[rows, best] = 0, 1
        regular[rows, old], regular[rows, best] = 0, 1
