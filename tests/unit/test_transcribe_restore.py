"""Kept-time ASR output mapped back to original time (no model needed)."""

from __future__ import annotations

from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import Region, Segment, Word
from pipeline.stages.transcribe import restore_original_time

# Original 0-60 s; music 10-40 stripped: kept 0-10 then 40-60 (kept time 10 = original 40).
TIMELINE = KeptTimeline.from_stripped(60.0, [Region(10.0, 40.0, "loop")])


def test_segment_across_the_cut_is_split_into_original_pieces() -> None:
    words = (Word(8.0, 9.0, " before"), Word(9.5, 10.4, " straddle"), Word(11.0, 12.0, " after"))
    out = restore_original_time((Segment(8.0, 12.0, "before straddle after", words),), TIMELINE)
    assert [(s.start, s.end, s.text) for s in out] == [(8.0, 10.0, "before straddle"), (41.0, 42.0, "after")]
    straddle = out[0].words[1]
    assert (straddle.start, straddle.end) == (9.5, 10.0)  # clipped to the piece holding most of it


def test_nothing_lands_in_the_stripped_region() -> None:
    words = tuple(Word(t, t + 0.3, " w") for t in (0.5, 9.8, 10.0, 10.1, 29.6))
    out = restore_original_time((Segment(0.5, 29.9, "", words),), TIMELINE)
    for segment in out:
        assert not TIMELINE.overlaps_stripped(segment.start, segment.end)
        for word in segment.words:
            assert not TIMELINE.overlaps_stripped(word.start, word.end)


def test_identity_timeline_is_untouched() -> None:
    segments = (Segment(1.0, 2.0, "hi", (Word(1.0, 2.0, " hi"),)),)
    assert restore_original_time(segments, KeptTimeline.keep_all(5.0)) is segments
