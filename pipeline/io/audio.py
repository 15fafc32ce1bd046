"""Decode any audio file to 16 kHz mono float32 with PyAV (bundled FFmpeg).

PyAV ships its own FFmpeg, so wav/flac/mp3/m4a/ogg/opus/webm decode on a machine
without system FFmpeg libraries. Decoding streams block by block; ``load_audio``
fills one preallocated array so a long recording is never held twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.core.errors import AudioError
from pipeline.io.files import require_regular_file

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Sample rate every stage works at, Hz."""

_TRUNCATED_RATIO = 0.9  # decoded / declared duration under this means the file is cut short


@dataclass(frozen=True)
class AudioInfo:
    """What the container header says about a file.

    Attributes
    ----------
    duration : float
        Declared length in seconds.
    sample_rate : int
        Native sample rate, Hz.
    channels : int
        Native channel count.
    codec : str
        FFmpeg codec name.
    """

    duration: float
    sample_rate: int
    channels: int
    codec: str


def probe(path: str | Path) -> AudioInfo:
    """Read the header of an audio file without decoding it.

    Raises
    ------
    AudioError
        Missing, empty, unreadable, not audio, or no audio stream.
    """
    import av

    path = _check_file(path)
    try:
        with av.open(str(path)) as container:
            stream = _audio_stream(container, path)
            duration = _declared_duration(container, stream)
            _check_not_truncated(path, duration, _wav_declared_duration(path))
            return AudioInfo(
                duration=duration,
                sample_rate=int(stream.codec_context.sample_rate or 0),
                channels=int(stream.codec_context.channels or 0),
                codec=stream.codec_context.name,
            )
    except av.FFmpegError as err:
        raise AudioError(
            f"{path}: not a readable audio file ({_reason(err)}); check the file or convert it to WAV"
        ) from None


def iter_audio_blocks(path: str | Path, *, block_seconds: float = 30.0) -> Iterator[np.ndarray]:
    """Yield the decoded signal as consecutive float32 blocks at 16 kHz mono.

    Parameters
    ----------
    path
        Any file FFmpeg can read.
    block_seconds
        Approximate length of each block, seconds.

    Yields
    ------
    np.ndarray
        Shape ``(n,)``, float32 in [-1, 1]; NaN and inf samples become 0.
    """
    import av

    path = _check_file(path)
    block = int(block_seconds * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_len = 0
    dc_blocker = _DcBlocker()
    try:
        with av.open(str(path)) as container:
            stream = _audio_stream(container, path)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    pending_len += pending[-1].size
                if pending_len >= block:
                    yield dc_blocker(_clean(np.concatenate(pending)))
                    pending, pending_len = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as err:
        raise AudioError(
            f"{path}: decoding failed ({_reason(err)}); the file may be truncated or corrupt"
        ) from None
    if pending:
        yield dc_blocker(_clean(np.concatenate(pending)))


def load_audio(path: str | Path) -> np.ndarray:
    """Decode a whole file to one 16 kHz mono float32 array, shape ``(samples,)``.

    Raises
    ------
    AudioError
        Missing, empty, not audio, no audio samples, or truncated (decodes to less
        than 90 % of the length its header declares).
    """
    info = probe(path)
    capacity = int(info.duration * SAMPLE_RATE) + SAMPLE_RATE
    audio = np.empty(capacity, dtype=np.float32)
    filled = 0
    for block in iter_audio_blocks(path):
        if filled + block.size > audio.size:
            audio = np.resize(audio, max(2 * audio.size, filled + block.size))
        audio[filled : filled + block.size] = block
        filled += block.size
    if filled == 0:
        raise AudioError(f"{path}: contains no audio samples; check the file")
    _check_not_truncated(path, filled / SAMPLE_RATE, info.duration)
    return audio[:filled].copy() if filled < audio.size // 2 else audio[:filled]


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    size = require_regular_file(path).st_size  # before any open: a FIFO would block it
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise AudioError(f"{path}: permission denied; make the file readable") from None
    if size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); check the recording was saved")
    return path


def _audio_stream(container, path: Path):  # type: ignore[no-untyped-def]
    if not container.streams.audio:
        raise AudioError(f"{path}: has no audio stream; give an audio or video file with sound")
    stream = container.streams.audio[0]
    if stream.codec_context is None:  # e.g. a WAV header naming an unknown sample format
        raise AudioError(f"{path}: its audio is in a format FFmpeg cannot decode; convert it to WAV or FLAC")
    return stream


def _declared_duration(container, stream) -> float:  # type: ignore[no-untyped-def]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE microseconds
    return 0.0


def _check_not_truncated(path: str | Path, available: float, declared: float) -> None:
    """Raise when ``available`` seconds fall well short of the ``declared`` length."""
    if declared > 1.0 and available < _TRUNCATED_RATIO * declared:
        raise AudioError(
            f"{path}: truncated: holds {available:.1f} s of the {declared:.1f} s its header declares; "
            "re-export or re-download the file"
        )


def _wav_declared_duration(path: Path) -> float:
    """Seconds a RIFF/WAVE header's ``data`` chunk declares (0 when not a plain WAV).

    FFmpeg sizes a WAV by the bytes present, so a cut-off file looks whole to it;
    the header's chunk size still tells what the writer meant to store.
    """
    with open(path, "rb") as handle:
        header = handle.read(4096)
    if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return 0.0
    fmt = header.find(b"fmt ")
    data = header.find(b"data")
    if fmt < 0 or data < 0:
        return 0.0
    byte_rate = int.from_bytes(header[fmt + 16 : fmt + 20], "little")
    size = int.from_bytes(header[data + 4 : data + 8], "little")
    # Streaming writers leave 0 or 0xFFFFFFFF until they finish: no claim made.
    if byte_rate == 0 or size in (0, 0xFFFFFFFF):
        return 0.0
    return size / byte_rate


class _DcBlocker:
    """First-order high-pass at about 10 Hz, stateful across blocks.

    A DC offset (a cheap recorder's, or a bad mixer's) hides speech from the voice
    activity detectors; below 10 Hz there is nothing worth keeping.
    """

    def __init__(self, cutoff: float = 10.0) -> None:
        self.pole = float(np.exp(-2 * np.pi * cutoff / SAMPLE_RATE))
        self.state: np.ndarray | None = None

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter, lfiltic

        b, a = [1.0, -1.0], [1.0, -self.pole]
        if self.state is None:  # start as if the signal had always been at its first value
            self.state = lfiltic(b, a, y=[0.0], x=[float(block[0])] if block.size else [0.0])
        out, self.state = lfilter(b, a, block, zi=self.state)
        return out.astype(np.float32)


def _clean(block: np.ndarray) -> np.ndarray:
    block = block.astype(np.float32, copy=False)
    if not np.isfinite(block).all():
        np.nan_to_num(block, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return block


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split(": '", 1)[0]
