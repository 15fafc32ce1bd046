"""Map between kept-audio time and original-recording time.

When music regions are stripped, ASR and diarization see only the kept pieces
of the recording, concatenated. Every time they produce is in kept time; this
module maps it back so that everything leaving a stage is in original time
(the idea of faster-whisper's ``restore_speech_timestamps``, with typed pieces).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pipeline.core.types import Region


@dataclass(frozen=True)
class KeptTimeline:
    """The kept pieces of a recording.

    Attributes
    ----------
    duration : float
        Original recording length, seconds.
    pieces : tuple of (float, float)
        Kept ``(start, end)`` intervals on the original recording, sorted, disjoint.
    """

    duration: float
    pieces: tuple[tuple[float, float], ...]

    @classmethod
    def keep_all(cls, duration: float) -> KeptTimeline:
        """A timeline that strips nothing."""
        return cls(duration, ((0.0, duration),) if duration > 0 else ())

    @classmethod
    def from_stripped(cls, duration: float, stripped: Iterable[Region]) -> KeptTimeline:
        """Keep everything outside ``stripped`` (regions may overlap or be unsorted)."""
        pieces: list[tuple[float, float]] = []
        cursor = 0.0
        for region in sorted(stripped, key=lambda r: r.start):
            start, end = max(0.0, region.start), min(duration, region.end)
            if start > cursor:
                pieces.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < duration:
            pieces.append((cursor, duration))
        return cls(duration, tuple(pieces))

    @property
    def kept_duration(self) -> float:
        """Length of the kept audio, seconds."""
        return sum(end - start for start, end in self.pieces)

    @property
    def is_identity(self) -> bool:
        """True when nothing was stripped."""
        return self.pieces == ((0.0, self.duration),) or (not self.pieces and self.duration == 0)

    @property
    def kept_offsets(self) -> tuple[float, ...]:
        """Kept-time start of each piece (cut points are ``kept_offsets[1:]``)."""
        offsets, total = [], 0.0
        for start, end in self.pieces:
            offsets.append(total)
            total += end - start
        return tuple(offsets)

    def to_original(self, t: float, side: Literal["start", "end"] = "start") -> float:
        """Map a kept-time instant to original time, seconds.

        At a cut point the same kept instant is the end of one piece and the start of
        the next: ``side`` says which one is meant.
        """
        if not self.pieces:
            return 0.0
        offsets = self.kept_offsets
        index = (bisect.bisect_right if side == "start" else bisect.bisect_left)(offsets, t) - 1
        index = min(max(index, 0), len(self.pieces) - 1)
        start, end = self.pieces[index]
        return min(max(start + t - offsets[index], start), end)

    def to_kept(self, t: float) -> float:
        """Map an original instant to kept time; inside a stripped region it snaps to the cut."""
        total = 0.0
        for start, end in self.pieces:
            if t < start:
                return total
            if t <= end:
                return total + t - start
            total += end - start
        return total

    def interval_to_original(self, start: float, end: float) -> list[tuple[float, float]]:
        """Map a kept-time interval to original intervals, split at every cut it spans.

        Returns the non-empty original ``(start, end)`` pieces, in order.
        """
        out: list[tuple[float, float]] = []
        for offset, (p_start, p_end) in zip(self.kept_offsets, self.pieces, strict=True):
            lo = max(start, offset)
            hi = min(end, offset + p_end - p_start)
            if hi > lo:
                out.append((p_start + lo - offset, p_start + hi - offset))
        return out

    def cut_to_kept(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Move the kept pieces of ``audio`` (shape ``(samples,)``) to its front and shrink it to them.

        Hours of audio never exist twice: ``audio`` is overwritten in place and, when
        it owns its buffer (as ``load_audio``'s arrays do), that buffer is shrunk, so
        the stripped samples are given back; a view gets a copy of its kept front.
        The caller must not read ``audio`` afterwards, only the returned array.
        Returns ``audio`` itself, untouched, when nothing is stripped.
        """
        if self.is_identity:
            return audio
        filled = 0
        step = 10 * sample_rate  # moved in blocks: an overlapping move's temporary stays small
        for start, end in self.pieces:
            first_sample, end_sample = round(start * sample_rate), round(end * sample_rate)
            for first in range(first_sample, end_sample, step):
                block = audio[first : min(first + step, end_sample)]
                audio[filled : filled + block.size] = block
                filled += block.size
        if not audio.flags.owndata:
            return audio[:filled].copy()
        audio.resize(filled, refcheck=False)  # realloc: the tail's pages go back to the system
        return audio

    def overlaps_stripped(self, start: float, end: float) -> bool:
        """True when original interval ``[start, end]`` has any part outside the kept pieces."""
        covered = sum(max(0.0, min(end, e) - max(start, s)) for s, e in self.pieces)
        return covered < (end - start) - 1e-6


def stripped_regions(music: Sequence[Region], policy: str) -> tuple[Region, ...]:
    """The music regions a strip policy removes: ``"loops"``, ``"music"`` (all) or ``"off"``."""
    if policy == "off":
        return ()
    if policy == "loops":
        return tuple(r for r in music if r.kind == "loop")
    return tuple(music)
