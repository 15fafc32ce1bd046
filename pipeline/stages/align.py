"""The alignment stage: give every word a speaker and split utterances at speaker changes.

Pure functions on typed data. A word takes the speaker whose exclusive turns
overlap it most; a word in no turn takes the nearest turn's speaker. With the
turns sorted and disjoint, each word costs a binary search: O((n + m) log m)
for n words and m turns.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pipeline.core.types import Segment, Turn, Word
from pipeline.stages.base import ProgressHook, RecordingState, Stage


class _TurnIndex:
    """Exclusive turns sorted by start, searchable by time."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = sorted(turns, key=lambda t: (t.start, t.end))
        self.starts = [t.start for t in self.turns]
        # Running maximum of ends keeps the search correct even if turns touch or nest.
        self.max_ends: list[float] = []
        running = float("-inf")
        for turn in self.turns:
            running = max(running, turn.end)
            self.max_ends.append(running)

    def speaker_for(self, start: float, end: float) -> str | None:
        """Speaker with most overlap on ``[start, end]`` seconds, else the nearest turn's."""
        if not self.turns:
            return None
        first = bisect.bisect_right(self.max_ends, start)
        last = bisect.bisect_left(self.starts, end)
        overlap: dict[str, float] = defaultdict(float)
        for turn in self.turns[first:last]:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] += shared
        if overlap:
            return max(overlap.items(), key=lambda item: (item[1], -self._first_index(item[0])))[0]
        return self._nearest(start, end)

    def _nearest(self, start: float, end: float) -> str:
        mid = (start + end) / 2
        index = bisect.bisect_left(self.starts, mid)
        candidates = self.turns[max(0, index - 1) : index + 1]
        return min(candidates, key=lambda t: max(t.start - mid, mid - t.end, 0.0)).speaker

    def _first_index(self, speaker: str) -> int:
        return next(i for i, t in enumerate(self.turns) if t.speaker == speaker)


def assign_speakers(segments: Sequence[Segment], turns: Sequence[Turn]) -> tuple[Segment, ...]:
    """Attribute words to speakers and split each segment where the speaker changes.

    Parameters
    ----------
    segments
        ASR segments with word timings, original time, in order.
    turns
        Exclusive diarization turns, original time.

    Returns
    -------
    tuple of Segment
        Utterances whose words all share the utterance's speaker. Without turns,
        segments come back unchanged (speaker None).
    """
    if not turns:
        return tuple(segments)
    index = _TurnIndex(turns)
    out: list[Segment] = []
    for segment in segments:
        if not segment.words:
            out.append(replace(segment, speaker=index.speaker_for(segment.start, segment.end)))
            continue
        words = [replace(w, speaker=index.speaker_for(w.start, w.end)) for w in segment.words]
        out.extend(_split_by_speaker(words))
    # ASR segments may overlap (batched decoding: a chunk's last segment can run into the
    # next chunk), so a later piece of one can start after the next segment does.
    return tuple(sorted(out, key=lambda seg: (seg.start, seg.end)))


def _split_by_speaker(words: Sequence[Word]) -> list[Segment]:
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [
        Segment(
            start=run[0].start,
            end=run[-1].end,
            text="".join(w.text for w in run).strip(),
            words=tuple(run),
            speaker=run[0].speaker,
        )
        for run in runs
    ]


class AlignStage(Stage[tuple[Segment, ...]]):
    """Give every word the speaker of the exclusive diarization, splitting utterances at speaker changes."""

    name = "align"
    needs = ("segments", "turns")
    provides = ("segments",)

    def cache_key(self) -> dict[str, Any]:
        return {}

    def run(self, state: RecordingState, progress: ProgressHook) -> tuple[Segment, ...]:
        return assign_speakers(state.segments, state.turns)

    def apply(self, state: RecordingState, output: tuple[Segment, ...]) -> RecordingState:
        return replace(state, segments=output)
