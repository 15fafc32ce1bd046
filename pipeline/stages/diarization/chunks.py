"""Local speakers across overlapping segmentation chunks: who in one chunk is who in the next, whose
voice each sounds like frame by frame, and how many seconds each chunk frame stands for once the
chunks that cover it share it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.stages.diarization.clustering import unit
from pipeline.stages.diarization.resegment import VoicesHeard

if TYPE_CHECKING:
    from pyannote.core import SlidingWindow, SlidingWindowFeature


def link_to_neighbours(
    activity: np.ndarray, enough: np.ndarray, offsets: np.ndarray, *, min_agreement: float = 0.6
) -> np.ndarray:
    """Local speakers of odd chunks that are, frame for frame, a local speaker of a neighbour.

    Chunks overlap by most of their length, so a voice that one chunk's segmentation
    tracks is usually tracked by the next chunk too, on the same frames. Where an odd
    chunk's local speaker and an even neighbour's cover each other's activity in their
    shared stretch (both ways, at least ``min_agreement``), they are the same person:
    the odd one takes the even one's embedding instead of a CAM++ pass of its own,
    halving the embedding work at no cost to the segmentation's votes.

    Parameters
    ----------
    activity
        Binary activity, shape ``(chunks, frames, local speakers)``.
    enough
        Local speakers with enough speech for an embedding, shape ``(chunks, local speakers)``.
    offsets
        Start of each chunk, in frames, shape ``(chunks,)``.
    min_agreement
        Least shared activity, as a fraction of each side's activity in the shared stretch.

    Returns
    -------
    np.ndarray
        Shape ``(chunks, local speakers, 2)``: ``(chunk, local speaker)`` whose embedding
        to use, or ``-1`` where the local speaker is embedded itself (even chunks, no match).
    """
    chunks, frame_count, local = activity.shape
    links = np.full((chunks, local, 2), -1, dtype=int)
    for c in range(1, chunks, 2):
        best = np.zeros(local)
        for n in (c - 1, c + 1):
            if n >= chunks or abs(offsets[c] - offsets[n]) >= frame_count:
                continue
            shift = offsets[c] - offsets[n]
            mine = activity[c, max(0, -shift) : frame_count - max(0, shift)]
            theirs = activity[n, max(0, shift) : frame_count - max(0, -shift)]
            shared = mine.T @ theirs  # (local, local): frames both are active
            cover = np.minimum(
                shared / np.maximum(mine.sum(axis=0)[:, None], 1),
                shared / np.maximum(theirs.sum(axis=0)[None, :], 1),
            )
            cover[:, ~enough[n]] = 0.0
            for s in np.flatnonzero(enough[c]):
                t = int(np.argmax(cover[s]))
                if cover[s, t] >= max(min_agreement, best[s] + 1e-9):
                    best[s], links[c, s] = cover[s, t], (n, t)
    return links


def local_voices(
    segmentations: SlidingWindowFeature, embeddings: np.ndarray, frames: SlidingWindow
) -> VoicesHeard:
    """Which voices the segmentation's local speakers sound like, frame by frame.

    Parameters
    ----------
    segmentations
        Binary activity, shape ``(chunks, chunk frames, local speakers)``.
    embeddings
        Each local speaker's voice, shape ``(chunks, local speakers, dim)``; NaN rows
        (too little speech alone) sound like no one.
    frames
        The recording's frames (the speaker count's sliding window).

    Returns
    -------
    VoicesHeard
        Given the voices ``(speakers, dim)``: ``(frames, speakers)`` bool, true where
        some chunk has an active local speaker whose voice is nearest to that speaker's.
    """
    from pyannote.audio.core.inference import Inference
    from pyannote.core import SlidingWindowFeature

    known = ~np.isnan(embeddings[..., 0])
    vectors = unit(np.nan_to_num(embeddings))

    def voices_heard(voices: np.ndarray) -> np.ndarray:
        nearest = np.where(known, (vectors @ voices.T).argmax(axis=-1), -1)
        per_voice = np.stack(
            [(segmentations.data * (nearest == j)[:, None, :]).max(axis=2) for j in range(len(voices))],
            axis=2,
        )
        heard = Inference.aggregate(
            SlidingWindowFeature(per_voice, segmentations.sliding_window),
            frames,
            hamming=False,
            missing=0.0,
            skip_average=False,
        ).data
        return heard > 0

    return voices_heard


def frame_seconds(segmentations: SlidingWindowFeature, frames: SlidingWindow) -> np.ndarray:
    """Seconds each chunk frame stands for, once overlapping chunks share it.

    Returns
    -------
    np.ndarray
        Shape ``(chunks, frames)``: the frame step divided by how many chunks cover
        that frame's time (fewer at the ends of the audio).
    """
    chunks = segmentations.sliding_window
    count, frame_count, _ = segmentations.data.shape
    starts = np.array([chunks[c].start for c in range(count)])
    times = starts[:, None] + frames.start + np.arange(frame_count)[None, :] * frames.step
    covering = np.searchsorted(starts, times, side="right") - np.searchsorted(
        starts, times - chunks.duration, side="right"
    )
    return frames.step / np.maximum(covering, 1)
