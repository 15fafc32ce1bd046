"""Decoded PyAV frames of any channel layout to mono float32 at one sample rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av

_FULL_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2.0**31, "s64": 2.0**63, "flt": 1.0, "dbl": 1.0}
"""Magnitude of full scale per sample format (packed name)."""


class MonoResampler:
    """Frames in, mono float32 arrays at ``rate`` out; keeps the resampler's state between frames.

    FFmpeg downmixes a known channel layout with its standard matrix. A layout
    with no channel order (a WAV without a channel mask: 9, 17, 32 channels from a
    field recorder or a mixing desk) is averaged here instead: FFmpeg would guess a
    surround layout for up to 8 channels (dropping the one it takes for LFE) and
    cannot downmix more at all.

    Parameters
    ----------
    rate
        Output sample rate, Hz.
    """

    def __init__(self, rate: int) -> None:
        import av  # PyAV loads FFmpeg's libraries: only once audio is decoded

        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)

    def __call__(self, frame: av.AudioFrame | None) -> list[np.ndarray]:
        """Mono float32 arrays, shape ``(n,)``, for ``frame``; None flushes what the resampler holds."""
        if frame is not None and _needs_averaging(frame):
            frame = _average_channels(frame)
        return [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]


def _needs_averaging(frame: av.AudioFrame) -> bool:
    channels = frame.layout.channels
    return len(channels) > 2 and any(channel.name == "NONE" for channel in channels)


def _average_channels(frame: av.AudioFrame) -> av.AudioFrame:
    """One mono ``flt`` frame, the mean of ``frame``'s channels, same rate and time."""
    import av

    data = frame.to_ndarray()
    fmt = frame.format
    if not fmt.is_planar:  # interleaved: (1, samples * channels)
        data = data.reshape(-1, len(frame.layout.channels)).T
    name = fmt.packed.name
    mean = data.mean(axis=0, dtype=np.float64)
    if name == "u8":
        mean -= 128.0
    mono = (mean / _FULL_SCALE[name]).astype(np.float32)
    out = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
    out.sample_rate, out.pts, out.time_base = frame.sample_rate, frame.pts, frame.time_base
    return out
