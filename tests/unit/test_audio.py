"""Decoding with PyAV: formats, rates, channels, and bad input."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from corpus import write_streams

from pipeline.core.errors import AudioError
from pipeline.io.audio import SAMPLE_RATE, choose_audio_stream, iter_audio_blocks, load_audio, probe
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


@pytest.mark.parametrize("channels", [9, 11, 17, 32])
def test_many_channels_without_a_layout_are_averaged(write_wav, channels: int) -> None:
    """FFmpeg cannot downmix a WAV of more than 8 channels with no channel mask (it was 'corrupt')."""
    signal = np.zeros((2 * 48_000, channels))
    signal[:, channels // 2] = tone(2.0, 48_000)[0]  # one live channel among silent ones
    path = write_wav(f"ch{channels}.wav", signal, 48_000)
    audio = load_audio(path)
    assert audio.size == 2 * SAMPLE_RATE
    assert np.abs(audio[SAMPLE_RATE:]).max() == pytest.approx(0.3 / channels, rel=0.05)
    spectrum = np.abs(np.fft.rfft(audio[SAMPLE_RATE:]))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz: bin k is k Hz


def test_absurd_float_levels_are_brought_to_full_scale(write_wav, caplog: pytest.LogCaptureFixture) -> None:
    signal = 1e30 * tone(2.0, 16_000)[0] / 0.3
    path = write_wav("huge.wav", signal.astype(np.float32), 16_000, subtype="FLOAT")
    audio = load_audio(path)
    assert np.isfinite(audio).all() and 0.9 < np.abs(audio).max() <= 1.0
    assert "times full scale; scaled by" in caplog.text


def test_a_few_wild_samples_do_not_silence_the_rest(write_wav) -> None:
    signal = tone(2.0, 16_000)[0]
    signal[[100, 20_000]] = 1e30
    audio = load_audio(write_wav("spikes.wav", signal.astype(np.float32), 16_000, subtype="FLOAT"))
    assert 0.25 < np.abs(audio[SAMPLE_RATE:]).max() <= 1.0


def speech_mp3(path: Path, sample_wav: Path, seconds: float) -> Path:
    """``seconds`` of pyannote's speech sample as a 32 kbit/s mp3 (PyAV's LAME)."""
    import soundfile as sf

    speech = sf.read(sample_wav, dtype="float32")[0][: int(seconds * SAMPLE_RATE)]
    return encode(path, speech[None, :], SAMPLE_RATE, "libmp3lame")


def test_damage_in_the_middle_is_skipped_with_a_warning(
    tmp_path: Path, sample_wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = speech_mp3(tmp_path / "damaged.mp3", sample_wav, 30.0)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 10_240] = np.random.default_rng(1).integers(0, 256, 10_240, np.uint8).tobytes()
    path.write_bytes(bytes(data))
    audio = load_audio(path)
    assert 25.0 < audio.size / SAMPLE_RATE <= 30.0
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "damaged.mp3: damaged: " in warning and "could not be decoded" in warning
    skipped = float(warning.split("damaged: ")[1].split(" s ")[0])
    assert 0.5 < skipped < 5.0


def test_mostly_damaged_audio_is_an_error(tmp_path: Path, sample_wav: Path) -> None:
    path = speech_mp3(tmp_path / "ruined.mp3", sample_wav, 30.0)
    data = bytearray(path.read_bytes())
    start, stop = len(data) // 10, len(data) * 8 // 10
    data[start:stop] = np.random.default_rng(2).integers(0, 256, stop - start, np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"ruined\.mp3: damaged: only .* decode"):
        load_audio(path)


def test_truncated_mp3_is_still_truncated(tmp_path: Path, sample_wav: Path) -> None:
    path = speech_mp3(tmp_path / "cut.mp3", sample_wav, 30.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError, match=r"cut\.mp3: truncated"):
        load_audio(path)


def test_the_stream_with_speech_is_chosen(
    tmp_path: Path, sample_wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import soundfile as sf

    speech = sf.read(sample_wav, dtype="float32")[0]
    path = write_streams(tmp_path / "two.mka", [np.zeros_like(speech), speech])
    caplog.set_level("INFO")
    info = choose_audio_stream(path)
    assert (info.stream, info.streams) == (1, 2)
    assert "analysing audio stream 1 of 2" in caplog.text and "WARNING" not in caplog.text
    assert np.abs(load_audio(path)).max() > 0.1
    assert np.abs(load_audio(path, stream=0)).max() == 0.0
    assert probe(path).stream == 0  # the header alone: no choice made


def test_several_streams_with_sound_warn(
    tmp_path: Path, sample_wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import soundfile as sf

    speech = sf.read(sample_wav, dtype="float32")[0]
    t = np.arange(speech.size) / SAMPLE_RATE
    hum = (0.01 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)  # quieter, but in the speech band
    path = write_streams(tmp_path / "two.mka", [hum, speech, np.zeros_like(speech)])
    assert choose_audio_stream(path).stream == 1
    assert "3 audio streams" not in caplog.text and "2 audio streams have sound" in caplog.text


def test_a_missing_stream_names_the_flag(tmp_path: Path) -> None:
    path = write_streams(tmp_path / "two.mka", [np.zeros(16_000, np.float32)] * 2)
    with pytest.raises(AudioError, match=r"two\.mka: has no audio stream 2 \(--stream 2\); it has 2 audio"):
        load_audio(path, stream=2)
