"""Build the bad-input corpus: awkward but real-world files, each with a known outcome.

``build_corpus(folder)`` writes the files and returns ``{name: Expected}``. The
e2e test runs the CLI over them; docs/reliability.md lists the same cases.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf

RATE = 16_000


@dataclass(frozen=True)
class Expected:
    """What the CLI must do with a corpus file.

    Attributes
    ----------
    exit_code : int
        ``speechpipe run`` exit status (0: a sensible result is written).
    message : str
        Text the one error line must contain (errors only).
    speakers : tuple of int
        Allowed speaker counts (results only).
    """

    exit_code: int
    message: str = ""
    speakers: tuple[int, ...] = (0, 1, 2, 3)


def _speech(seconds: float, sample: Path) -> np.ndarray:
    audio, rate = sf.read(sample, dtype="float32")
    assert rate == RATE
    return np.resize(audio, int(seconds * RATE))


def _encode(path: Path, signal: np.ndarray, codec: str) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=RATE, layout="mono")
        stream.bit_rate = 32_000
        names = [f.name for f in stream.codec_context.codec.audio_formats]
        fmt = "fltp" if "fltp" in names else names[0]
        for start in range(0, signal.size, 1152):
            frame = av.AudioFrame.from_ndarray(
                signal[None, start : start + 1152].astype(np.float32), format=fmt, layout="mono"
            )
            frame.sample_rate, frame.pts = RATE, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _wav_bytes(signal: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def build_corpus(folder: Path, sample: Path, *, silence_hours: float = 3.0) -> dict[str, Expected]:
    """Write every corpus file into ``folder``; ``sample`` is pyannote's two-speaker sample."""
    folder.mkdir(parents=True, exist_ok=True)
    speech = _speech(30.0, sample)
    rng = np.random.default_rng(0)
    cases: dict[str, Expected] = {}

    (folder / "zero_bytes.wav").write_bytes(b"")
    cases["zero_bytes.wav"] = Expected(2, "empty file")
    (folder / "header_only.wav").write_bytes(_wav_bytes(np.zeros(0, dtype=np.float32)))
    cases["header_only.wav"] = Expected(2, "no audio samples")
    (folder / "text_renamed.wav").write_text("Meeting notes, not audio.\n" * 40)
    cases["text_renamed.wav"] = Expected(2, "not a readable audio file")

    _encode(folder / "whole.mp3", speech, "libmp3lame")
    data = (folder / "whole.mp3").read_bytes()
    (folder / "whole.mp3").unlink()
    (folder / "truncated.mp3").write_bytes(data[: len(data) // 3])
    cases["truncated.mp3"] = Expected(2, "truncated")  # its Xing header declares the full length
    middle = len(data) // 2
    noise = rng.integers(0, 256, 10_240, dtype=np.uint8).tobytes()
    (folder / "damaged_middle.mp3").write_bytes(data[:middle] + noise + data[middle + len(noise) :])
    cases["damaged_middle.mp3"] = Expected(0)  # 10 KB of random bytes: about 2.5 s skipped, with a warning

    _encode(folder / "whole.m4a", speech, "aac")
    data = (folder / "whole.m4a").read_bytes()
    (folder / "whole.m4a").unlink()
    (folder / "truncated.m4a").write_bytes(data[: len(data) // 2])
    cases["truncated.m4a"] = Expected(2, "truncated.m4a")

    _encode(folder / "mp3_named.wav", speech, "libmp3lame")
    cases["mp3_named.wav"] = Expected(0)  # content decides, not the extension

    bad = speech.copy()
    bad[RATE : 2 * RATE] = np.nan
    bad[3 * RATE] = np.inf
    (folder / "nan_inf.wav").write_bytes(_wav_bytes(bad, subtype="FLOAT"))
    cases["nan_inf.wav"] = Expected(0)
    (folder / "dc_offset.wav").write_bytes(_wav_bytes(0.5 * speech + 0.4))
    cases["dc_offset.wav"] = Expected(0)
    (folder / "clipped.wav").write_bytes(_wav_bytes(np.clip(8.0 * speech, -1.0, 1.0)))
    cases["clipped.wav"] = Expected(0)
    telephone = sf.read(sample, dtype="float32")[0][::2]  # 8 kHz, band-limited enough for speech
    (folder / "telephone_8k.wav").write_bytes(_wav_bytes(telephone, rate=8_000))
    cases["telephone_8k.wav"] = Expected(0)
    up = np.interp(np.arange(speech.size * 3) / 3, np.arange(speech.size), speech).astype(np.float32)
    (folder / "six_channel_48k.wav").write_bytes(_wav_bytes(np.tile(up[:, None], (1, 6)) * 0.5, rate=48_000))
    cases["six_channel_48k.wav"] = Expected(0)
    sf.write(
        folder / "silence_long.flac",
        np.zeros(int(silence_hours * 3600 * RATE), dtype=np.int16),
        RATE,
        subtype="PCM_16",
    )
    cases["silence_long.flac"] = Expected(0, speakers=(0,))
    t = np.arange(40 * RATE) / RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * rng.standard_normal(t.size) * 0.3
    (folder / "pure_music.wav").write_bytes(_wav_bytes((0.3 * chord + beat).astype(np.float32)))
    cases["pure_music.wav"] = Expected(0, speakers=(0, 1))
    one = speech[int(21.9 * RATE) : int(27.8 * RATE)]  # Sheila alone in the reference RTTM
    (folder / "single_speaker.wav").write_bytes(_wav_bytes(one))
    cases["single_speaker.wav"] = Expected(0, speakers=(1,))
    (folder / "short_0.3s.wav").write_bytes(_wav_bytes(speech[int(7 * RATE) : int(7.3 * RATE)]))
    cases["short_0.3s.wav"] = Expected(0, speakers=(0, 1))
    (folder / "a_directory.wav").mkdir()
    cases["a_directory.wav"] = Expected(2, "is a directory")
    os.mkfifo(folder / "a_fifo.wav")
    cases["a_fifo.wav"] = Expected(2, "not a regular file (a FIFO)")
    many = np.zeros((speech.size, 17), dtype=np.float32)
    many[:, 5] = speech  # one live microphone among 17 channels, no channel mask
    (folder / "channels_17.wav").write_bytes(_wav_bytes(many))
    cases["channels_17.wav"] = Expected(0)
    (folder / "float_1e30.wav").write_bytes(_wav_bytes(speech * np.float32(1e30), subtype="FLOAT"))
    cases["float_1e30.wav"] = Expected(0)
    return cases


def write_streams(path: Path, signals: list[np.ndarray]) -> Path:
    """A Matroska file with one FLAC audio stream per 16 kHz mono signal, in order."""
    with av.open(str(path), "w") as container:
        streams = [container.add_stream("flac", rate=16_000, layout="mono") for _ in signals]
        for stream, signal in zip(streams, signals, strict=True):
            for start in range(0, signal.size, 4096):
                data = (signal[None, start : start + 4096] * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
                frame.sample_rate, frame.pts = 16_000, start
                for packet in stream.encode(frame):
                    container.mux(packet)
        for stream in streams:
            for packet in stream.encode(None):
                container.mux(packet)
    return path
