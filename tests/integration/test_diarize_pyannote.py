"""pyannote backend, offline: a random-weight pipeline folder laid out like the hub's
community-1, loaded through the same code path a user's local folder takes.

Random weights give random speakers, so these tests check structure and invariants,
never quality.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from pyannote_local import build_local_pipeline

from pipeline.core.errors import ModelError
from pipeline.models.pyannote_pipeline import locate_pipeline
from pipeline.stages.diarization.backend import Diarization
from pipeline.stages.diarization.pyannote_backend import PyannoteDiarizer
from pipeline.stages.diarization.settings import DiarizationConfig, PyannoteConfig
from pipeline.stages.diarization.stage import create_diarizer

SECONDS = 20.0  # of the 30 s sample: three 10 s chunks at a 5 s hop keep the test short on 2 cores


@pytest.fixture(scope="module")
def local_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_local_pipeline(tmp_path_factory.mktemp("community-1-random"), segmentation_step=0.5)


@pytest.fixture(scope="module")
def diarizer(local_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> PyannoteDiarizer:
    config = DiarizationConfig(
        device="cpu",
        pyannote=PyannoteConfig(
            pipeline=str(local_folder), segmentation_batch_size=4, embedding_batch_size=4
        ),
    )
    built = create_diarizer(config, models_dir=tmp_path_factory.mktemp("models"))
    assert isinstance(built, PyannoteDiarizer)
    return built


@pytest.fixture(scope="module")
def audio(sample_wav: Path) -> np.ndarray:
    # soundfile, not pyannote.audio.sample: that module decodes through torchcodec (system FFmpeg).
    samples, rate = sf.read(sample_wav, dtype="float32")
    assert rate == 16000
    return samples[: int(SECONDS * rate)]


def _spans(annotation) -> list[tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    return [(s.start, s.end, str(label)) for s, _, label in annotation.itertracks(yield_label=True)]


@pytest.mark.slow
def test_local_folder_is_laid_out_like_the_hub(local_folder: Path) -> None:
    for relative in (
        "config.yaml",
        "segmentation/pytorch_model.bin",
        "embedding/pytorch_model.bin",
        "plda/plda.npz",
        "plda/xvec_transform.npz",
    ):
        assert (local_folder / relative).is_file(), relative


@pytest.mark.slow
def test_diarizes_a_waveform_with_consistent_regular_and_exclusive_turns(
    diarizer: PyannoteDiarizer, audio: np.ndarray
) -> None:
    result = diarizer.diarize(audio, min_speakers=1, max_speakers=4)

    assert isinstance(result, Diarization)
    regular, exclusive = _spans(result.regular), _spans(result.exclusive)
    assert regular and exclusive
    for start, end, _ in regular + exclusive:
        assert 0.0 <= start <= end <= SECONDS + 0.05
    assert 1 <= len(result.regular.labels()) <= 4
    assert set(result.exclusive.labels()) <= set(result.regular.labels())
    ordered = sorted(exclusive)
    for (_, end, _), (start, _, _) in itertools.pairwise(ordered):
        assert start >= end - 1e-6, "exclusive diarization has overlapping turns"
    # Exclusive speech never exceeds the regular (overlap-counting) speech.
    assert result.exclusive.get_timeline().support().duration() <= (
        result.regular.get_timeline().support().duration() + 1e-3
    )


@pytest.mark.slow
def test_num_speakers_is_passed_through(diarizer: PyannoteDiarizer, audio: np.ndarray) -> None:
    result = diarizer.diarize(audio, num_speakers=2)
    assert 1 <= len(result.regular.labels()) <= 2


@pytest.mark.slow
def test_identity_names_the_local_folder_and_its_digest(
    diarizer: PyannoteDiarizer, local_folder: Path
) -> None:
    (identity,) = diarizer.identities
    assert identity.role == "diarization"
    assert identity.source == f"local:{local_folder.resolve()}"
    assert identity.sha256 is not None and len(identity.sha256) == 64


def test_registry_name_not_pulled_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="speechpipe models pull community-1"):
        locate_pipeline(PyannoteConfig(pipeline="community-1"), models_dir=tmp_path)


def test_folder_without_config_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"config\.yaml"):
        locate_pipeline(PyannoteConfig(pipeline=str(tmp_path)), models_dir=tmp_path)


def test_hub_id_identity_carries_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    config = PyannoteConfig(pipeline="pyannote/speaker-diarization-community-1", token="hf_config_secret")
    checkpoint, identity, is_hub = locate_pipeline(config, models_dir=tmp_path)
    assert (checkpoint, is_hub) == ("pyannote/speaker-diarization-community-1", True)
    assert "secret" not in repr(identity) and "secret" not in repr(config)


def test_load_error_never_shows_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pyannote.audio import Pipeline

    seen = {}

    def refuse(checkpoint: str, token: str | None = None) -> None:
        seen["token"] = token
        raise OSError(f"401 Unauthorized for {checkpoint} with token {token}")

    monkeypatch.setattr(Pipeline, "from_pretrained", refuse)
    config = DiarizationConfig(
        device="cpu",
        pyannote=PyannoteConfig(pipeline="pyannote/x", token="hf_config_secret"),
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelError) as err:
        PyannoteDiarizer(config, models_dir=tmp_path)
    assert seen["token"] == "hf_config_secret"  # handed to pyannote ...
    assert "hf_config_secret" not in str(err.value)  # ... and nowhere else
    assert "hf_config_secret" not in caplog.text
    assert "HF_TOKEN" in str(err.value)


def test_out_of_memory_retries_at_half_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[int, int]] = []

    class FlakyPipeline:
        segmentation_batch_size = embedding_batch_size = 0

        def __call__(self, file: dict, **speakers: object) -> SimpleNamespace:
            calls.append((self.segmentation_batch_size, self.embedding_batch_size))
            assert file["waveform"].shape == (1, 16000)
            if len(calls) == 1:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return SimpleNamespace(speaker_diarization="regular", exclusive_speaker_diarization="exclusive")

    diarizer = PyannoteDiarizer.__new__(PyannoteDiarizer)
    diarizer.config = PyannoteConfig(segmentation_batch_size=32, embedding_batch_size=16)
    diarizer.pipeline = FlakyPipeline()  # type: ignore[assignment]
    diarizer._batch_cap = 32
    with caplog.at_level(logging.WARNING):
        result = diarizer.diarize(np.zeros(16000, np.float32))

    assert calls == [(32, 16), (16, 16)]
    assert result == Diarization(regular="regular", exclusive="exclusive")  # type: ignore[arg-type]
    assert "out of memory at batch size 32; retrying at 16" in caplog.text
    assert diarizer._batch_cap == 16  # later recordings keep the smaller batch
