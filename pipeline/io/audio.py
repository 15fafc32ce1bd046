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
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core.errors import AudioError
from pipeline.io.files import require_regular_file
from pipeline.io.frames import MonoResampler
from pipeline.io.streams import stream_activity

if TYPE_CHECKING:
    import av

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Sample rate every stage works at, Hz."""

_TRUNCATED_RATIO = 0.9  # decoded / declared duration under this means the file is cut short
_DAMAGED_RATIO = 0.5  # decodable / whole duration under this: too damaged to analyse
_GAP_TOLERANCE = 0.01  # seconds between one frame's end and the next frame's start taken as contiguous
_OVER_FULL_SCALE = 4.0  # a peak above this (12 dB over full scale) is a float file's absurd level
_LEVEL_PERCENTILE = 99.9  # the level such a signal is scaled to 1.0 by: a few wild samples do not set it
_LEVEL_SAMPLES = 1_000_000  # at most this many samples, evenly strided, measure that level


@dataclass(frozen=True)
class AudioInfo:
    """What the container header says about the audio stream a file is analysed by.

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
    stream : int
        Index of that stream among the file's audio streams, 0-based.
    streams : int
        How many audio streams the file has.
    """

    duration: float
    sample_rate: int
    channels: int
    codec: str
    stream: int = 0
    streams: int = 1


def probe(path: str | Path, *, stream: int = 0) -> AudioInfo:
    """Read the header of an audio file without decoding it.

    Parameters
    ----------
    path
        Any file FFmpeg can read.
    stream
        Index among the file's audio streams, 0-based (``--stream``).

    Raises
    ------
    AudioError
        Missing, empty, unreadable, not audio, no audio stream, or no stream ``stream``.
    """
    return _open_stream(path, stream)


def choose_audio_stream(path: str | Path, *, stream: int | None = None) -> AudioInfo:
    """``probe`` of the audio stream to analyse: ``stream`` when given, else the one with speech.

    Of several audio streams, the one with the most speech-band signal wins
    (``pipeline.io.streams``: a few seconds of each are decoded); the choice is
    logged, with a WARNING when more than one stream has sound.

    Raises
    ------
    AudioError
        As ``probe``.
    """
    return _open_stream(path, stream)


def _open_stream(path: str | Path, stream: int | None) -> AudioInfo:
    import av

    path = _check_file(path)
    try:
        with av.open(str(path)) as container:
            index = _stream_index(container, path, stream)
            chosen = _audio_stream(container, path, index)
            duration = _declared_duration(container, chosen)
            _check_not_truncated(path, duration, _wav_declared_duration(path))
            return AudioInfo(
                duration=duration,
                sample_rate=int(chosen.codec_context.sample_rate or 0),
                channels=int(chosen.codec_context.channels or 0),
                codec=chosen.codec_context.name,
                stream=index,
                streams=len(container.streams.audio),
            )
    except av.FFmpegError as err:
        raise AudioError(
            f"{path}: not a readable audio file ({_reason(err)}); check the file or convert it to WAV"
        ) from None


def iter_audio_blocks(
    path: str | Path, *, stream: int = 0, block_seconds: float = 30.0
) -> Iterator[np.ndarray]:
    """Yield the decoded signal as consecutive float32 blocks at 16 kHz mono.

    Damaged packets are skipped (a WARNING says how many seconds); where the frames'
    timestamps show a hole, it is filled with silence, so what follows stays at its
    time on the original recording.

    Parameters
    ----------
    path
        Any file FFmpeg can read.
    stream
        Index among the file's audio streams, 0-based (``choose_audio_stream`` chooses one).
    block_seconds
        Approximate length of each block, seconds.

    Yields
    ------
    np.ndarray
        Shape ``(n,)``, float32 at full scale 1.0; NaN and inf samples become 0 and
        ±1 (``load_audio`` also brings absurd levels back to full scale).

    Raises
    ------
    AudioError
        Not audio, or too damaged to analyse (under half of it decodes).
    """
    declared = probe(path, stream=stream).duration
    gaps = _Gaps(limit=declared)
    yield from _decode_blocks(Path(path), stream, block_seconds, gaps)
    if gaps.recovered:
        _report_damage(path, gaps, declared)


def load_audio(path: str | Path, *, stream: int | None = None) -> np.ndarray:
    """Decode a whole file to one 16 kHz mono float32 array, shape ``(samples,)``.

    Parameters
    ----------
    path
        Any file FFmpeg can read.
    stream
        Index among the file's audio streams, 0-based; None: ``choose_audio_stream`` chooses.

    Raises
    ------
    AudioError
        Missing, empty, not audio, no audio samples, no stream ``stream``, truncated
        (decodes to less than 90 % of the length its header declares), or too damaged
        (less than half of it decodes).
    """
    info = choose_audio_stream(path, stream=stream)
    capacity = int(info.duration * SAMPLE_RATE) + SAMPLE_RATE
    audio = np.empty(capacity, dtype=np.float32)
    filled, peak = 0, 0.0
    gaps = _Gaps(limit=info.duration)
    for block in _decode_blocks(Path(path), info.stream, 30.0, gaps):
        if filled + block.size > audio.size:
            audio = np.resize(audio, max(2 * audio.size, filled + block.size))
        audio[filled : filled + block.size] = block
        filled += block.size
        peak = max(peak, float(np.abs(block).max(initial=0.0)))
    if filled == 0:
        raise AudioError(f"{path}: contains no audio samples; check the file")
    if gaps.recovered:  # damage in the middle, not a cut: judged by how much decodes
        _report_damage(path, gaps, info.duration)
    else:
        _check_not_truncated(path, filled / SAMPLE_RATE, info.duration)
    audio.resize(filled, refcheck=False)  # owns its buffer: stripping music can shrink it in place
    if peak > _OVER_FULL_SCALE:
        _to_full_scale(path, audio, peak)
    return audio


def _decode_blocks(path: Path, stream: int, block_seconds: float, gaps: _Gaps) -> Iterator[np.ndarray]:
    """The blocks of ``iter_audio_blocks``; ``gaps`` counts what was skipped."""
    import av

    path = _check_file(path)
    block = int(block_seconds * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_len = 0
    dc_blocker = _DcBlocker()
    try:
        with av.open(str(path)) as container:
            chosen = _audio_stream(container, path, stream)
            resample = MonoResampler(SAMPLE_RATE)
            for packet in container.demux(chosen):
                try:
                    frames = packet.decode()
                except av.InvalidDataError:  # damaged: skip it (a hole its timestamps show is filled below)
                    gaps.bad_packets += 1
                    continue
                for frame in frames:
                    gaps.recovered = gaps.recovered or gaps.bad_packets > 0
                    hole = gaps.before(frame)
                    pieces = [np.zeros(round(hole * SAMPLE_RATE), np.float32)] if hole else []
                    pieces.extend(resample(frame))
                    pending.extend(pieces)
                    pending_len += sum(piece.size for piece in pieces)
                if pending_len >= block:  # cleaned again after: huge float samples overflow the filter
                    yield _clean(dc_blocker(_clean(np.concatenate(pending))))
                    pending, pending_len = [], 0
            pending.extend(resample(None))
    except av.FFmpegError as err:
        raise AudioError(
            f"{path}: decoding failed ({_reason(err)}); the file may be truncated or corrupt"
        ) from None
    if pending:
        yield _clean(dc_blocker(_clean(np.concatenate(pending))))


@dataclass
class _Gaps:
    """Holes in the decoded audio: damaged packets skipped, time missing between frames.

    Attributes
    ----------
    limit : float
        Declared length, seconds: holes are never filled past it (0: unknown, never filled).
    bad_packets : int
        Packets the decoder refused.
    recovered : bool
        A frame decoded after a refused packet: damage in the middle, not a cut-off end.
    decoded, missing : float
        Seconds decoded; seconds of holes (between frames' timestamps) filled with silence.
    """

    limit: float
    bad_packets: int = 0
    recovered: bool = False
    decoded: float = 0.0
    missing: float = 0.0
    end: float | None = None  # where the previous frame ended, seconds

    def before(self, frame: av.AudioFrame) -> float:
        """Seconds of silence that put ``frame`` at its timestamp (0 when it follows on)."""
        length = frame.samples / frame.sample_rate
        start = frame.time
        hole = 0.0
        if start is not None and self.end is not None and start - self.end > _GAP_TOLERANCE:
            hole = max(0.0, min(start - self.end, self.limit - self.decoded - self.missing))
        self.end = (start if start is not None else self.end or 0.0) + length
        self.decoded += length
        self.missing += hole
        return hole


def _report_damage(path: str | Path, gaps: _Gaps, declared: float) -> None:
    """Warn how much of a file damaged in the middle was skipped; raise when too little decodes.

    The skipped time is what the timestamps show missing, or what the declared length
    lacks (a demuxer that resyncs past damaged bytes may number the frames after it
    as if nothing was lost), whichever is more.
    """
    whole = max(declared, gaps.decoded + gaps.missing)
    skipped = whole - gaps.decoded
    if gaps.decoded < _DAMAGED_RATIO * whole:
        raise AudioError(
            f"{path}: damaged: only {gaps.decoded:.1f} s of its {whole:.1f} s decode "
            f"({gaps.bad_packets} damaged packets); re-export or re-download the file"
        )
    logger.warning(
        "%s: damaged: %.1f s (%.1f %%) could not be decoded (%d damaged packets skipped); "
        "the rest is analysed",
        path,
        skipped,
        100.0 * skipped / whole,
        gaps.bad_packets,
        extra={"event": "audio_damaged", "skipped_seconds": round(skipped, 3)},
    )


def _to_full_scale(path: str | Path, audio: np.ndarray, peak: float) -> None:
    """Scale ``audio`` in place so its level (99.9th percentile of magnitude) is 1.0; clip the rest.

    A float file can hold any magnitude (1e30 has been seen); the models then hear
    nothing but overflow. The level is taken from a percentile, so a few wild
    samples cannot turn the rest into silence.
    """
    sample = np.abs(audio[:: max(1, audio.size // _LEVEL_SAMPLES)])
    level = float(np.percentile(sample, _LEVEL_PERCENTILE))
    gain = 1.0 / level if level > 1.0 else 1.0
    audio *= np.float32(gain)
    clipped = int(np.count_nonzero(np.abs(audio) > 1.0))
    np.clip(audio, -1.0, 1.0, out=audio)
    logger.warning(
        "%s: samples reach %.3g times full scale; scaled by %.3g to full scale (%d samples clipped)",
        path,
        peak,
        gain,
        clipped,
        extra={"event": "audio_rescaled", "peak": peak, "gain": gain},
    )


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


def _stream_index(container, path: Path, stream: int | None) -> int:  # type: ignore[no-untyped-def]
    """``stream`` checked against the file's audio streams, or the one to analyse when None."""
    count = len(container.streams.audio)
    if count == 0:
        raise AudioError(f"{path}: has no audio stream; give an audio or video file with sound")
    if stream is not None and not 0 <= stream < count:
        raise AudioError(
            f"{path}: has no audio stream {stream} (--stream {stream}); it has {count} audio "
            f"stream{'s' if count > 1 else ''}: give --stream 0{f' to {count - 1}' if count > 1 else ''}"
        )
    if stream is not None or count == 1:
        return stream or 0
    return _choose_stream(container, path)


def _choose_stream(container, path: Path) -> int:  # type: ignore[no-untyped-def]
    """The audio stream with the most speech-band signal; logged, with a warning when several have some."""
    activity = [
        stream_activity(container, s, _declared_duration(container, s), sample_rate=SAMPLE_RATE)
        if s.codec_context
        else None
        for s in container.streams.audio
    ]
    measured = [(a, i) for i, a in enumerate(activity) if a is not None]
    best = max(measured)[1] if measured else 0
    summary = ", ".join(f"{i}: {a.active:.0%}" for a, i in measured)  # speech-like frames per stream
    logger.info(
        "%s: analysing audio stream %d of %d (speech-like frames %s)",
        path,
        best,
        len(activity),
        summary,
        extra={"event": "audio_stream_chosen", "stream": best, "streams": len(activity)},
    )
    if sum(a.has_signal for a, _ in measured) > 1:
        logger.warning(
            "%s: %d audio streams have sound (speech-like frames %s); analysing stream %d, "
            "give --stream N for another",
            path,
            sum(a.has_signal for a, _ in measured),
            summary,
            best,
        )
    return best


def _audio_stream(container, path: Path, index: int):  # type: ignore[no-untyped-def]
    stream = container.streams.audio[index]
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
