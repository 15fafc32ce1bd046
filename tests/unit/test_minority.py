"""The minority speaker's figures on hand-built references and hypotheses."""

from __future__ import annotations

import pytest

from evaluation.minority import first_speaker, minority_score
from pipeline.core.types import Turn

REFERENCE = (
    Turn(0.0, 3.0, "host"),  # opening
    Turn(3.5, 60.0, "guest"),
    Turn(60.5, 63.0, "host"),  # a question
    Turn(63.5, 100.0, "guest"),
    Turn(80.0, 80.5, "host"),  # a murmur over the guest
)


def test_a_host_wholly_on_its_own_label_scores_full_marks() -> None:
    hypothesis = tuple(Turn(t.start, t.end, "A" if t.speaker == "host" else "B") for t in REFERENCE)
    score = minority_score(
        REFERENCE,
        hypothesis,
        hypothesis,
        duration=100.0,
        backchannels=((80.0, 80.5),),
        questions=((60.5, 63.0),),
    )
    assert score is not None and score.speaker == "host"
    assert score.recall == pytest.approx(1.0) and score.turns_on_label == pytest.approx(1.0)
    assert score.backchannels == 1.0 and score.questions == 1.0 and score.named_first
    assert score.share == pytest.approx(6.0 / 99.0)


def test_a_host_lost_in_the_guest_scores_nothing_and_is_named_wrong() -> None:
    hypothesis = (Turn(0.0, 100.0, "B"),)
    score = minority_score(REFERENCE, hypothesis, hypothesis, duration=100.0, backchannels=((80.0, 80.5),))
    assert score is not None
    assert score.recall == 0.0 and score.turns_on_label == 0.0 and score.backchannels == 0.0
    assert score.questions is None
    assert not score.named_first  # the first speaker found maps to the guest


def test_half_the_question_on_the_host_label_is_not_mostly_on_it() -> None:
    hypothesis = (Turn(0.0, 3.0, "A"), Turn(3.5, 61.75, "B"), Turn(61.75, 63.0, "A"), Turn(63.5, 100.0, "B"))
    score = minority_score(REFERENCE, hypothesis, hypothesis, duration=100.0, questions=((60.5, 63.0),))
    assert score is not None and score.questions == 0.0
    assert score.recall == pytest.approx((3.0 + 1.25) / 6.0)


def test_one_speaker_has_no_minority_and_first_speaker_is_the_earliest() -> None:
    assert minority_score((Turn(0, 1, "a"),), (Turn(0, 1, "x"),), (Turn(0, 1, "x"),), duration=1.0) is None
    assert first_speaker((Turn(2, 3, "b"), Turn(1, 2, "a"))) == "a" and first_speaker(()) is None


def test_a_questions_pause_is_not_counted_against_its_label() -> None:
    """A 4 s question of which 2 s are a pause: its 1.2 s on the host's label are most of its speech."""
    reference = (
        Turn(0.0, 3.0, "host"),
        Turn(3.5, 50.0, "guest"),
        Turn(50.5, 51.5, "host"),
        Turn(53.0, 54.5, "host"),
    )
    reference += (Turn(55.0, 100.0, "guest"),)
    hypothesis = (Turn(0.0, 3.0, "A"), Turn(3.5, 50.8, "B"), Turn(50.8, 51.5, "A"), Turn(53.0, 53.5, "A"))
    hypothesis += (Turn(53.5, 54.5, "B"), Turn(55.0, 100.0, "B"))
    score = minority_score(reference, hypothesis, hypothesis, duration=100.0, questions=((50.5, 54.5),))
    assert score is not None and score.questions == 0.0  # 1.2 of 2.5 s of speech: not most of it
    hypothesis = (*hypothesis[:4], Turn(53.5, 54.0, "A"), Turn(54.0, 54.5, "B"), Turn(55.0, 100.0, "B"))
    score = minority_score(reference, hypothesis, hypothesis, duration=100.0, questions=((50.5, 54.5),))
    assert score is not None and score.questions == 1.0  # 1.7 of 2.5 s, though under half the 4 s span
