"""Shared fixtures: real audio locations and small signal writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pyannote_sample_dir() -> Path:
    """Folder of pyannote.audio's bundled sample (sample.wav, .rttm, .stm), without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


@pytest.fixture(scope="session")
def sample_wav() -> Path:
    """pyannote's 30 s two-speaker telephone sample (16 kHz)."""
    return pyannote_sample_dir() / "sample.wav"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-audio folder beside the checkout; tests using it skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture
def write_wav(tmp_path: Path):
    """Write a float signal to a WAV in tmp_path: ``write_wav(name, signal, sr, subtype="PCM_16")``."""

    def write(name: str, signal: np.ndarray, sample_rate: int = 16_000, subtype: str = "PCM_16") -> Path:
        path = tmp_path / name
        sf.write(path, signal, sample_rate, subtype=subtype)
        return path

    return write
