"""Word -> speaker alignment on hand-built timelines."""

from __future__ import annotations

from pipeline.core.types import Segment, Turn, Word
from pipeline.stages.align import assign_speakers


def _segment(*words: tuple[float, float, str]) -> Segment:
    ws = tuple(Word(s, e, f" {t}") for s, e, t in words)
    return Segment(ws[0].start, ws[-1].end, "".join(w.text for w in ws).strip(), ws)


TURNS = (Turn(0.0, 2.0, "A"), Turn(2.0, 4.0, "B"), Turn(6.0, 8.0, "A"))


def test_words_take_the_speaker_with_most_overlap_and_segments_split() -> None:
    segment = _segment((0.1, 0.5, "hi"), (1.5, 2.6, "there"), (2.7, 3.0, "yes"), (3.9, 4.8, "ok"))
    out = assign_speakers([segment], TURNS)
    assert [(s.speaker, s.text) for s in out] == [("A", "hi"), ("B", "there yes ok")]
    assert all(w.speaker == s.speaker for s in out for w in s.words)
    assert out[1].start == 1.5 and out[1].end == 4.8


def test_word_outside_every_turn_takes_the_nearest() -> None:
    out = assign_speakers([_segment((4.5, 4.8, "um"), (5.6, 5.9, "so"))], TURNS)
    assert [w.speaker for s in out for w in s.words] == ["B", "A"]


def test_no_turns_leaves_segments_unattributed() -> None:
    segment = _segment((0.0, 1.0, "hello"))
    assert assign_speakers([segment], ()) == (segment,)


def test_segment_without_words_gets_overlap_speaker() -> None:
    out = assign_speakers([Segment(6.5, 7.0, "noise")], TURNS)
    assert out[0].speaker == "A"


def test_overlapping_segments_come_back_in_time_order() -> None:
    """A segment running into the next one (batched decoding does this) is split, then ordered."""
    long = _segment((0.5, 1.0, "one"), (2.5, 3.0, "two"), (6.9, 7.0, "three"))
    next_one = _segment((6.5, 6.8, "four"))
    out = assign_speakers([long, next_one], TURNS)
    assert [s.text for s in out] == ["one", "two", "four", "three"]


def test_many_words_scale() -> None:
    turns = tuple(Turn(float(i), i + 1.0, "AB"[i % 2]) for i in range(20_000))
    words = tuple(Word(i + 0.2, i + 0.6, " w") for i in range(20_000))
    out = assign_speakers([Segment(0.0, 20_000.0, "", words)], turns)
    assert len(out) == 20_000 and out[1].speaker == "B"
