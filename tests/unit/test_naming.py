"""Speaker naming: parsing the flags, order of first speech, renaming, and the naming stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.core.errors import ConfigError
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import Segment, Turn, Word
from pipeline.stages.base import RecordingState
from pipeline.stages.naming import (
    NamingStage,
    SpeakerNaming,
    name_speakers_by_order,
    parse_enrollments,
    parse_speaker_names,
    rename_speakers,
    speaker_order,
)
from pipeline.stages.naming_settings import EnrollmentConfig

TURNS = (Turn(0.0, 2.0, "SPEAKER_01"), Turn(2.5, 4.0, "SPEAKER_00"), Turn(4.5, 6.0, "SPEAKER_02"))
SEGMENTS = (
    Segment(
        0.0,
        2.0,
        "Hi there",
        (Word(0.0, 1.0, " Hi", speaker="SPEAKER_01"), Word(1.0, 2.0, " there", speaker="SPEAKER_01")),
        "SPEAKER_01",
    ),
    Segment(2.5, 4.0, "Hello", (Word(2.5, 4.0, " Hello", speaker="SPEAKER_00"),), "SPEAKER_00"),
)


def test_parse_speaker_names():
    assert parse_speaker_names(" Host , Guest ") == ("Host", "Guest")
    with pytest.raises(ConfigError, match="empty name"):
        parse_speaker_names("Host,,Guest")
    with pytest.raises(ConfigError, match="given twice"):
        parse_speaker_names("Host,Host")


def test_parse_enrollments(tmp_path: Path):
    clip = tmp_path / "host.wav"
    clip.write_bytes(b"x")
    assert parse_enrollments([f"Host={clip}"]) == {"Host": clip}
    with pytest.raises(ConfigError, match=r"NAME=clip\.wav"):
        parse_enrollments(["Host"])
    with pytest.raises(ConfigError, match="no such file"):
        parse_enrollments([f"Host={tmp_path / 'missing.wav'}"])
    with pytest.raises(ConfigError, match="enrolled twice"):
        parse_enrollments([f"Host={clip}", f"Host={clip}"])


def test_order_of_first_speech_not_label_order():
    assert speaker_order(TURNS) == ("SPEAKER_01", "SPEAKER_00", "SPEAKER_02")
    # A word before any turn counts as speech too.
    early = (Segment(-0.0, 0.0, "", (Word(0.0, 0.1, " uh", speaker="SPEAKER_02"),), "SPEAKER_02"),)
    assert speaker_order(TURNS[1:], early)[0] == "SPEAKER_02"


def test_name_by_order_extra_speakers_keep_labels_extra_names_ignored():
    assert name_speakers_by_order(["Host", "Guest"], turns=TURNS) == {
        "SPEAKER_01": "Host",
        "SPEAKER_00": "Guest",
    }
    assert name_speakers_by_order(["A", "B", "C", "D"], turns=TURNS[:1]) == {"SPEAKER_01": "A"}


def test_rename_speakers_renames_turns_segments_and_words():
    mapping = {"SPEAKER_01": "Host", "SPEAKER_00": "Guest"}
    turns, overlapped, segments = rename_speakers(
        mapping, turns=TURNS, overlapped_turns=TURNS, segments=SEGMENTS
    )
    assert [t.speaker for t in turns] == ["Host", "Guest", "SPEAKER_02"]
    assert overlapped == turns
    assert [s.speaker for s in segments] == ["Host", "Guest"]
    assert {w.speaker for w in segments[0].words} == {"Host"}
    assert [t.start for t in turns] == [t.start for t in TURNS]


def test_rename_refuses_to_merge_two_speakers():
    with pytest.raises(ConfigError, match="both be called 'SPEAKER_02'"):
        rename_speakers({"SPEAKER_01": "SPEAKER_02"}, turns=TURNS, overlapped_turns=(), segments=())


class LoudnessEncoder:
    """Embeds audio by its peak level: tones of different loudness are different 'voices'."""

    identities = ()

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        level = float(np.sqrt(2 * np.mean(audio**2)))
        return np.array([level, 1.0 - level, 0.1]) if audio.size >= 1600 else None


def tone(amplitude: float, seconds: float, rate: int = 16_000) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * 300 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def state_of(audio: np.ndarray) -> RecordingState:
    duration = audio.size / 16_000
    return RecordingState(
        Path("call.wav"), "0" * 64, duration, audio, KeptTimeline.keep_all(duration),
        segments=SEGMENTS, turns=TURNS, overlapped_turns=TURNS,
    )  # fmt: skip


def test_naming_stage_enrolled_voices_win_and_names_fill_in(tmp_path: Path):
    soundfile = pytest.importorskip("soundfile")
    soundfile.write(tmp_path / "bob.wav", tone(0.3, 1.0), 16_000)
    naming = SpeakerNaming(names=("Host", "Guest", "Bob"), enroll={"Bob": tmp_path / "bob.wav"})
    stage = NamingStage(naming, enrollment=EnrollmentConfig(threshold=0.9, margin=0.05), models_dir=tmp_path)
    stage.encoder = LoudnessEncoder()  # type: ignore[assignment]
    assert stage.cached  # enrollment embeds voices: worth keeping

    # SPEAKER_01 speaks at 0-2 s (loud), SPEAKER_00 at 2.5-4 s (Bob's level), SPEAKER_02 at 4.5-6 s.
    state = state_of(np.concatenate([tone(0.9, 2), tone(0.3, 2), tone(0.6, 2)]))
    mapping = stage.run(state, lambda done: None)
    # Bob's voice wins his name; the order names go to the rest, Bob's own name excepted
    # (SPEAKER_02 would have been "Bob" by order, so it keeps its label).
    assert mapping == {"SPEAKER_00": "Bob", "SPEAKER_01": "Host"}
    named = stage.apply(state, mapping)
    assert [t.speaker for t in named.turns] == ["Host", "Bob", "SPEAKER_02"]
    assert all(w.speaker == s.speaker for s in named.segments for w in s.words)


def test_naming_stage_by_order_is_not_cached_and_keys_on_the_names(tmp_path: Path):
    def stage(*names: str) -> NamingStage:
        return NamingStage(SpeakerNaming(names=names), enrollment=EnrollmentConfig(), models_dir=tmp_path)

    assert not stage("Host", "Guest").cached and stage("Host", "Guest").identities == ()
    assert stage("Host", "Guest").cache_key() != stage("Guest", "Host").cache_key()
    state = state_of(np.zeros(16_000 * 6, np.float32))
    host_guest = stage("Host", "Guest")
    named = host_guest.apply(state, host_guest.run(state, lambda done: None))
    assert [t.speaker for t in named.turns] == ["Host", "Guest", "SPEAKER_02"]
