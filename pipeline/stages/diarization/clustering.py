"""Which local speakers are the same person: clustering of (chunk, local speaker) voice embeddings.

The segmentation model answers "who spoke when" within each 10 s chunk, with up to
three anonymous local speakers per chunk; here those local speakers are linked
across chunks into the recording's speakers. Pure numpy/scipy on typed arrays, so
every rule is unit-tested on synthetic embeddings.

1. **Agglomerative clustering** (average linkage on cosine similarity) of the
   embeddings made from at least ``min_cluster_speech`` seconds of one person alone;
   clusters stop merging when their mean pairwise similarity falls under
   ``threshold``. Average linkage compares whole clusters, so one drifting voice
   (a long monologue, a caller who moves from the phone) stays one cluster.
2. **Small clusters** (under ``small_cluster_speech`` seconds) have noisy
   centroids: one joins its most similar cluster when their centroids' cosine
   reaches ``small_cluster_threshold``, and otherwise stays a speaker of its own.
   This keeps a host who only asks a few short questions, while a few odd windows
   of a known voice (a cough, a laugh) fold back into it. Any two clusters whose
   centroids reach ``centroid_threshold`` merge.
3. **Assignment.** Every embedding, short ones included, goes to its most similar
   centroid, with the constraint that two local speakers of one chunk (which the
   segmentation model heard as different people) take different speakers
   (Hungarian algorithm per chunk), unless a sure embedding would be forced onto a
   speaker it does not resemble (one voice the segmentation model split in two:
   :func:`assign`). Centroids of everything assigned are surer than
   those of step 1, and may show two clusters to be one voice heard two ways (a
   caller who walks away from the phone: each window is noisy, the averages
   agree): such clusters merge (``centroid_threshold``) and the assignment is redone.
4. **Phantoms.** A speaker left with under ``min_speaker_speech`` seconds of speech
   is dissolved into the next most similar speaker; so is, once the turns are
   rebuilt, a ghost (``ghosts``): a sliver of the talk in short bits only.

``num_speakers`` cuts the dendrogram at exactly that many clusters;
``min_speakers`` / ``max_speakers`` bound the count found by the threshold.

5. **Cannot-link.** Two local speakers of one chunk, each with a sure embedding,
   are two people to the segmentation model. When everything was found to be one
   voice although many chunks hold two such local speakers (:func:`two_voice_chunks`),
   the voices are alike (two women on a phone line) rather than one: the clustering
   is redone with at least two speakers.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment

from pipeline.stages.diarization.settings import ClusteringConfig

UNASSIGNED = -2
"""Label of a local speaker that is silent or has no embedding (pyannote's convention)."""

_MAX_REFINEMENTS = 5  # assign-and-merge rounds; one or two settle it in practice


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); shape unchanged."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def centroids(embeddings: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Unit-length weighted mean of each label's embeddings.

    Parameters
    ----------
    embeddings
        Unit rows, shape ``(n, dim)``.
    labels
        ``0 .. k-1``, shape ``(n,)``.
    weights
        Seconds of speech behind each row, shape ``(n,)``.

    Returns
    -------
    np.ndarray
        Shape ``(k, dim)``.
    """
    k = int(labels.max()) + 1
    sums = np.zeros((k, embeddings.shape[1]))
    np.add.at(sums, labels, embeddings * weights[:, None])
    return unit(sums)


def agglomerate(
    embeddings: np.ndarray,
    weights: np.ndarray,
    rules: ClusteringConfig,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int | None = None,
) -> np.ndarray:
    """Cluster reliable embeddings into speakers (steps 1 and 2 of the module docstring).

    Parameters
    ----------
    embeddings
        Unit rows, shape ``(n, dim)``, ``n >= 1``.
    weights
        Seconds of speech behind each row, shape ``(n,)``.
    rules
        Thresholds.
    num_speakers, min_speakers, max_speakers
        Exact count, or bounds on the count the thresholds find (``max_speakers`` None: none).

    Returns
    -------
    np.ndarray
        Labels ``0 .. k-1``, shape ``(n,)``.
    """
    n = embeddings.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    tree = linkage(embeddings, method="average", metric="cosine")
    if num_speakers is not None:
        return _relabel(fcluster(tree, min(num_speakers, n), criterion="maxclust"))
    labels = _relabel(fcluster(tree, 1.0 - rules.threshold, criterion="distance"))
    labels = merge_similar_clusters(embeddings, labels, weights, rules)
    found = int(labels.max()) + 1
    bounded = min(max(found, min_speakers), max_speakers or n, n)
    if bounded != found:
        labels = _relabel(fcluster(tree, bounded, criterion="maxclust"))
    return labels


def merge_similar_clusters(
    embeddings: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    rules: ClusteringConfig,
    *,
    small_rule: bool = True,
) -> np.ndarray:
    """Merge clusters whose centroids are alike (step 2), the most alike pair first.

    Two clusters merge when their centroids' cosine reaches ``centroid_threshold``, or
    ``small_cluster_threshold`` when either is small (unless ``small_rule`` is off);
    centroids are recomputed after each merge.

    Returns
    -------
    np.ndarray
        New labels ``0 .. k'-1``, shape ``(n,)``.
    """
    labels = labels.copy()
    while labels.max() > 0:
        k = int(labels.max()) + 1
        centre = centroids(embeddings, labels, weights)
        similarity = centre @ centre.T
        np.fill_diagonal(similarity, -np.inf)
        small = (np.bincount(labels, weights=weights, minlength=k) < rules.small_cluster_speech) & small_rule
        needed = np.where(
            small[:, None] | small[None, :], rules.small_cluster_threshold, rules.centroid_threshold
        )
        margin = np.where(similarity >= needed, similarity, -np.inf)
        if not np.isfinite(margin.max()):
            break
        a, b = np.unravel_index(int(np.argmax(margin)), margin.shape)
        labels[labels == max(a, b)] = min(a, b)
        labels = _relabel(labels)
    return labels


def assign(
    embeddings: np.ndarray, centre: np.ndarray, clean_speech: np.ndarray, rules: ClusteringConfig
) -> np.ndarray:
    """Give each local speaker of each chunk a speaker, never one speaker twice per chunk (step 3).

    The one rule gives way where the segmentation model split one voice in two: a
    local speaker with a sure embedding (at least ``min_cluster_speech`` seconds alone)
    that the rule would force onto a speaker it resembles less than ``threshold`` keeps
    its most similar speaker instead. Forced there, it would give that speaker another
    voice's speech and drag its centroid towards that voice (a quiet host into the
    guest's); short local speakers (a murmur over the guest's last word) have noisy
    embeddings, and the rule keeps them apart.

    Parameters
    ----------
    embeddings
        Shape ``(chunks, local_speakers, dim)``, unit rows; NaN rows have no embedding.
    centre
        Speaker centroids, shape ``(k, dim)``, unit rows.
    clean_speech
        Seconds each local speaker speaks alone in its chunk, shape ``(chunks, local_speakers)``.
    rules
        ``threshold`` and ``min_cluster_speech``.

    Returns
    -------
    np.ndarray
        Shape ``(chunks, local_speakers)``: speaker index, or ``UNASSIGNED``.
    """
    chunks, local, _ = embeddings.shape
    out = np.full((chunks, local), UNASSIGNED, dtype=int)
    valid = ~np.isnan(embeddings[..., 0])
    for c in np.flatnonzero(valid.any(axis=1)):
        rows = np.flatnonzero(valid[c])
        similarity = embeddings[c, rows] @ centre.T
        closest = np.argmax(similarity, axis=1)
        if rows.size <= centre.shape[0]:
            picked_rows, picked = linear_sum_assignment(similarity, maximize=True)
            split_voice = (
                (picked != closest[picked_rows])
                & (similarity[picked_rows, picked] < rules.threshold)
                & (clean_speech[c, rows[picked_rows]] >= rules.min_cluster_speech)
            )
            out[c, rows[picked_rows]] = np.where(split_voice, closest[picked_rows], picked)
        else:  # more voices in the chunk than speakers in the recording
            out[c, rows] = closest
    return out


def dissolve(embeddings: np.ndarray, hard: np.ndarray, centre: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """Move the local speakers of the speakers in ``gone`` to their next most similar speaker.

    Parameters
    ----------
    embeddings
        Shape ``(chunks, local_speakers, dim)``, unit rows (NaN: none).
    hard
        Assignment, shape ``(chunks, local_speakers)``.
    centre
        Centroids, shape ``(k, dim)``.
    gone
        Speaker indices to dissolve, shape ``(g,)``; at least one speaker must remain.

    Returns
    -------
    np.ndarray
        Assignment with the remaining speakers renumbered ``0 .. k-g-1``; a local
        speaker whose chunk already holds every remaining speaker becomes ``UNASSIGNED``.
    """
    hard = hard.copy()
    alive = np.ones(centre.shape[0], dtype=bool)
    alive[gone] = False
    for c, s in zip(*np.nonzero(np.isin(hard, gone)), strict=True):
        similarity = np.where(alive, centre @ np.nan_to_num(embeddings[c, s]), -np.inf)
        similarity[hard[c][hard[c] >= 0]] = -np.inf  # keep the chunk's speakers distinct
        hard[c, s] = int(np.argmax(similarity)) if np.isfinite(similarity.max()) else UNASSIGNED
    kept = np.flatnonzero(alive)
    renumber = np.full(centre.shape[0], UNASSIGNED)
    renumber[kept] = np.arange(kept.size)
    return np.where(hard >= 0, renumber[np.maximum(hard, 0)], UNASSIGNED)


def two_voice_chunks(alone_seconds: np.ndarray, valid: np.ndarray, *, min_speech: float) -> tuple[int, int]:
    """``(chunks with two or more sure local speakers, chunks with at least one)``.

    Parameters
    ----------
    alone_seconds
        Seconds each local speaker speaks alone in its chunk (not shared with the
        overlapping chunks), shape ``(chunks, local_speakers)``.
    valid
        Local speakers with an embedding, same shape.
    min_speech
        Seconds alone that make a local speaker sure.
    """
    sure = (valid & (alone_seconds >= min_speech)).sum(axis=1)
    return int((sure >= 2).sum()), int((sure >= 1).sum())


def ghosts(speech: np.ndarray, longest_turn: np.ndarray, *, max_share: float, max_turn: float) -> np.ndarray:
    """Speakers that are artefacts rather than people: a sliver of the talk in short bits.

    A speaker is a ghost when their share of all speech is under ``max_share`` and
    none of their turns reaches ``max_turn`` seconds (the rule noScribe uses to flag
    phantom labels); the largest speaker never is.

    Parameters
    ----------
    speech
        Seconds each speaker speaks, shape ``(k,)``.
    longest_turn
        Each speaker's longest turn, seconds, shape ``(k,)``.

    Returns
    -------
    np.ndarray
        Indices of the ghosts, ascending.
    """
    total = float(speech.sum())
    if total <= 0:
        return np.zeros(0, dtype=int)
    ghost = (speech / total < max_share) & (longest_turn < max_turn)
    ghost[int(np.argmax(speech))] = False
    return np.flatnonzero(ghost)


def cluster_local_speakers(
    embeddings: np.ndarray,
    clean_speech: np.ndarray,
    speech: np.ndarray,
    rules: ClusteringConfig,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Speakers of every (chunk, local speaker): the four steps of the module docstring.

    Parameters
    ----------
    embeddings
        Shape ``(chunks, local_speakers, dim)``; NaN rows: no embedding (silent or too short).
    clean_speech
        Seconds each local speaker speaks alone in its chunk, shape ``(chunks, local_speakers)``.
    speech
        Seconds each local speaker speaks (overlap included), same shape.
    rules
        Thresholds.
    num_speakers, min_speakers, max_speakers
        Exact count, or bounds on the count.

    Returns
    -------
    hard : np.ndarray
        Shape ``(chunks, local_speakers)``: speaker ``0 .. k-1`` or ``UNASSIGNED``.
    centre : np.ndarray
        Unit centroid of each speaker, shape ``(k, dim)`` (``(0, dim)`` when nobody speaks).
    """
    chunks, local, dim = embeddings.shape
    unit_embeddings = unit(np.nan_to_num(embeddings))
    valid = ~np.isnan(embeddings[..., 0])
    unit_embeddings[~valid] = np.nan
    if not valid.any():
        return np.full((chunks, local), UNASSIGNED, dtype=int), np.zeros((0, dim))
    reliable = valid & (clean_speech >= rules.min_cluster_speech)
    if not reliable.any():
        reliable = valid
    rows = np.flatnonzero(reliable.ravel())
    if rows.size > rules.max_cluster_embeddings:  # bounded memory on very long recordings
        rows = rows[np.linspace(0, rows.size - 1, rules.max_cluster_embeddings).round().astype(int)]
    train = unit_embeddings.reshape(-1, dim)[rows]
    weights = clean_speech.ravel()[rows]
    labels = agglomerate(
        train,
        weights,
        rules,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    centre = centroids(train, labels, weights)
    hard = assign(unit_embeddings, centre, clean_speech, rules)
    if num_speakers is None:
        # Every embedding is now placed: centroids of all of them are surer than those of
        # the reliable ones alone, which may show two clusters to be one voice. Small
        # clusters were settled above: merging them again here would snowball, each
        # merge pulling the grown centroid towards the next voice.
        for _ in range(_MAX_REFINEMENTS):
            used = hard >= 0
            merged = merge_similar_clusters(
                unit_embeddings[used], hard[used], clean_speech[used] + 0.01, rules, small_rule=False
            )
            if merged.max() == hard.max() or merged.max() + 1 < min_speakers:
                break
            centre = centroids(unit_embeddings[used], merged, clean_speech[used] + 0.01)
            hard = assign(unit_embeddings, centre, clean_speech, rules)
        while centre.shape[0] > max(1, min_speakers):  # dissolve the least speaker while under the floor
            assigned = hard >= 0
            total = np.bincount(hard[assigned], weights=speech[assigned], minlength=centre.shape[0])
            weakest = int(np.argmin(total))
            if total[weakest] >= rules.min_speaker_speech:
                break
            hard = dissolve(unit_embeddings, hard, centre, np.array([weakest]))
            centre = np.delete(centre, weakest, axis=0)
    used = hard >= 0
    if used.any():  # a speaker no local speaker took is dropped, the rest renumbered
        hard[used] = _relabel(hard[used])
        centre = centroids(unit_embeddings[used], hard[used], clean_speech[used] + 0.01)
    return hard, centre


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered ``0 .. k-1``, keeping the order of their values."""
    return np.unique(labels, return_inverse=True)[1].astype(int)
