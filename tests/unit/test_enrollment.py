"""Voice enrollment: embeddings of speakers and clips, and naming by cosine similarity."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.types import Turn
from pipeline.io.audio import load_audio
from pipeline.stages.enrollment import CampplusEncoder, enroll, match_speakers, speaker_embeddings
from pipeline.stages.metrics.settings import MetricsConfig


@pytest.fixture(scope="module")
def campplus() -> CampplusEncoder:
    """The diarizer's encoder (CAM++ on Silero's speech), loaded once for the module."""
    return CampplusEncoder()


def test_match_speakers_is_one_to_one_and_thresholded():
    speakers = {
        "S0": np.array([1.0, 0.0, 0.0]),
        "S1": np.array([0.9, 0.1, 0.0]),
        "S2": np.array([0.0, 0.0, 1.0]),
    }
    references = {"Ann": np.array([1.0, 0.05, 0.0]), "Bob": np.array([0.0, 1.0, 0.0])}
    # Both S0 and S1 resemble Ann; only the better one gets her name. Bob matches nobody.
    assert match_speakers(speakers, references, threshold=0.8, margin=0.05) == {"S0": "Ann"}
    assert match_speakers(speakers, {}, threshold=0.8, margin=0.05) == {}


def test_match_speakers_names_everyone_when_the_clips_are_the_room():
    # Two clips from another microphone: every cosine is low, but the pairing is clear
    # (Azure's Katie and Steve score 0.13 and 0.14 with CAM++; crossed, 0.02 and 0.17).
    speakers = {"S0": np.array([1.0, 0.15, 0.02]), "S1": np.array([1.0, 0.17, 0.13])}
    references = {"Katie": np.array([0.0, 0.0, 1.0]), "Steve": np.array([0.0, 1.0, 0.0])}
    # Cosines 0.15 and 0.13 against 0.02 and 0.17 crossed: a lead of about 0.09.
    assert match_speakers(speakers, references, threshold=0.6, margin=0.05) == {"S0": "Steve", "S1": "Katie"}


def test_match_speakers_closed_set_needs_a_lead_and_a_full_room():
    speakers = {"S0": np.array([1.0, 1.0, 0.0]), "S1": np.array([1.0, 0.9, 0.1])}
    references = {"Ann": np.array([0.0, 1.0, 0.0]), "Bob": np.array([1.0, 0.0, 0.0])}
    # Both voices look alike to both clips: no naming leads the other by the margin.
    assert match_speakers(speakers, references, threshold=0.9, margin=0.2) == {}
    # One clip for two speakers is not the whole room: only the threshold names.
    assert match_speakers(speakers, {"Ann": references["Ann"]}, threshold=0.9, margin=0.0) == {}


class FakeEncoder:
    """Embeds audio as its mean level per third: distinct constant 'voices' give distinct vectors."""

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        if audio.size < 1600:
            return None
        level = float(np.mean(audio))
        return np.array([level, 1.0 - abs(level), 0.1])


def test_speaker_embeddings_map_time_and_skip_silence_short_turns():
    rate = 16_000
    audio = np.concatenate([np.full(2 * rate, 0.9), np.full(2 * rate, -0.9)]).astype(np.float32)
    # Original time = kept time + 10 s (10 s of music stripped before).
    turns = (Turn(10.0, 12.0, "A"), Turn(12.0, 14.0, "B"), Turn(13.0, 13.05, "C"))
    found = speaker_embeddings(audio, turns, encoder=FakeEncoder(), to_audio_time=lambda t: t - 10.0)
    assert set(found) == {"A", "B"}  # C's 0.05 s is too little for an embedding
    assert found["A"][0] > 0 > found["B"][0]
    assert np.linalg.norm(found["A"]) == pytest.approx(1.0)


class LoudnessEncoder:
    """Embeds audio by its peak level: a loud and a quiet tone are distinct 'voices'."""

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        level = float(np.sqrt(2 * np.mean(audio**2)))
        return np.array([level, 1.0 - level, 0.1]) if audio.size >= 1600 else None


def test_enroll_end_to_end_with_fake_encoder(tmp_path: Path):
    soundfile = pytest.importorskip("soundfile")
    rate = 16_000
    t = np.arange(2 * rate) / rate
    loud, quiet = 0.9 * np.sin(2 * np.pi * 300 * t), 0.1 * np.sin(2 * np.pi * 300 * t)
    clip = tmp_path / "ann.wav"
    soundfile.write(clip, quiet.astype(np.float32), rate)  # decoded through the real loader
    audio = np.concatenate([loud, quiet]).astype(np.float32)
    turns = (Turn(0.0, 2.0, "SPEAKER_00"), Turn(2.0, 4.0, "SPEAKER_01"))
    found = enroll(audio, turns, {"Ann": clip}, threshold=0.9, margin=0.05, encoder=LoudnessEncoder())
    assert found == {"SPEAKER_01": "Ann"}


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pyannote.audio") is None, reason="needs pyannote's sample")
def test_enroll_real_voices_on_pyannote_sample(tmp_path: Path, campplus: CampplusEncoder):
    """Enroll each speaker of pyannote's sample from one turn; match the rest of their turns."""
    soundfile = pytest.importorskip("soundfile")
    sample = (
        Path(importlib.util.find_spec("pyannote.audio").submodule_search_locations[0])
        / "sample"
        / "sample.wav"
    )
    audio, rate = soundfile.read(sample, dtype="float32")
    assert rate == 16_000
    for name, (start, end) in {"Alice": (10.57, 14.70), "Bob": (21.78, 28.50)}.items():
        soundfile.write(tmp_path / f"{name}.wav", audio[int(start * rate) : int(end * rate)], rate)
    # Reference turns of sample.rttm, minus the ones used as clips.
    turns = (
        Turn(8.32, 10.02, "SPEAKER_00"),
        Turn(18.05, 21.49, "SPEAKER_00"),
        Turn(27.85, 30.0, "SPEAKER_00"),
        Turn(14.49, 17.92, "SPEAKER_01"),
        Turn(9.92, 11.03, "SPEAKER_01"),
    )
    clips = {"Alice": tmp_path / "Alice.wav", "Bob": tmp_path / "Bob.wav"}
    config = MetricsConfig()  # measured with CAM++: these pairs score 0.82 and 0.89, crossed 0.33 and 0.46
    found = enroll(
        audio,
        turns,
        clips,
        threshold=config.enrollment_threshold,
        margin=config.enrollment_margin,
        encoder=campplus,
    )
    assert found == {"SPEAKER_00": "Alice", "SPEAKER_01": "Bob"}
    # Each voice on its own clears the threshold too (not only as the whole room).
    assert enroll(
        audio,
        turns,
        {"Alice": clips["Alice"]},
        threshold=config.enrollment_threshold,
        margin=config.enrollment_margin,
        encoder=campplus,
    ) == {"SPEAKER_00": "Alice"}


@pytest.mark.slow
def test_enroll_names_both_azure_voices_recorded_on_other_microphones(
    shared_data: Path, campplus: CampplusEncoder
):
    """Katie's and Steve's enrollment clips score low against the conversation, but as a pair."""
    folder = shared_data / "conversations"
    if not (folder / "azure_katiesteve.wav").is_file():
        pytest.skip("../shared/data/conversations not present")
    # Derived reference turns (bench/references/azure_katiesteve.rttm), labels as a diarizer gives them.
    turns = (
        Turn(0.0, 1.0, "SPEAKER_01"),
        Turn(1.5, 2.7, "SPEAKER_00"),
        Turn(3.7, 11.2, "SPEAKER_01"),
        Turn(12.0, 23.6, "SPEAKER_00"),
        Turn(24.8, 25.4, "SPEAKER_01"),
        Turn(26.2, 28.5, "SPEAKER_00"),
    )
    clips = {"Katie": folder / "azure_enrollment_katie.wav", "Steve": folder / "azure_enrollment_steve.wav"}
    config = MetricsConfig()
    found = enroll(
        load_audio(folder / "azure_katiesteve.wav"),
        turns,
        clips,
        threshold=config.enrollment_threshold,
        margin=config.enrollment_margin,
        encoder=campplus,
    )
    assert found == {"SPEAKER_00": "Steve", "SPEAKER_01": "Katie"}
