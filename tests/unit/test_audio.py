"""Decoding with PyAV: formats, rates, channels, and bad input."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.core.errors import AudioError
from pipeline.io.audio import SAMPLE_RATE, iter_audio_blocks, load_audio, probe
from pipeline.io.hashing import file_sha256


def encode(path: Path, signal: np.ndarray, sample_rate: int, codec: str, layout: str = "mono") -> Path:
    """Encode ``signal`` (shape (channels, samples), float) with PyAV's bundled FFmpeg."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            codec, rate=sample_rate, layout=layout, options={"strict": "experimental"}
        )
        names = [f.name for f in stream.codec_context.codec.audio_formats]
        fmt = next(f for f in ("fltp", "flt", "s16p", "s16") if f in names)
        frame_size = 1024
        for start in range(0, signal.shape[1], frame_size):
            chunk = np.ascontiguousarray(signal[:, start : start + frame_size], dtype=np.float32)
            if fmt == "s16":
                data = (chunk.T.reshape(1, -1) * 32767).astype(np.int16)
            elif fmt == "s16p":
                data = (chunk * 32767).astype(np.int16)
            elif fmt.endswith("p"):
                data = chunk
            else:
                data = chunk.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def tone(seconds: float, sample_rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return np.tile(0.3 * np.sin(2 * np.pi * 440 * t), (channels, 1))


@pytest.mark.parametrize(
    ("suffix", "codec", "rate", "layout"),
    [
        ("wav", "pcm_s16le", 44_100, "stereo"),
        ("flac", "flac", 48_000, "mono"),
        ("mp3", "libmp3lame", 22_050, "stereo"),
        ("m4a", "aac", 44_100, "stereo"),
        ("ogg", "vorbis", 44_100, "stereo"),
        ("opus", "libopus", 48_000, "stereo"),
        ("webm", "libopus", 48_000, "mono"),
    ],
)
def test_formats_decode_to_16k_mono(tmp_path: Path, suffix: str, codec: str, rate: int, layout: str) -> None:
    channels = 2 if layout == "stereo" else 1
    path = encode(tmp_path / f"tone.{suffix}", tone(3.0, rate, channels), rate, codec, layout)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size / SAMPLE_RATE - 3.0) < 0.1
    assert 0.1 < np.abs(audio).max() <= 1.0
    assert abs(probe(path).duration - 3.0) < 0.1


def test_six_channel_48k_wav(write_wav) -> None:
    path = write_wav("six.wav", tone(2.0, 48_000, 6).T, 48_000)
    assert probe(path).channels == 6
    assert load_audio(path).size == 2 * SAMPLE_RATE


def test_blocks_concatenate_to_the_whole(write_wav) -> None:
    path = write_wav("long.wav", np.random.default_rng(0).uniform(-0.5, 0.5, 16_000 * 7), 16_000)
    blocks = list(iter_audio_blocks(path, block_seconds=2.0))
    assert len(blocks) >= 3
    assert np.allclose(np.concatenate(blocks), load_audio(path))


def test_nan_and_inf_samples_become_finite(write_wav) -> None:
    signal = np.zeros(16_000, dtype=np.float32)
    signal[100:200] = np.nan
    signal[300] = np.inf
    path = write_wav("nan.wav", signal, 16_000, subtype="FLOAT")
    assert np.isfinite(load_audio(path)).all()


def test_missing_file() -> None:
    with pytest.raises(AudioError, match="no such file"):
        load_audio(Path("/nonexistent/talk.wav"))


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: empty file"):
        load_audio(tmp_path / "empty.wav")


def test_text_renamed_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 50)
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable audio file"):
        load_audio(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="is a directory"):
        load_audio(tmp_path)


def test_truncated_wav(write_wav) -> None:
    path = write_wav("cut.wav", tone(10.0, 16_000)[0], 16_000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated"):
        load_audio(path)


def test_truncated_m4a(tmp_path: Path) -> None:
    path = encode(tmp_path / "cut.m4a", tone(5.0, 44_100), 44_100, "aac")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.m4a"):
        load_audio(path)


def test_dc_offset_is_removed_and_speech_band_kept(write_wav) -> None:
    t = np.arange(16_000 * 3) / 16_000
    path = write_wav("dc.wav", 0.4 + 0.3 * np.sin(2 * np.pi * 200 * t), 16_000)
    audio = load_audio(path)
    assert abs(float(audio[16_000:].mean())) < 0.01
    assert 0.28 < float(np.abs(audio[16_000:]).max()) < 0.32


def test_unreadable_file_is_a_clear_error(write_wav, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any file, so the permission failure is injected where the loader opens it."""
    import builtins

    path = write_wav("locked.wav", tone(1.0, 16_000)[0], 16_000)
    real_open = builtins.open

    def deny(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(AudioError, match=r"locked\.wav: permission denied; make the file readable"):
        load_audio(path)


@pytest.fixture
def fifo(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real FIFO named like audio; a reader still blocked on it at the end is released."""
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    yield path
    with contextlib.suppress(OSError):  # ENXIO: nobody is reading it, as it should be
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("read", [load_audio, probe, file_sha256], ids=["load_audio", "probe", "file_sha256"])
def test_fifo_is_refused_at_once(fifo: Path, read) -> None:  # type: ignore[no-untyped-def]
    outcome: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(outcome, read, fifo), daemon=True)
    thread.start()
    thread.join(timeout=3.0)
    assert not thread.is_alive(), f"{read.__name__} blocked on a FIFO"
    assert len(outcome) == 1 and isinstance(outcome[0], AudioError), outcome
    assert str(outcome[0]) == f"{fifo}: not a regular file (a FIFO); give an audio file"


def _capture(outcome: list[BaseException], read, path: Path) -> None:  # type: ignore[no-untyped-def]
    try:
        read(path)
    except BaseException as err:  # handed to the test thread
        outcome.append(err)


def test_character_device_is_refused() -> None:
    with pytest.raises(AudioError, match=r"^/dev/zero: not a regular file \(a character device\)"):
        load_audio(Path("/dev/zero"))
