"""The embedded diarizer on real speech with reference RTTMs (speaker count found, not given).

DER: pyannote.metrics, collar 0.5 s (0.25 s each side), overlapped speech scored.
Thresholds are the measured values (``bench/diarization_der.py``) plus a small margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# (wav, rttm, measured DER, speakers). fw_stereo_diarization: both channels speak at once
# for 2.2 s of its 6.8 s of reference speech; this backend does not detect overlap, so
# all of its 32.3 % is missed overlapped speech (confusion 0).
MULTISPEAKER = [
    ("pyaa_diarizationExample.wav", "pyaa_diarizationExample.rttm", 0.011, 4),
    ("pyaa_diarizationExample2.wav", "pyaa_diarizationExample2.rttm", 0.013, 6),
    ("pv_falcon_test.wav", "pv_falcon_test.rttm", 0.0, 3),
    ("ina_lamartine.wav", "ina_lamartine.vad_derived.rttm", 0.0, 2),
    ("fw_stereo_diarization.wav", "fw_stereo_diarization.vad_derived.rttm", 0.323, 2),
]
MARGIN = 0.03


@pytest.fixture(scope="module")
def diarizer():  # type: ignore[no-untyped-def]
    from pipeline.stages.diarize_embedded import EmbeddedDiarizer

    return EmbeddedDiarizer()


def _der(reference_rttm: Path, hypothesis) -> float:  # type: ignore[no-untyped-def]
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference = next(iter(load_rttm(str(reference_rttm)).values()))
    return float(DiarizationErrorRate(collar=0.5, skip_overlap=False)(reference, hypothesis))


def _check_invariants(result, duration: float) -> None:  # type: ignore[no-untyped-def]
    labels = result.exclusive.labels()
    assert labels == [f"SPEAKER_{i:02d}" for i in range(len(labels))]
    first = [result.exclusive.label_timeline(label)[0].start for label in labels]
    assert first == sorted(first), "speakers are numbered by order of first speech"
    for segment, _, _ in result.exclusive.itertracks(yield_label=True):
        assert 0.0 <= segment.start <= segment.end <= duration + 1e-6
    assert not result.exclusive.get_overlap(), "exclusive turns never overlap"
    assert result.regular == result.exclusive


def test_identities_have_checksums(diarizer) -> None:  # type: ignore[no-untyped-def]
    roles = {identity.role: identity for identity in diarizer.identities}
    assert set(roles) == {"vad", "speaker-embedding"}
    assert roles["vad"].source.startswith("pypi:faster-whisper==")
    assert roles["vad"].source.endswith("faster_whisper/assets/silero_vad_v6.onnx")
    assert roles["speaker-embedding"].source.startswith("pypi:resemblyzer==")
    for identity in roles.values():
        assert identity.sha256 is not None and len(identity.sha256) == 64


def test_pyannote_sample(diarizer) -> None:  # type: ignore[no-untyped-def]
    import pyannote.core
    import soundfile as sf

    # read with soundfile: importing pyannote.audio.sample decodes through torchcodec
    sample_dir = Path(pyannote.core.__file__).resolve().parents[1] / "audio" / "sample"
    audio, rate = sf.read(str(sample_dir / "sample.wav"), dtype="float32")
    assert rate == 16_000
    result = diarizer.diarize(audio)
    _check_invariants(result, audio.size / rate)
    assert len(result.exclusive.labels()) == 2
    assert _der(sample_dir / "sample.rttm", result.exclusive) <= 0.026 + MARGIN  # measured 2.6 %


@pytest.mark.parametrize(
    ("wav", "rttm", "measured", "speakers"), MULTISPEAKER, ids=[m[0] for m in MULTISPEAKER]
)
def test_shared_multispeaker(diarizer, wav: str, rttm: str, measured: float, speakers: int) -> None:  # type: ignore[no-untyped-def]
    from pipeline.audio import load_audio

    path = SHARED_DATA / "multispeaker" / wav
    if not path.is_file():
        pytest.skip(f"{path} not present (shared data lives beside the repository)")
    audio = load_audio(path)  # downmixes fw_stereo_diarization's two channels
    result = diarizer.diarize(audio)
    _check_invariants(result, audio.size / 16_000)
    assert len(result.exclusive.labels()) == speakers
    assert _der(path.with_name(rttm), result.exclusive) <= measured + MARGIN


def test_silence_gives_no_speakers(diarizer) -> None:  # type: ignore[no-untyped-def]
    result = diarizer.diarize(np.zeros(16_000 * 3, dtype=np.float32))
    assert result.exclusive.labels() == []


def test_num_speakers_is_honoured(diarizer) -> None:  # type: ignore[no-untyped-def]
    from pipeline.audio import load_audio

    path = SHARED_DATA / "multispeaker" / "pyaa_diarizationExample2.wav"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    audio = load_audio(path)
    assert len(diarizer.diarize(audio, num_speakers=3).exclusive.labels()) == 3
    assert len(diarizer.diarize(audio, max_speakers=2).exclusive.labels()) <= 2
