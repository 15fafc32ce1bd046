"""Fuzz the audio and config loaders: any bytes give a result or our one-line error."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.core.errors import AudioError, ConfigError
from pipeline.io.audio import load_audio
from pipeline.run.config import Config, load_config


def _valid_wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.sin(np.arange(8000) / 10).astype(np.float32), 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


WAV = _valid_wav()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, len(WAV)),
    flips=st.lists(st.tuples(st.integers(0, len(WAV) - 1), st.integers(0, 255)), max_size=12),
)
# found by this test: format tag 0, a stream FFmpeg opens but has no decoder for
@example(cut=44, flips=[(20, 0)])
def test_damaged_wav_decodes_or_raises_audio_error(cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(WAV[:cut])
    for index, value in flips:
        if index < len(data):
            data[index] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.wav"
        path.write_bytes(bytes(data))
        try:
            audio = load_audio(path)
        except AudioError as err:
            assert str(path) in str(err) and "\n" not in str(err)
        else:
            assert audio.dtype == np.float32 and np.isfinite(audio).all()


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_raise_audio_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.mp3"
        path.write_bytes(data)
        with contextlib.suppress(AudioError):
            load_audio(path)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["asr", "diarization", "hold_music", "metrics", "output", "x"]),
        yaml_values,
        max_size=3,
    )
)
def test_config_loader_validates_or_raises_config_error(data: dict) -> None:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(yaml.safe_dump(data))
        try:
            assert isinstance(load_config(path), Config)
        except ConfigError as err:
            assert "fuzz.yaml" in str(err)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_config_loader_on_arbitrary_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "text.yaml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(ConfigError):
            load_config(path)
