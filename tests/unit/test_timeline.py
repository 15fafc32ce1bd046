"""KeptTimeline: kept <-> original mapping, hand-worked cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.timeline import KeptTimeline, stripped_regions
from pipeline.core.types import Region

# Original 0..100 s with music at 10-30 and 50-60 stripped: kept pieces 0-10, 30-50, 60-100.
TIMELINE = KeptTimeline.from_stripped(100.0, [Region(50, 60, "music"), Region(10, 30, "loop")])


def test_pieces_and_kept_duration() -> None:
    assert TIMELINE.pieces == ((0.0, 10.0), (30.0, 50.0), (60.0, 100.0))
    assert TIMELINE.kept_duration == 70.0
    assert TIMELINE.kept_offsets == (0.0, 10.0, 30.0)


@pytest.mark.parametrize(
    ("kept", "side", "original"),
    [
        (0.0, "start", 0.0),
        (5.0, "start", 5.0),
        (10.0, "start", 30.0),
        (10.0, "end", 10.0),
        (15.0, "start", 35.0),
        (30.0, "start", 60.0),
        (30.0, "end", 50.0),
        (70.0, "end", 100.0),
    ],
)
def test_to_original_at_and_between_cuts(kept: float, side: str, original: float) -> None:
    assert TIMELINE.to_original(kept, side) == pytest.approx(original)  # type: ignore[arg-type]


def test_to_kept_snaps_inside_stripped_region() -> None:
    assert TIMELINE.to_kept(20.0) == 10.0
    assert TIMELINE.to_kept(35.0) == 15.0
    assert TIMELINE.to_kept(55.0) == 30.0


def test_interval_spanning_cuts_is_split() -> None:
    assert TIMELINE.interval_to_original(8.0, 32.0) == [(8.0, 10.0), (30.0, 50.0), (60.0, 62.0)]


def test_overlapping_unsorted_regions_merge() -> None:
    timeline = KeptTimeline.from_stripped(10.0, [Region(4, 6), Region(2, 5), Region(9, 12)])
    assert timeline.pieces == ((0.0, 2.0), (6.0, 9.0))


def test_identity_and_empty() -> None:
    assert KeptTimeline.keep_all(5.0).is_identity
    assert KeptTimeline.from_stripped(5.0, []).is_identity
    everything = KeptTimeline.from_stripped(5.0, [Region(0, 5)])
    assert everything.pieces == () and everything.kept_duration == 0


def test_cut_to_kept_moves_the_kept_pieces_to_the_front_and_shrinks_the_buffer() -> None:
    original = np.arange(1000, dtype=np.float32)  # 10 Hz "audio": sample i at i/10 s
    timeline = KeptTimeline.from_stripped(100.0, [Region(2, 5), Region(30, 61.5)])
    expected = np.r_[original[:20], original[50:300], original[615:]]
    audio = original.copy()
    kept = timeline.cut_to_kept(audio, 10)
    assert kept is audio and audio.size == expected.size  # the decoded buffer itself, shrunk
    assert np.array_equal(kept, expected)
    buffer = original.copy()
    assert np.array_equal(timeline.cut_to_kept(buffer[:], 10), expected)  # a view: its kept front is copied
    untouched = original.copy()
    assert KeptTimeline.keep_all(100.0).cut_to_kept(untouched, 10) is untouched
    assert np.array_equal(untouched, original)


def test_strip_policies() -> None:
    music = (Region(0, 10, "loop", 2.0, 5.0), Region(20, 30, "music"))
    assert stripped_regions(music, "off") == ()
    assert stripped_regions(music, "loops") == music[:1]
    assert stripped_regions(music, "music") == music


regions = st.lists(
    st.tuples(st.floats(0, 1000), st.floats(0.01, 200)).map(lambda p: Region(p[0], p[0] + p[1])), max_size=8
)


@given(regions=regions, fractions=st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_mapped_times_never_fall_in_stripped_regions(regions: list[Region], fractions: list[float]) -> None:
    timeline = KeptTimeline.from_stripped(1000.0, regions)
    for fraction in fractions:
        t = fraction * timeline.kept_duration
        original = timeline.to_original(t)
        assert 0 <= original <= 1000.0
        assert not timeline.overlaps_stripped(original, original) or timeline.kept_duration == 0
        assert timeline.to_kept(original) == pytest.approx(t, abs=1e-6)


@given(regions=regions, a=st.floats(0, 1), b=st.floats(0, 1))
def test_interval_pieces_are_kept_and_preserve_length(regions: list[Region], a: float, b: float) -> None:
    timeline = KeptTimeline.from_stripped(1000.0, regions)
    start, end = sorted((a * timeline.kept_duration, b * timeline.kept_duration))
    pieces = timeline.interval_to_original(start, end)
    assert sum(e - s for s, e in pieces) == pytest.approx(end - start, abs=1e-6)
    for s, e in pieces:
        assert s <= e and not timeline.overlaps_stripped(s, e)
