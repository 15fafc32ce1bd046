"""Scoring functions of ``evaluation`` on hand-built references with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.diarization import optimal_mapping, pooled_rates, score_diarization
from evaluation.music import FRAME, MusicCounts, frame_mask, music_counts
from evaluation.references import Reference, read_rttm, read_stm_text
from evaluation.scoring import ratios, score_output, summarise
from evaluation.speakers import reference_stats, speaker_errors
from evaluation.systems import SystemOutput
from evaluation.transcript import normalise, scored_text, word_errors, words_inside
from pipeline.core.types import SpeakerStats, Turn, Word
from pipeline.stages.metrics.conversation import compute_metrics
from pipeline.stages.metrics.settings import MetricsConfig

WHOLE = ((0.0, 20.0),)
REFERENCE = (Turn(0.0, 10.0, "A"), Turn(10.0, 20.0, "B"))


def by_collar(scores, collar: float):  # type: ignore[no-untyped-def]
    return next(s for s in scores if s.collar == collar)


# --------------------------------------------------------------------------- DER / JER


def test_perfect_hypothesis_with_other_labels_scores_zero() -> None:
    hypothesis = (Turn(0.0, 10.0, "SPEAKER_07"), Turn(10.0, 20.0, "SPEAKER_03"))
    for score in score_diarization(REFERENCE, hypothesis, uem=WHOLE):
        assert score.der == pytest.approx(0.0) and score.jer == pytest.approx(0.0)


def test_shifted_boundary_costs_its_length_without_collar_and_nothing_with_it() -> None:
    hypothesis = (Turn(0.0, 10.2, "x"), Turn(10.2, 20.0, "y"))  # 0.2 s of B given to A
    scores = score_diarization(REFERENCE, hypothesis, uem=WHOLE)
    assert by_collar(scores, 0.0).der == pytest.approx(0.2 / 20.0)
    assert by_collar(scores, 0.0).der_components["confusion"] == pytest.approx(0.2)
    # collar=0.5 is 0.25 s each side of the boundary at 10 s: the 0.2 s shift is forgiven.
    assert by_collar(scores, 0.5).der == pytest.approx(0.0)


def test_swapped_labels_are_mapped_back() -> None:
    swapped = (Turn(0.0, 10.0, "B"), Turn(10.0, 20.0, "A"))
    assert by_collar(score_diarization(REFERENCE, swapped, uem=WHOLE), 0.0).der == pytest.approx(0.0)
    assert optimal_mapping(REFERENCE, swapped, uem=WHOLE) == {"B": "A", "A": "B"}


def test_one_speaker_for_everything_confuses_half() -> None:
    scores = score_diarization(REFERENCE, (Turn(0.0, 20.0, "x"),), uem=WHOLE)
    assert by_collar(scores, 0.0).der == pytest.approx(0.5)
    # JER: A matched with x covers half of x's span (1 - 10/20), B has no partner (1): mean 0.75.
    assert by_collar(scores, 0.0).jer == pytest.approx(0.75)


def test_speech_invented_in_music_is_a_false_alarm_inside_the_uem() -> None:
    hypothesis = (*REFERENCE, Turn(20.0, 30.0, "x"))
    score = by_collar(score_diarization(REFERENCE, hypothesis, uem=((0.0, 30.0),)), 0.0)
    assert score.der_components["false alarm"] == pytest.approx(10.0)
    assert score.der == pytest.approx(0.5)


def test_nothing_found_misses_everything() -> None:
    assert by_collar(score_diarization(REFERENCE, (), uem=WHOLE), 0.0).der == pytest.approx(1.0)


def test_pooled_der_weights_recordings_by_reference_speech() -> None:
    perfect = score_diarization(REFERENCE, REFERENCE, uem=WHOLE, collars=(0.0,))
    short_ref = (Turn(0.0, 5.0, "A"),)
    missed = score_diarization(short_ref, (), uem=((0.0, 5.0),), collars=(0.0,))
    der, jer = pooled_rates([*perfect, *missed])
    assert der == pytest.approx(5.0 / 25.0)
    assert jer == pytest.approx(1.0 / 3.0)  # speakers A, B perfect, A of the second missed
    assert pooled_rates([]) == (None, None)


# --------------------------------------------------------------------------- hold music


def test_frame_mask_covers_rounded_frames() -> None:
    mask = frame_mask([(0.5, 1.0)], duration=2.0)
    assert mask.shape == (200,) and mask.sum() == 50 and mask[50] and not mask[49] and not mask[100]


def test_music_f1_and_speech_lost_from_frames() -> None:
    counts = music_counts([(0.0, 10.0)], [(0.0, 8.0)], [(12.0, 15.0)], duration=20.0)
    assert (counts.true_positive, counts.false_positive, counts.false_negative) == (800, 0, 200)
    assert counts.f1 == pytest.approx(1600 / 1800)
    assert counts.speech_lost_share == 0.0
    greedy = music_counts([(0.0, 10.0)], [(0.0, 12.5)], [(12.0, 15.0)], duration=20.0)
    assert greedy.speech_lost_share == pytest.approx(0.5 / 3.0)
    assert greedy.false_positive == round(2.5 / FRAME)


def test_no_music_nothing_stripped_has_no_f1_and_counts_pool() -> None:
    empty = music_counts([], [], [(0.0, 1.0)], duration=5.0)
    assert empty.f1 is None and empty.speech_lost_share == 0.0
    pooled = empty + MusicCounts(10, 0, 10, 0, 0)
    assert pooled.f1 == pytest.approx(20 / 30) and pooled.speech == 100


# --------------------------------------------------------------------------- speakers


def stats(turns: tuple[Turn, ...], duration: float = 40.0) -> tuple[SpeakerStats, ...]:
    speakers, _, _ = compute_metrics(
        duration=duration,
        turns=turns,
        overlapped_turns=turns,
        segments=(),
        hold_music=(),
        config=MetricsConfig(),
    )
    return speakers


def test_talk_share_error_under_the_mapping() -> None:
    reference = reference_stats((Turn(0, 30, "A"), Turn(30, 40, "B")), duration=40.0, config=MetricsConfig())
    assert {s.speaker: s.share for s in reference} == pytest.approx({"A": 0.75, "B": 0.25})
    hypothesis = stats((Turn(0, 20, "x"), Turn(20, 40, "y")))
    errors = speaker_errors(reference, hypothesis, {"x": "A", "y": "B"})
    assert errors is not None
    assert errors.share_error_mean == pytest.approx(0.25) and errors.share_error_max == pytest.approx(0.25)
    assert errors.turn_error_total == 0 and errors.count_error == 0


def test_turn_count_error_and_missed_speaker() -> None:
    reference = stats((Turn(0, 30, "A"), Turn(30, 40, "B")))
    # A's speech split by 2 s pauses (longer than merge_pause): 3 turns instead of 1; B never found.
    hypothesis = stats((Turn(0, 9, "x"), Turn(11, 19, "x"), Turn(21, 30, "x")))
    errors = speaker_errors(reference, hypothesis, {"x": "A"})
    assert errors is not None
    assert errors.turn_error_total == 2 + 1 and errors.turn_error_mean == pytest.approx(1.5)
    assert errors.share_error_max == pytest.approx(0.25)  # B: 0.25 in the reference, 0 found
    assert errors.speakers_found == 1 and errors.count_error == 1
    assert speaker_errors((), hypothesis, {}) is None


# --------------------------------------------------------------------------- words


def test_wer_is_measured_on_whisper_normalised_text() -> None:
    assert normalise("Okay, um, Mr. Smith has TWO dogs!") == "okay mister smith has 2 dogs"
    assert word_errors("Okay, Mr. Smith has two dogs.", "okay mister smith has 2 dogs").wer == 0.0
    errors = word_errors("the cat sat down", "The cat sat, town!")
    assert (errors.substitutions, errors.wer) == (1, 0.25)
    assert word_errors("good morning", "").deletions == 2
    assert word_errors("", "hello").wer is None
    assert (errors + word_errors("a b", "a b c")).wer == pytest.approx(2 / 6)


def test_words_hallucinated_inside_music_are_counted_by_midpoint() -> None:
    words = [Word(1.0, 1.4, "thank"), Word(9.8, 10.4, "you"), Word(12.0, 12.5, "hello")]
    assert [w.text for w in words_inside(words, [(0.0, 10.0)])] == ["thank"]  # "you" is centred at 10.1 s
    assert words_inside(words, []) == []


def test_words_in_untranscribed_speech_are_left_out_of_the_wer() -> None:
    words = [Word(0.0, 0.5, "music"), Word(3.0, 3.5, "guest"), Word(6.0, 6.5, "hello")]
    assert scored_text(words, untranscribed=[(2.0, 5.0)]) == "music hello"


# --------------------------------------------------------------------------- files and a whole score


def test_rttm_and_stm_readers(tmp_path: Path) -> None:
    rttm = tmp_path / "x.rttm"
    rttm.write_text(
        "SPEAKER x 1 1.50 2.00 <NA> <NA> spk1 <NA> <NA>\nSPEAKER x 1 4.0 1.0 <NA> <NA> spk2 <NA> <NA>\n"
    )
    assert read_rttm(rttm) == (Turn(1.5, 3.5, "spk1"), Turn(4.0, 5.0, "spk2"))
    stm = tmp_path / "x.stm"
    stm.write_text("x 1 B 4.0 5.0 second line\nx 1 A 1.5 3.5 First, line.\n")
    assert read_stm_text(stm) == "First, line. second line"


def test_score_output_and_ratios_on_a_hand_built_recording() -> None:
    reference = Reference(
        name="room",
        path=Path("room.flac"),
        duration=40.0,
        turns=(Turn(20, 30, "A"), Turn(30, 40, "B")),
        music=((0.0, 20.0),),
        speech=((20.0, 40.0),),
        text="hello there",
        untranscribed=(),
        kind="live-room",
    )
    words = (Word(5.0, 5.5, "thank"), Word(21.0, 21.5, "hello"), Word(22.0, 22.5, "there"))
    turns = (Turn(20, 30, "s0"), Turn(30, 40, "s1"))
    ours = SystemOutput(
        name="room",
        system="ours",
        diarized=True,
        duration=40.0,
        seconds=4.0,
        cpu_seconds=6.0,
        timings={"asr": 3.0},
        words=words[1:],
        turns=turns,
        speakers=stats(turns),
        stripped=((0.0, 19.0),),
    )
    plain = SystemOutput(
        name="room",
        system="plain-whisper",
        diarized=False,
        duration=40.0,
        seconds=8.0,
        cpu_seconds=8.0,
        timings={"asr": 8.0},
        words=words,
        turns=(),
        speakers=(),
        stripped=(),
    )
    score = score_output(reference, ours, metrics=MetricsConfig())
    assert score.diarization[0].der == pytest.approx(0.0)
    assert score.words is not None and score.words.wer == 0.0 and score.words_in_music == 0
    assert score.music.f1 == pytest.approx(2 * 1900 / (2 * 1900 + 100))
    assert score.speakers is not None and score.speakers.share_error_mean == pytest.approx(0.0)
    baseline = score_output(reference, plain, metrics=MetricsConfig())
    assert baseline.diarization == () and baseline.speakers is None
    assert baseline.words_in_music == 1 and baseline.words is not None and baseline.words.insertions == 1
    ours_summary, plain_summary = summarise([score]), summarise([baseline])
    assert ours_summary["rtf"] == pytest.approx(0.1) and ours_summary["rtf_asr"] == pytest.approx(3.0 / 40.0)
    compared = ratios(ours_summary, plain_summary)
    assert compared["seconds"] == pytest.approx(0.5) and compared["cpu_rtf"] == pytest.approx(0.75)
    assert compared["words_in_music"] == 0.0 and compared["wer"] == 0.0  # baseline WER 0.5, ours 0
    assert compared["der_c0"] is None  # no baseline DER
    assert np.isclose(plain_summary["wer"], 0.5)
