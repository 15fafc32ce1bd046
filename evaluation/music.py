"""Hold music, scored: frame F1 of the stripped regions and speech lost to them.

Frames are 10 ms; ``bench/holdmusic.py`` counts its frames here too (one scorer). Music with
speech over it (a bed) is not in the reference: it must be kept. Counts are
returned rather than ratios so that a set pools them (frames, not recordings,
carry equal weight).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

FRAME = 0.01
"""Evaluation frame, seconds."""


@dataclass(frozen=True)
class MusicCounts:
    """Frame counts of one recording (or a pooled set), 10 ms frames.

    Attributes
    ----------
    true_positive, false_positive, false_negative : int
        Stripped vs reference strippable-music frames.
    speech, speech_lost : int
        Reference speech frames, and those inside stripped regions.
    """

    true_positive: int
    false_positive: int
    false_negative: int
    speech: int
    speech_lost: int

    @property
    def f1(self) -> float | None:
        """Frame F1; None when there is neither reference music nor anything stripped."""
        denominator = 2 * self.true_positive + self.false_positive + self.false_negative
        return 2 * self.true_positive / denominator if denominator else None

    @property
    def speech_lost_share(self) -> float | None:
        """Share of reference speech frames stripped; None without reference speech."""
        return self.speech_lost / self.speech if self.speech else None

    def __add__(self, other: MusicCounts) -> MusicCounts:
        return MusicCounts(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


def _values(counts: MusicCounts) -> tuple[int, ...]:
    return (
        counts.true_positive,
        counts.false_positive,
        counts.false_negative,
        counts.speech,
        counts.speech_lost,
    )


def frame_mask(spans: Sequence[tuple[float, float]], duration: float, *, frame: float = FRAME) -> np.ndarray:
    """Boolean mask of frames covered by ``spans`` (seconds), shape ``(ceil(duration / frame),)``."""
    mask = np.zeros(int(np.ceil(duration / frame - 1e-9)), bool)
    for start, end in spans:
        mask[max(0, round(start / frame)) : max(0, round(end / frame))] = True
    return mask


def music_counts(
    reference_music: Sequence[tuple[float, float]],
    stripped: Sequence[tuple[float, float]],
    speech: Sequence[tuple[float, float]],
    *,
    duration: float,
) -> MusicCounts:
    """Frame counts of ``stripped`` against the music that should be stripped.

    Parameters
    ----------
    reference_music
        Music to strip (beds excluded), seconds.
    stripped
        What the system stripped, seconds.
    speech
        Reference speech, seconds.
    duration
        Recording length, seconds.
    """
    ref = frame_mask(reference_music, duration)
    hyp = frame_mask(stripped, duration)
    talk = frame_mask(speech, duration)
    return MusicCounts(
        true_positive=int(np.count_nonzero(ref & hyp)),
        false_positive=int(np.count_nonzero(hyp & ~ref)),
        false_negative=int(np.count_nonzero(ref & ~hyp)),
        speech=int(np.count_nonzero(talk)),
        speech_lost=int(np.count_nonzero(talk & hyp)),
    )
