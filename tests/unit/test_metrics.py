"""Conversation metrics on hand-built timelines; every expected value is worked out by hand."""

from __future__ import annotations

import math

import pytest

from pipeline.core.types import Region, Segment, Turn, Word
from pipeline.stages.metrics.conversation import compute_metrics, speech_activity
from pipeline.stages.metrics.floor import floor_turns, monologues
from pipeline.stages.metrics.settings import MetricsConfig

DEFAULT = MetricsConfig()


def words(speaker: str, start: float, end: float, text: str) -> tuple[Word, ...]:
    """``text``'s words spread evenly over ``[start, end]`` seconds."""
    parts = text.split()
    step = (end - start) / len(parts)
    return tuple(
        Word(start + i * step, start + (i + 1) * step, " " + w, speaker=speaker) for i, w in enumerate(parts)
    )


def seg(speaker: str, start: float, end: float, text: str) -> Segment:
    return Segment(start, end, text, words(speaker, start, end, text), speaker)


def run(duration, overlapped, segments=(), hold=(), config=DEFAULT, turns=()):
    speakers, conversation, _ = compute_metrics(
        duration=duration,
        turns=turns,
        overlapped_turns=overlapped,
        segments=segments,
        hold_music=hold,
        config=config,
    )
    return {s.speaker: s for s in speakers}, conversation, speakers


# --- empty and single speaker --------------------------------------------------------


def test_empty_recording_has_no_speakers_and_is_all_silence():
    by_name, conv, _ = run(10.0, ())
    assert by_name == {}
    assert conv.duration == 10.0
    assert conv.speech_time == 0.0
    assert conv.silence_time == 10.0
    assert conv.num_speakers == 0
    assert conv.balance is None
    assert conv.longest_stretch == 0.0 and conv.longest_stretch_speaker is None
    assert conv.interruptions == ()


def test_zero_length_recording():
    by_name, conv, _ = run(0.0, ())
    assert by_name == {} and conv.silence_time == 0.0 and conv.hold_music_time == 0.0


def test_single_speaker():
    # A speaks 1-3 and 3.2-5 (0.2 s pause < merge_pause 0.5: one turn 1-5), then 7-9.
    overlapped = (Turn(1, 3, "A"), Turn(3.2, 5, "A"), Turn(7, 9, "A"))
    segments = (seg("A", 1, 2, "Hello there."), seg("A", 7, 8.5, "How are you"))
    by_name, conv, _ = run(10.0, overlapped, segments)
    a = by_name["A"]
    assert a.talk_time == pytest.approx(5.8)  # 2 + 1.8 + 2
    assert a.share == 1.0
    assert a.turns == 2
    assert (a.longest_turn, a.longest_turn_start, a.longest_turn_end) == pytest.approx((4.0, 1.0, 5.0))
    assert a.mean_turn == pytest.approx(3.0) and a.median_turn == pytest.approx(3.0)
    assert a.words == 5
    assert a.words_per_minute == pytest.approx(5 / (5.8 / 60))
    # "How are you" has no final punctuation and opens with "how".
    assert a.questions == 1
    # The 3-word turn is short, but nobody else holds the floor: neither backchannel nor interjection.
    assert (a.backchannels, a.interjections, a.interruptions, a.interrupted) == (0, 0, 0, 0)
    assert a.overlap_time == 0.0
    assert a.median_response_latency is None
    assert a.first_speech == 1.0
    assert conv.num_speakers == 1
    assert conv.balance is None
    assert conv.speech_time == pytest.approx(5.8)
    assert conv.silence_time == pytest.approx(4.2)
    assert (conv.longest_stretch, conv.longest_stretch_start, conv.longest_stretch_end) == pytest.approx(
        (4.0, 1.0, 5.0)
    )
    assert conv.longest_stretch_speaker == "A"


# --- a three-speaker conversation with hold music, overlaps and one-time speaker -------

# Hold music 0-10. A asks (10-20) while B murmurs "Mm-hmm." (14-14.5); B answers
# (20.4-30) while A cuts in with "But the budget" (25-26) and fails; C, who speaks only
# once, starts over B at 28 and keeps talking after B stops (28-35); A closes (36-50).
CONVERSATION = (
    Turn(10, 20, "A"),
    Turn(14, 14.5, "B"),
    Turn(20.4, 30, "B"),
    Turn(25, 26, "A"),
    Turn(28, 35, "C"),
    Turn(36, 50, "A"),
)
CONVERSATION_SEGMENTS = (
    seg("A", 10, 13, "So tell me about the plan."),
    seg("B", 14, 14.5, "Mm-hmm."),
    seg("A", 17, 19, "What do you think?"),
    seg("B", 21, 24, "Well, um, I think it is good."),
    seg("A", 25, 26, "But the budget"),
    seg("C", 28.5, 33, "Sorry to cut in but we must decide now."),
    seg("A", 36, 38, "Okay let us decide."),
    seg("A", 45, 46, "Any objections?"),
)
CONVERSATION_CONFIG = MetricsConfig(
    monologue_min_duration=12.0, keywords={"budget": ("budget", "money"), "plan": ("the plan",)}
)


@pytest.fixture
def conversation():
    return run(60.0, CONVERSATION, CONVERSATION_SEGMENTS, (Region(0, 10),), CONVERSATION_CONFIG)


def test_talk_time_share_and_order(conversation):
    by_name, _, ordered = conversation
    assert [s.speaker for s in ordered] == ["A", "B", "C"]
    assert by_name["A"].talk_time == pytest.approx(25.0)  # 10 + 1 + 14
    assert by_name["B"].talk_time == pytest.approx(10.1)  # 0.5 + 9.6
    assert by_name["C"].talk_time == pytest.approx(7.0)
    assert by_name["A"].share == pytest.approx(25 / 42.1)
    assert sum(s.share for s in ordered) == pytest.approx(1.0)


def test_turn_statistics(conversation):
    by_name, _, _ = conversation
    a, b, c = by_name["A"], by_name["B"], by_name["C"]
    assert (a.turns, b.turns, c.turns) == (3, 2, 1)
    assert a.mean_turn == pytest.approx(25 / 3) and a.median_turn == pytest.approx(10.0)
    assert (a.longest_turn, a.longest_turn_start, a.longest_turn_end) == pytest.approx((14.0, 36.0, 50.0))
    assert b.mean_turn == pytest.approx(5.05) and b.median_turn == pytest.approx(5.05)
    assert (c.longest_turn, c.longest_turn_start, c.longest_turn_end) == pytest.approx((7.0, 28.0, 35.0))


def test_backchannel_interjection_and_interruption(conversation):
    by_name, conv, _ = conversation
    a, b, c = by_name["A"], by_name["B"], by_name["C"]
    assert (b.backchannels, b.interjections) == (1, 0)  # "Mm-hmm." while A keeps the floor
    assert (a.backchannels, a.interjections) == (0, 1)  # "But the budget": content, B keeps the floor
    assert (c.interruptions, b.interrupted) == (1, 1)  # C starts 2 s before B stops, outlasts B
    assert a.interruptions == 0  # A's cut-in did not take the floor
    assert conv.interruptions == (("C", "B", 1),)


def test_overlap_time(conversation):
    by_name, conv, _ = conversation
    # A1 with B's murmur 0.5; B2 with A's cut-in 1.0; B2 with C 2.0 (28-30).
    assert by_name["A"].overlap_time == pytest.approx(1.5)
    assert by_name["B"].overlap_time == pytest.approx(3.5)
    assert by_name["C"].overlap_time == pytest.approx(2.0)
    assert conv.overlap_time == pytest.approx(3.5)


def test_response_latency(conversation):
    by_name, _, _ = conversation
    assert by_name["A"].median_response_latency == pytest.approx(1.0)  # 36 after C's 35; A1 opens
    assert by_name["B"].median_response_latency == pytest.approx(0.4)  # 20.4 after A's 20
    assert by_name["C"].median_response_latency == pytest.approx(-2.0)  # 28, B still talking to 30


def test_words_questions_fillers_keywords(conversation):
    by_name, _, _ = conversation
    a, b, c = by_name["A"], by_name["B"], by_name["C"]
    assert (a.words, b.words, c.words) == (19, 8, 9)
    assert b.words_per_minute == pytest.approx(8 / (10.1 / 60))
    assert (a.questions, b.questions, c.questions) == (2, 0, 0)
    assert (a.fillers, b.fillers, c.fillers) == (0, 1, 0)
    assert a.keywords == (("budget", 1), ("plan", 1))
    assert b.keywords == (("budget", 0), ("plan", 0))


def test_conversation_totals(conversation):
    _, conv, _ = conversation
    assert conv.duration == 60.0
    assert conv.hold_music_time == pytest.approx(10.0)
    assert conv.speech_time == pytest.approx(38.6)  # 10-20, 20.4-35, 36-50
    assert conv.silence_time == pytest.approx(11.4)  # 20-20.4, 35-36, 50-60
    assert conv.num_speakers == 3
    shares = [25 / 42.1, 10.1 / 42.1, 7 / 42.1]
    assert conv.balance == pytest.approx(-sum(p * math.log(p) for p in shares) / math.log(3))
    assert (conv.longest_stretch, conv.longest_stretch_start, conv.longest_stretch_end) == pytest.approx(
        (14.0, 36.0, 50.0)
    )
    assert conv.longest_stretch_speaker == "A"


def test_monologue_threshold(conversation):
    by_name, _, _ = conversation
    assert by_name["A"].monologues == ((36.0, 50.0),)
    assert by_name["A"].monologue_count == 1
    assert by_name["B"].monologue_count == 0 and by_name["C"].monologues == ()


# --- focused definitions ---------------------------------------------------------------


def test_monologue_survives_backchannels_but_not_a_reply():
    # A talks 0-30 and 31.5-61.5 (1.5 s pause); B's "Yeah." at 30.5-31 leaves A the floor.
    overlapped = (Turn(0, 30, "A"), Turn(30.5, 31, "B"), Turn(31.5, 61.5, "A"))
    segments = (seg("B", 30.5, 31, "Yeah."),)
    by_name, _, _ = run(70.0, overlapped, segments)
    assert by_name["A"].turns == 2
    assert by_name["A"].monologues == ((0.0, 61.5),)
    assert by_name["B"].backchannels == 1
    # A real reply in the pause (a long turn by B) ends the monologue: two 30 s halves.
    replied = (Turn(0, 30, "A"), Turn(30.2, 32.0, "B"), Turn(32.5, 62.5, "A"))
    by_name, _, _ = run(70.0, replied, (seg("B", 30.2, 32.0, "No I really do not agree"),))
    assert by_name["A"].monologue_count == 0


def test_short_turn_that_takes_the_floor_is_an_interjection():
    # B's "No, wait." (1 s) after A stops; B goes on 0.7 s later; A does not resume.
    overlapped = (Turn(0, 10, "A"), Turn(10.2, 11.2, "B"), Turn(11.9, 20, "B"))
    segments = (seg("B", 10.2, 11.2, "No, wait."), seg("B", 12, 19, "Let me explain the whole thing again"))
    by_name, _, _ = run(20.0, overlapped, segments)
    assert (by_name["B"].interjections, by_name["B"].backchannels) == (1, 0)
    turns = floor_turns(
        activity=speech_activity(duration=20, turns=(), overlapped_turns=overlapped, hold_music=()),
        segments=segments,
        config=DEFAULT,
    )
    short = next(t for t in turns if t.start == 10.2)
    assert short.kind == "interjection" and short.takes_floor
    assert short.response_latency == pytest.approx(0.2)


def test_lexical_short_turn_in_a_pause_is_a_backchannel():
    # "Yeah, right." (3 words, 1.2 s) in A's 1.5 s pause; A resumes 0.3 s later.
    overlapped = (Turn(0, 10, "A"), Turn(10.1, 11.3, "B"), Turn(11.6, 20, "A"))
    segments = (seg("B", 10.1, 11.3, "Yeah, right."),)
    by_name, _, _ = run(20.0, overlapped, segments)
    assert (by_name["B"].backchannels, by_name["B"].interjections) == (1, 0)
    assert by_name["B"].median_response_latency is None  # a backchannel is not a response


def test_wordless_murmur_is_a_backchannel():
    overlapped = (Turn(0, 10, "A"), Turn(4, 4.6, "B"))
    by_name, _, _ = run(10.0, overlapped)
    assert by_name["B"].backchannels == 1
    assert by_name["B"].words == 0 and by_name["B"].words_per_minute == 0.0


def test_handover_overlap_is_not_an_interruption():
    # B starts 0.2 s before A stops: under interruption_min_overlap (0.3 s).
    overlapped = (Turn(0, 10, "A"), Turn(9.8, 20, "B"))
    by_name, conv, _ = run(20.0, overlapped)
    assert by_name["B"].interruptions == 0 and conv.interruptions == ()
    assert by_name["B"].median_response_latency == pytest.approx(-0.2)
    assert by_name["B"].overlap_time == pytest.approx(0.2)


def test_talking_over_without_keeping_the_floor_is_not_an_interruption():
    # B starts over A at 5 but stops at 8 while A goes on to 10.
    overlapped = (Turn(0, 10, "A"), Turn(5, 8, "B"))
    by_name, conv, _ = run(10.0, overlapped, (seg("B", 5, 8, "I think that is not what we said"),))
    assert by_name["B"].interruptions == 0 and by_name["A"].interrupted == 0
    assert conv.overlap_time == pytest.approx(3.0)


def test_interruption_matrix_counts_each_direction():
    # A<-B at 9 (A stops 10, B to 20); B<-A at 19 (B stops 20, A to 30); A<-B again at 29.
    overlapped = (Turn(0, 10, "A"), Turn(9, 20, "B"), Turn(19, 30, "A"), Turn(29, 40, "B"))
    by_name, conv, _ = run(40.0, overlapped)
    assert conv.interruptions == (("A", "B", 1), ("B", "A", 2))
    assert (by_name["B"].interruptions, by_name["A"].interrupted) == (2, 2)
    assert (by_name["A"].interruptions, by_name["B"].interrupted) == (1, 1)


def test_question_detection():
    segments = (
        seg("A", 0, 3, "Is it ready? It is."),  # "?" ends the first sentence
        seg("A", 3, 5, "What I mean is this."),  # opener, but a full stop says statement
        seg("A", 5, 7, "why not"),  # opener, no punctuation
    )
    by_name, _, _ = run(10.0, (Turn(0, 7, "A"),), segments)
    assert by_name["A"].questions == 2


def test_exclusive_turns_used_when_no_regular_diarization():
    activity = speech_activity(duration=10, turns=(Turn(1, 2, "A"),), overlapped_turns=(), hold_music=())
    assert activity == {"A": [(1, 2)]}


def test_music_and_recording_end_are_never_speech():
    activity = speech_activity(
        duration=30,
        turns=(),
        overlapped_turns=(Turn(5, 15, "A"), Turn(25, 40, "A")),
        hold_music=(Region(0, 10),),
    )
    assert activity == {"A": [(10, 15), (25, 30)]}


def test_monologues_lists_speaker_and_span():
    activity = {"A": [(0.0, 70.0)]}
    turns = floor_turns(activity=activity, segments=(), config=DEFAULT)
    assert monologues(turns, DEFAULT) == (("A", 0.0, 70.0),)
    assert turns[0].monologue
