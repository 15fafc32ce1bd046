"""Quiet-host interviews and like-voice calls from the LibriSpeech bank: seeded, exact turns, host share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import SHARED_DATA

from evaluation.quiet_host import (
    CALL_PAIRS,
    INTERVIEW_PAIRS,
    bank_voice,
    like_voice_call,
    quiet_host_interview,
    voices_present,
)
from pipeline.io.audio import SAMPLE_RATE


def test_every_pair_is_in_the_bank_and_of_one_sex(voice_bank: Path) -> None:
    assert voices_present(INTERVIEW_PAIRS, voice_bank) == INTERVIEW_PAIRS
    assert voices_present(CALL_PAIRS, voice_bank) == CALL_PAIRS
    assert len(INTERVIEW_PAIRS) >= 5 and any(p.sex == "F" for p in INTERVIEW_PAIRS)
    readme = (voice_bank / "README.md").read_text(encoding="utf-8")
    for pair in INTERVIEW_PAIRS + CALL_PAIRS:
        for reader in (pair.guest, pair.host):
            assert f"| {reader} | {pair.sex} |" in readme


def test_bank_voice_cuts_questions_and_murmurs_to_their_lengths(voice_bank: Path) -> None:
    voice = bank_voice(INTERVIEW_PAIRS[0].host, voice_bank)
    assert voice.sentences and voice.murmurs
    assert all(1.5 <= s.size / SAMPLE_RATE <= 6.0 + 0.05 for s in voice.sentences)
    assert all(0.2 <= m.size / SAMPLE_RATE <= 0.8 for m in voice.murmurs)


def test_quiet_host_interview_has_the_hosts_opening_questions_and_murmurs(
    tmp_path: Path, voice_bank: Path, data_dir: Path
) -> None:
    pair = INTERVIEW_PAIRS[3]  # the first pair of women
    talk = quiet_host_interview(tmp_path, pair, bank=voice_bank, data=data_dir, minutes=1.5, host_share=0.04)
    ref = talk.reference
    audio, rate = sf.read(ref.path)
    assert rate == SAMPLE_RATE and audio.size / SAMPLE_RATE == pytest.approx(ref.duration, abs=1e-3)
    assert ref.music == () and all(0.0 <= t.start < t.end <= ref.duration for t in ref.turns)
    first = min(ref.turns, key=lambda t: t.start)
    assert first.speaker == talk.host and talk.opening[0][0] <= first.start < first.end <= talk.opening[0][1]
    assert len(talk.questions) >= 3 and talk.backchannels  # murmurs due while the host asks are skipped
    assert all(1.5 <= b - a <= 6.05 for a, b in talk.questions)
    assert all(0.2 <= b - a <= 0.8 for a, b in talk.backchannels)
    assert 0.01 <= talk.host_share <= 0.2  # 1.5 min: the opening and 3 questions at least
    for a, _ in talk.interruptions:  # an interruption starts while the guest still speaks
        assert any(s < a < e for s, e in talk.monologue)
    again = quiet_host_interview(
        tmp_path / "again", pair, bank=voice_bank, data=data_dir, minutes=1.5, host_share=0.04
    )
    assert again.reference.turns == ref.turns


@pytest.mark.skipif(
    not (SHARED_DATA / "music").is_dir(), reason="../shared/data/music (the hold track) absent"
)
def test_a_hold_loop_in_front_shifts_the_talk_and_is_the_references_music(
    tmp_path: Path, voice_bank: Path, data_dir: Path
) -> None:
    pair, where = INTERVIEW_PAIRS[0], {"bank": voice_bank, "data": data_dir}
    plain = quiet_host_interview(tmp_path, pair, **where, minutes=1.0, host_share=0.04)
    held = quiet_host_interview(tmp_path, pair, **where, minutes=1.0, host_share=0.04, hold_minutes=0.25)
    assert held.reference.music == ((0.0, 15.0),)
    assert [t.start - 15.0 for t in held.reference.turns] == pytest.approx(
        [t.start for t in plain.reference.turns]
    )


def test_like_voice_call_is_two_alike_readers_taking_turns(tmp_path: Path, voice_bank: Path) -> None:
    ref = like_voice_call(1, CALL_PAIRS[1], tmp_path, bank=voice_bank)
    assert {t.speaker for t in ref.turns} == {CALL_PAIRS[1].guest, CALL_PAIRS[1].host}
    assert "phone" in ref.tags and 50.0 <= ref.duration <= 92.0
    talk = {
        s: sum(t.end - t.start for t in ref.turns if t.speaker == s)
        for s in (CALL_PAIRS[1].guest, CALL_PAIRS[1].host)
    }
    assert min(talk.values()) > 0.25 * max(talk.values())
    assert np.isfinite(sf.read(ref.path)[0]).all()
