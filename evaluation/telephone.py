"""A telephone line for generated calls: band-pass, 8 kHz, G.711 mu-law and an optional AMR-NB leg.

Every step keeps the timing: the result has the input's length and its samples line up
with the input's, so the references of the calls stay exact.
"""

from __future__ import annotations

import io

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

from evaluation.signals import aligned
from pipeline.io.audio import SAMPLE_RATE


def mulaw_encode(x: np.ndarray) -> np.ndarray:
    """G.711 mu-law codes of ``x`` (float, full scale 1.0), bit-exact with the ITU reference coder.

    The 16-bit sample is cut to 14 bits, biased by 33, and coded as a sign bit, a 3-bit
    segment (the position of the leading one) and the 4 bits after it; all bits are
    inverted for transmission.

    Parameters
    ----------
    x
        Any shape, values in [-1, 1] (clipped).

    Returns
    -------
    np.ndarray
        Same shape, uint8.
    """
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int32) >> 2  # 14-bit, floor like C's >>
    negative = pcm < 0
    # Clipped at 8159 and biased as the reference coder does; 8192 (its "segment 8") codes as 8191.
    magnitude = np.minimum(np.minimum(np.where(negative, -pcm, pcm), 8159) + 33, 0x1FFF)
    segment = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), magnitude)
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    return (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """Samples of G.711 mu-law ``codes`` (uint8), float32 with full scale 1.0, same shape."""
    u = ~codes.astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (np.where(u & 0x80, 0x84 - t, t - 0x84) / 32768.0).astype(np.float32)


def amr_nb_available() -> bool:
    """Whether PyAV's FFmpeg can encode AMR-NB (``libopencore_amrnb``)."""
    try:
        import av

        av.codec.Codec("libopencore_amrnb", "w")
    except Exception:  # ImportError, or UnknownCodecError when FFmpeg was built without it
        return False
    return True


def amr_nb_round_trip(x8: np.ndarray, *, bitrate: int = 12_200) -> np.ndarray:
    """Encode 8 kHz ``x8`` to AMR-NB and decode it, re-aligned to ``x8``.

    Parameters
    ----------
    x8
        Shape ``(samples,)``, 8 kHz, float in [-1, 1].
    bitrate
        An AMR-NB mode, bit/s (4750 to 12200).

    Returns
    -------
    np.ndarray
        Same shape, float32.
    """
    from fractions import Fraction

    import av

    pcm = np.round(np.clip(x8, -1.0, 1.0) * 32767.0).astype(np.int16)
    pcm = np.concatenate([pcm, np.zeros(-pcm.size % 160, np.int16)])  # whole 20 ms frames
    buf = io.BytesIO()
    with av.open(buf, "w", format="amr") as out:
        stream = out.add_stream("libopencore_amrnb", rate=8000, layout="mono")
        stream.bit_rate = bitrate  # type: ignore[union-attr]
        for i in range(0, pcm.size, 160):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 160], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 8000, i, Fraction(1, 8000)
            for packet in stream.encode(frame):  # type: ignore[union-attr]
                out.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            out.mux(packet)
    with av.open(io.BytesIO(buf.getvalue()), "r") as inp:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in inp.decode(audio=0)])
    # The decoder gives float samples today; 16-bit ones are scaled to the same full scale.
    y = decoded / 32768.0 if decoded.dtype.kind == "i" else decoded
    return aligned(x8, y.astype(np.float32), max_lag=800)


def telephone(x: np.ndarray, *, amr_bitrate: int | None = None) -> np.ndarray:
    """``x`` (16 kHz) through a telephone line, back at 16 kHz with the same length and timing.

    300-3400 Hz band-pass (4th-order Butterworth, run forwards and backwards so nothing
    moves in time), 8 kHz, an optional AMR-NB round trip (a mobile leg), G.711 mu-law
    (the network), then 16 kHz again: nothing above 4 kHz survives.

    Parameters
    ----------
    x
        Shape ``(samples,)``, 16 kHz, float in [-1, 1].
    amr_bitrate
        AMR-NB mode in bit/s, or None for no AMR leg.

    Returns
    -------
    np.ndarray
        Shape ``(samples,)``, float32, 16 kHz.
    """
    sos = butter(4, (300.0, 3400.0), btype="bandpass", fs=SAMPLE_RATE, output="sos")
    narrow = resample_poly(sosfiltfilt(sos, x), 1, 2)  # the polyphase filter is centred: no delay
    if amr_bitrate is not None:
        narrow = amr_nb_round_trip(narrow, bitrate=amr_bitrate)
    narrow = mulaw_decode(mulaw_encode(narrow))
    return resample_poly(narrow, 2, 1)[: x.size].astype(np.float32)
