"""Conversations with exact speaker truth, made from real single-speaker voices, and the two real ones.

Diarization needs recordings where who spoke when is known to the sample. The
single-speaker clips under ``../shared/data/singlespeaker`` are one voice each (the
file names and ``SOURCES.md`` say whose), so cutting them at pauses and laying the
pieces of two voices on one timeline gives a conversation whose reference is where
the pieces were put:

* :func:`phone_calls`: two distinct voices taking turns like a call (1-3 sentences a
  turn, gaps of -0.3 to 1.0 s, so the next speaker sometimes starts before the other
  ends; now and then the listener's short backchannel under or just after a
  sentence); ``wideband`` (16 kHz as is) or ``phone`` (300-3400 Hz, 8 kHz, G.711
  mu-law, sometimes AMR-NB first, back at 16 kHz in the file).
* :func:`interview`: the hard case for counting speakers: one guest talks for minutes,
  a host with another voice only asks a few short questions and murmurs, some of it
  over the guest's sentence ends; the host holds about 3.5-6 % of the talk.
* :func:`long_talk`: hours of a live room, a looping hold track then two people
  talking (voices made of random collages of their real speech, so nothing loops), for
  speed, memory and identity stability at the seed's size.
* :func:`conversation_references`: the real two-party recordings under
  ``../shared/data/conversations`` with the RTTMs derived in ``bench/references``
  (approximate boundaries; see its README).

Everything is seeded: the same seed gives the same audio, sample for sample. Files
are written as 16-bit FLAC (lossless), after any codec round trip, which is
re-aligned to the input so the reference times stay exact.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

from pipeline.core.types import Turn
from pipeline.evaluation.recordings import HOLD_TRACK, at_level
from pipeline.evaluation.references import Reference, read_rttm, speech_spans
from pipeline.evaluation.scenarios import (
    SHARED_DATA,
    music_clips,
    pyannote_sample_path,
    read_clip,
    repeat_loop,
)
from pipeline.io.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

Band = Literal["wideband", "phone"]

REFERENCES_DIR = Path(__file__).resolve().parents[2] / "bench" / "references"
"""Derived RTTMs of the real conversations (``README.md`` there says how)."""

REAL_CONVERSATIONS = ("azure_katiesteve", "pca_auto0_call_8k")
"""Stems of the real two-party recordings in ``../shared/data/conversations``."""

VOICES: dict[str, tuple[str, ...]] = {
    "osr-0034": ("joinly_OSR_us_000_0034_8k.wav",),  # Open Speech Repository reader, 8 kHz
    "arctic-aew": tuple(f"pra_cmu_arctic_us_aew_a000{i}.wav" for i in (1, 2, 3)),
    "arctic-axb": tuple(f"pra_cmu_arctic_us_axb_a000{i}.wav" for i in (4, 5, 6)),
    "libri-198": ("librosa_198-209-0000.hq.ogg",),  # LibriSpeech, Heather Barnett
    "libri-3436": ("librosa_3436-172162-0000.hq.ogg",),  # LibriSpeech, Anders Lankford
    "libri-5703": ("librosa_5703-47212-0000.hq.ogg",),  # LibriSpeech, Garth Comira
    "jfk": ("fw_jfk.flac",),
    "vctk-p286": ("am_p286_011.wav",),
}
"""Single-speaker voices: label -> files in ``singlespeaker/`` (several files = the same speaker)."""

CALL_PAIRS: tuple[tuple[str, str], ...] = (
    ("libri-198", "libri-3436"),
    ("osr-0034", "libri-5703"),
    ("arctic-aew", "arctic-axb"),
    ("vctk-p286", "libri-198"),
    ("jfk", "libri-5703"),
    ("arctic-axb", "libri-3436"),
)
"""Voices of call ``i``: even calls are wideband, odd ones phone (the 8 kHz OSR reader is
only in phone calls, where its band is not a give-away)."""

INTERVIEW_GUEST = "osr-0034"
"""The interview's guest: the voice with the most material (35.6 s of Harvard sentences)."""

HOST_VOICE = "sample-speaker91"
"""The interview's host: Sheila (speaker91) of pyannote.audio's sample, a phone line like the guest's."""

HOST_QUESTIONS = ((14.33, 15.83), (16.00, 17.82), (21.80, 23.86), (25.25, 27.42))
"""Sheila's 1.5-2.2 s phrases in the sample where Diane is silent, seconds: "And I'm Sheila in
Texas", "originally from Chicago.", "Well, there isn't that much difference.", "they all call
me a Yankee down here" (edges at the energy dips around faster-whisper's word times)."""

HOST_MURMURS = ((7.60, 8.30), (9.93, 10.53), (21.80, 22.36), (23.96, 24.32), (24.52, 25.23))
"""Sheila's short pieces (0.36-0.71 s) where Diane is silent, seconds: "Hello?", "Neither did
I.", "Well,", "At least,", "you know,"."""

_FRAME = SAMPLE_RATE // 50  # 20 ms analysis frames
_QUIET = 0.1  # a frame is a pause below this fraction of the 95th-percentile frame RMS
_PAD = 0.04  # seconds kept either side of a speech run: weak onsets and tails sit under the threshold
_REFERENCE_PAUSE = 0.3  # seconds: a pause this long inside a placed sentence splits its reference turn
_SHORTEST_SENTENCE_S = 0.6  # a collage sentence is at least two 0.3 s pieces
_JITTER_DB = 3.0  # every placed piece gets a gain of +-this, so reused pieces are not bit-identical
_NOISE_FLOOR_DB = -60.0  # line noise under everything, dBFS RMS: silence is never digital zero
_BACKCHANNEL_P = 0.25  # chance that the listener murmurs at a sentence of a call
_MAX_MURMUR = 0.95  # seconds: a backchannel is shorter than a second
_AMR_RATES = (12_200, 7_950, 5_900)  # AMR-NB modes of a mobile leg, bit/s


# --------------------------------------------------------------------------- voices


@dataclass(frozen=True)
class Voice:
    """One real speaker cut into pieces.

    Attributes
    ----------
    name : str
        Speaker label used in the references.
    sentences : tuple of np.ndarray
        Speech runs of at least 0.8 s, each shape ``(samples,)``, float32, 16 kHz, from
        just before the first speech frame to just after the last (``_PAD`` either side).
    murmurs : tuple of np.ndarray
        Short pieces (0.2 to 0.95 s) of the same voice, for backchannels.
    rms : float
        RMS of the sentences together (linear), to set the voice's level.
    """

    name: str
    sentences: tuple[np.ndarray, ...]
    murmurs: tuple[np.ndarray, ...]
    rms: float


def _frame_rms(x: np.ndarray) -> np.ndarray:
    """RMS of consecutive 20 ms frames, shape ``(x.size // 320,)``."""
    frames = x[: x.size // _FRAME * _FRAME].reshape(-1, _FRAME)
    return np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))


def sentences(voice: np.ndarray, *, min_pause: float = 0.5) -> list[np.ndarray]:
    """Cut ``voice`` (16 kHz) at pauses of at least ``min_pause`` seconds, mid-pause.

    A 20 ms frame is silent below a tenth of the 95th-percentile frame RMS; each piece
    keeps half of the pauses on either side, so pieces join back without clicks (the
    pieces include silence: use :func:`speech_runs` for pieces whose extent is speech).

    Parameters
    ----------
    voice
        Shape ``(samples,)``, 16 kHz.
    min_pause
        Seconds.

    Returns
    -------
    list of np.ndarray
        Consecutive slices of ``voice`` covering it.
    """
    rms = _frame_rms(voice)
    silent = np.r_[False, rms < _QUIET * np.percentile(rms, 95), False]
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]  # silent runs [start, end) in frames
    cuts = [
        (a + b) // 2 * _FRAME
        for a, b in zip(starts, ends, strict=True)
        if (b - a) * _FRAME >= min_pause * SAMPLE_RATE
    ]
    bounds = [0, *cuts, voice.size]
    return [voice[a:b] for a, b in itertools.pairwise(bounds) if b - a > _FRAME]


def speech_runs(voice: np.ndarray, *, min_pause: float, min_speech: float) -> list[tuple[int, int]]:
    """Where ``voice`` speaks: runs of loud frames joined across pauses shorter than ``min_pause``.

    Parameters
    ----------
    voice
        Shape ``(samples,)``, 16 kHz, one speaker.
    min_pause
        Seconds of quiet frames that end a run.
    min_speech
        Seconds: shorter runs are dropped (clicks, breaths).

    Returns
    -------
    list of (int, int)
        ``(start, end)`` sample indices, padded by ``_PAD`` seconds each side within ``voice``.
    """
    rms = _frame_rms(voice)
    loud = np.r_[0, (rms >= _QUIET * np.percentile(rms, 95)).astype(np.int8), 0]
    edges = np.flatnonzero(np.diff(loud))
    runs: list[list[int]] = []
    for a, b in zip(edges[0::2], edges[1::2], strict=True):
        if runs and (a - runs[-1][1]) * _FRAME < min_pause * SAMPLE_RATE:
            runs[-1][1] = int(b)
        else:
            runs.append([int(a), int(b)])
    pad = round(_PAD * SAMPLE_RATE)
    return [
        (max(0, a * _FRAME - pad), min(voice.size, b * _FRAME + pad))
        for a, b in runs
        if (b - a) * _FRAME >= min_speech * SAMPLE_RATE
    ]


def _head(piece: np.ndarray) -> np.ndarray:
    """The start of ``piece`` up to its quietest 20 ms frame 0.3-0.9 s in: a word or two."""
    rms = _frame_rms(piece)
    low, high = round(0.3 * 50), min(round(0.9 * 50), rms.size - 1)
    if high <= low:
        return piece[: round(_MAX_MURMUR * SAMPLE_RATE)]
    return piece[: (low + int(np.argmin(rms[low:high]))) * _FRAME]


def _voice_from_clips(name: str, clips: list[np.ndarray]) -> Voice | None:
    """Cut each clip (one speaker, 16 kHz) into sentences and murmurs; None when no sentence."""
    found: list[np.ndarray] = []
    short: list[np.ndarray] = []
    for clip in clips:
        found += [clip[a:b] for a, b in speech_runs(clip, min_pause=0.35, min_speech=0.8)]
        short += [
            clip[a:b]
            for a, b in speech_runs(clip, min_pause=0.12, min_speech=0.2)
            if b - a <= _MAX_MURMUR * SAMPLE_RATE
        ]
    if not found:
        return None
    # Sentence heads: every voice gets murmurs, even one that never pauses inside a sentence.
    short += [_head(s) for s in found[:4]]
    rms = float(np.sqrt(np.mean(np.square(np.concatenate(found), dtype=np.float64))))
    return Voice(name, tuple(found), tuple(short), rms)


@cache
def load_voice(name: str, shared_data: Path = SHARED_DATA) -> Voice | None:
    """Voice ``name`` of :data:`VOICES`, read from ``shared_data/singlespeaker`` (None when absent)."""
    paths = [shared_data / "singlespeaker" / f for f in VOICES[name]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        logger.info("voice %s: %s not present, skipped", name, missing[0])
        return None
    return _voice_from_clips(name, [read_clip(p) for p in paths])


@cache
def host_voice() -> Voice | None:
    """Sheila of pyannote.audio's sample: :data:`HOST_QUESTIONS` as sentences, :data:`HOST_MURMURS`."""
    path = pyannote_sample_path()
    if path is None:
        return None
    audio = read_clip(path)

    def cut(spans: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, ...]:
        return tuple(audio[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)] for a, b in spans)

    questions = cut(HOST_QUESTIONS)
    rms = float(np.sqrt(np.mean(np.square(np.concatenate(questions), dtype=np.float64))))
    return Voice(HOST_VOICE, questions, cut(HOST_MURMURS), rms)


# --------------------------------------------------------------------------- telephone line


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
    return _aligned(x8, y.astype(np.float32), max_lag=800)


def _aligned(x: np.ndarray, y: np.ndarray, *, max_lag: int) -> np.ndarray:
    """``y`` shifted by the lag (up to ``max_lag`` samples) that best matches ``x``, cut to ``x.size``."""
    n = min(x.size, y.size)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(y[:n], size) * np.conj(np.fft.rfft(x[:n], size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    lag = int(lags[np.argmax(corr[lags])])
    y = y[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), y])
    return np.concatenate([y, np.zeros(max(0, x.size - y.size), np.float32)])[: x.size].astype(np.float32)


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


# --------------------------------------------------------------------------- mixing


@dataclass(frozen=True)
class _Event:
    """A piece placed on the timeline: ``audio`` (already at its gain) from sample ``start``."""

    start: int
    audio: np.ndarray
    speaker: str

    @property
    def end(self) -> int:
        return self.start + self.audio.size


def _mix(events: list[_Event], length: int, rng: np.random.Generator) -> np.ndarray:
    """The events summed on ``length`` samples of a low noise floor, float32."""
    audio = rng.standard_normal(length).astype(np.float32) * np.float32(10 ** (_NOISE_FLOOR_DB / 20))
    for e in events:
        audio[e.start : e.end] += e.audio
    return audio


def _turns(events: list[_Event]) -> tuple[Turn, ...]:
    """Reference turns, seconds, in start order: each event's speech, split at its pauses.

    A pause of ``_REFERENCE_PAUSE`` or longer inside a sentence is nobody's speech (the
    rule of NIST's RT evaluations, and what a segmentation model is trained to hear);
    shorter ones stay inside the turn, as do the event's weak onsets and tails.
    """
    turns = []
    for e in events:
        runs = speech_runs(e.audio, min_pause=_REFERENCE_PAUSE, min_speech=0.0) or [(0, e.audio.size)]
        turns += [Turn((e.start + a) / SAMPLE_RATE, (e.start + b) / SAMPLE_RATE, e.speaker) for a, b in runs]
    return tuple(sorted(turns, key=lambda t: (t.start, t.speaker)))


def _jitter(rng: np.random.Generator) -> float:
    """A random gain of +-3 dB, linear."""
    return float(10 ** (rng.uniform(-_JITTER_DB, _JITTER_DB) / 20))


def _cycled(rng: np.random.Generator, n: int, count: int) -> list[int]:
    """``count`` indices below ``n``: shuffled rounds, so nothing repeats before all were used."""
    order: list[int] = []
    while len(order) < count:
        round_ = [int(i) for i in rng.permutation(n)]
        if order and n > 1 and round_[0] == order[-1]:  # no piece twice in a row across rounds
            round_[0], round_[-1] = round_[-1], round_[0]
        order += round_
    return order[:count]


def _seconds(rng: np.random.Generator, low: float, high: float) -> int:
    """A uniform draw in ``[low, high)`` seconds, in samples."""
    return round(rng.uniform(low, high) * SAMPLE_RATE)


def overlap_seconds(turns: tuple[Turn, ...]) -> float:
    """Seconds where two or more speakers talk at once."""
    edges = sorted([(t.start, 1) for t in turns] + [(t.end, -1) for t in turns])
    total, active, last = 0.0, 0, 0.0
    for time, step in edges:
        if active >= 2:
            total += time - last
        active, last = active + step, time
    return total


def _write(path: Path, audio: np.ndarray) -> Path:
    """``audio`` (16 kHz) as 16-bit FLAC at ``path``."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(audio, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return path


# --------------------------------------------------------------------------- calls


def _call_events(rng: np.random.Generator, voices: tuple[Voice, Voice], seconds: float) -> list[_Event]:
    """Turns of two voices from about 0.5 s to about ``seconds``; see :func:`phone_calls`.

    No turn starts after ``seconds - 4`` and none takes another sentence after ``seconds - 2``.
    """
    gains = [10 ** (rng.uniform(-26.0, -20.0) / 20) / v.rms for v in voices]
    decks = [iter(_cycled(rng, len(v.sentences), max(1000, round(seconds)))) for v in voices]  # < 1 a second
    events: list[_Event] = []
    free = [0, 0]  # sample where each speaker's last piece ends: nobody overlaps themself
    t = _seconds(rng, 0.3, 1.0)
    who = int(rng.integers(2))
    while t < (seconds - 4.0) * SAMPLE_RATE:
        speaker, listener = voices[who], voices[1 - who]
        t = max(t, free[who] + round(0.15 * SAMPLE_RATE))
        n = int(rng.integers(1, 4))
        for k in range(n):
            piece = speaker.sentences[next(decks[who])] * np.float32(gains[who] * _jitter(rng))
            events.append(_Event(t, piece, speaker.name))
            end = free[who] = t + piece.size
            last = k == n - 1
            if rng.random() < _BACKCHANNEL_P:
                murmur = listener.murmurs[int(rng.integers(len(listener.murmurs)))]
                murmur = murmur * np.float32(gains[1 - who] * _jitter(rng))
                room = piece.size - murmur.size - round(0.4 * SAMPLE_RATE)
                if (last or rng.random() < 0.5) and room > 0:  # under the sentence
                    at = t + round(0.3 * SAMPLE_RATE) + int(rng.integers(room))
                else:  # in the pause after it; the speaker waits for it before going on
                    at = end + _seconds(rng, -0.2, 0.3)
                if at >= free[1 - who] + round(0.1 * SAMPLE_RATE):
                    events.append(_Event(at, murmur, listener.name))
                    free[1 - who] = at + murmur.size
                    if not last:
                        end = max(end, free[1 - who])
            t = end + (_seconds(rng, 0.15, 0.5) if not last else 0)
            if t > (seconds - 2.0) * SAMPLE_RATE:
                break
        # Negative gaps: the other speaker starts before this one has finished.
        t += _seconds(rng, -0.3, 1.0)
        who = 1 - who
    return events


def phone_call(
    index: int, folder: Path, *, seed: int = 0, shared_data: Path = SHARED_DATA
) -> Reference | None:
    """Call ``index`` of the seeded set (voices ``CALL_PAIRS[index % 6]``), written to ``folder``.

    Parameters
    ----------
    index
        Even: ``wideband`` (16 kHz as recorded); odd: ``phone`` (:func:`telephone`; every
        second phone call, ``index % 4 == 3``, also through AMR-NB when PyAV can encode it).
    folder
        Where ``call-<index>-<band>.flac`` is written.
    seed
        The same seed and index give the same call, sample for sample.
    shared_data
        Folder of the real clips.

    Returns
    -------
    Reference or None
        None when a voice's clips are absent.
    """
    pair = CALL_PAIRS[index % len(CALL_PAIRS)]
    found = [load_voice(v, shared_data) for v in pair]
    if found[0] is None or found[1] is None:
        return None
    voices = (found[0], found[1])
    rng = np.random.default_rng([seed, index, 0xCA11])
    band: Band = "phone" if index % 2 else "wideband"
    events = _call_events(rng, voices, float(rng.uniform(50.0, 88.0)))
    length = max(e.end for e in events) + _seconds(rng, 0.5, 1.5)
    audio = _mix(events, length, rng)
    tags = [band, f"voice:{pair[0]}", f"voice:{pair[1]}"]
    if band == "phone":
        amr = int(rng.choice(_AMR_RATES)) if index % 4 == 3 and amr_nb_available() else None
        audio = telephone(audio, amr_bitrate=amr)
        tags += ["g711-mulaw"] + ([f"amr-nb-{amr}"] if amr else [])
    return call_reference(folder / f"call-{index}-{band}.flac", events, audio, tuple(tags))


def call_reference(path: Path, events: list[_Event], audio: np.ndarray, tags: tuple[str, ...]) -> Reference:
    """Write a call's ``audio`` (16 kHz) to ``path``; its reference: kind ``"call"``, the placed turns."""
    turns = _turns(events)
    speech = speech_spans(turns)
    return Reference(
        name=path.stem,
        path=_write(path, audio),
        duration=audio.size / SAMPLE_RATE,
        turns=turns,
        music=(),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="call",
        tags=tags,
    )


def phone_calls(
    folder: Path, *, seed: int = 0, count: int = 4, shared_data: Path = SHARED_DATA
) -> list[Reference]:
    """Two-party calls of real voices with exact turns, written to ``folder`` as FLAC.

    Each call pairs two distinct voices (:data:`CALL_PAIRS`), each at its own level
    (-26 to -20 dBFS RMS), over a -60 dBFS noise floor, 45-90 s long: turns of 1-3
    sentences (cut at pauses, reused in shuffled rounds, +-3 dB each time), gaps
    between turns of -0.3 to 1.0 s (negative: the next speaker starts first), and in
    a quarter of the sentences a listener's backchannel (< 1 s) under the sentence
    or in the pause after it. Reference turns are the placed pieces (speech from
    40 ms before its first loud frame to 40 ms after its last), overlaps kept.

    Parameters
    ----------
    folder
        Where the FLAC files go.
    seed
        Seed of every draw.
    count
        Calls ``0 .. count-1`` (even wideband, odd phone); at most ``len(CALL_PAIRS)``
        distinct voice pairs, then pairs repeat with other draws.
    shared_data
        Folder of the real clips; absent voices are skipped (an empty list when none).

    Returns
    -------
    list of Reference
        Kind ``"call"``, names ``call-<i>-<band>``, tags: band, both voices, codecs.
    """
    calls = [phone_call(i, folder, seed=seed, shared_data=shared_data) for i in range(count)]
    return [c for c in calls if c is not None]


def _collages(rng: np.random.Generator, voice: Voice, count: int) -> Voice:
    """``voice`` with ``count`` new sentences, each 2-6 random 0.3-1.2 s pieces of its speech.

    Pieces are joined with 10 ms fades and played 0-4 % faster or slower, so no stretch
    longer than a piece ever recurs: speech that sounds like the voice, says nothing,
    and never loops.
    """
    speech = np.concatenate(voice.sentences)
    fade = np.linspace(0.0, 1.0, SAMPLE_RATE // 100, dtype=np.float32)
    sentences = []
    for _ in range(count):
        pieces = []
        for _ in range(int(rng.integers(2, 7))):
            length = int(rng.uniform(0.3, 1.2) * SAMPLE_RATE)
            start = int(rng.integers(0, speech.size - length))
            piece = speech[start : start + length].copy()
            piece[: fade.size] *= fade
            piece[-fade.size :] *= fade[::-1]
            pieces.append(piece)
        rate = round(100 * rng.uniform(0.96, 1.04))
        sentences.append(resample_poly(np.concatenate(pieces), 100, rate).astype(np.float32))
    return replace(voice, sentences=tuple(sentences))


def long_talk(
    folder: Path, *, talk_minutes: float, hold_minutes: float, seed: int = 0, shared_data: Path = SHARED_DATA
) -> Reference | None:
    """A live room as recorded unedited: a looping hold track, then two people talking, to ``folder``.

    The hold track is a cut of the lounge track (``HOLD_TRACK``) looped for
    ``hold_minutes``; the talk is a wideband call of the first voice pair
    (:data:`CALL_PAIRS`) for ``talk_minutes``, built like :func:`phone_calls`' calls from
    ``_collages`` of each voice: a few minutes of real speech cannot fill hours without
    repeating, and repeated speech is what the hold-music filter rightly strips. For
    speed, memory and speaker stability on hours of talk; the short calls measure accuracy.

    Returns
    -------
    Reference or None
        Kind ``"long-talk"``; None when the voices or the hold track are absent.
    """
    voices = [load_voice(v, shared_data) for v in CALL_PAIRS[0]]
    track = next((c for c in music_clips() if c.name == HOLD_TRACK), None)
    if voices[0] is None or voices[1] is None or track is None:
        return None
    rng = np.random.default_rng([seed, round(talk_minutes * 60), round(hold_minutes * 60), 0x7A1C])
    period = track.audio[: round(30.0 * SAMPLE_RATE)]
    hold = at_level(repeat_loop(period, hold_minutes * 60 * SAMPLE_RATE / period.size), -24.0)
    count = round(talk_minutes * 60 / 4)  # about one new sentence per speaker every 8 s of talk
    talkers = (_collages(rng, voices[0], count), _collages(rng, voices[1], count))
    events = [replace(e, start=e.start + hold.size) for e in _call_events(rng, talkers, talk_minutes * 60.0)]
    length = max(e.end for e in events) + _seconds(rng, 0.5, 1.5)
    audio = _mix(events, length, rng)
    audio[: hold.size] += hold
    turns = _turns(events)
    del events  # an hour of talk is ~230 MB of pieces; the mix is all that is needed now
    name = f"long-talk-{hold_minutes:g}+{talk_minutes:g}min"
    speech = speech_spans(turns)
    return Reference(
        name=name,
        path=_write(folder / f"{name}.flac", audio),
        duration=length / SAMPLE_RATE,
        turns=turns,
        music=((0.0, hold.size / SAMPLE_RATE),),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="long-talk",
        tags=("wideband", f"voice:{CALL_PAIRS[0][0]}", f"voice:{CALL_PAIRS[0][1]}", "lounge-loop"),
    )


# --------------------------------------------------------------------------- interview


@dataclass(frozen=True)
class Interview:
    """A long guest monologue with a host's questions and backchannels.

    Attributes
    ----------
    reference : Reference
        The recording and its turns (kind ``"interview"``).
    guest, host : str
        Speaker labels.
    monologue : tuple of (float, float)
        The guest's sentences, seconds.
    questions : tuple of (float, float)
        The host's 1.5-2.2 s phrases, each in a pause of the guest, seconds.
    backchannels : tuple of (float, float)
        The host's murmurs (< 1 s), in the guest's pauses or over a sentence's end
        (by up to 0.5 s), seconds.
    """

    reference: Reference
    guest: str
    host: str
    monologue: tuple[tuple[float, float], ...]
    questions: tuple[tuple[float, float], ...]
    backchannels: tuple[tuple[float, float], ...]

    @property
    def host_share(self) -> float:
        """The host's fraction of all speaker time (sum of turn lengths)."""
        host = sum(b - a for a, b in self.questions + self.backchannels)
        return host / (host + sum(b - a for a, b in self.monologue))


def _interview_events(
    rng: np.random.Generator, guest: Voice, host: Voice, seconds: float
) -> tuple[list[_Event], list[_Event], list[_Event]]:
    """``(guest sentences, host questions, host murmurs)``; see :func:`interview`."""
    guest_gain = 10 ** (rng.uniform(-24.0, -20.0) / 20) / guest.rms
    host_gain = 10 ** (rng.uniform(-26.0, -20.0) / 20) / host.rms
    share = rng.uniform(0.035, 0.045)  # the host's target share of the talk
    over = int(rng.integers(2))  # murmurs alternate between over a sentence's end and in a pause
    sentence_order = iter(_cycled(rng, len(guest.sentences), 100_000))
    question_order = iter(_cycled(rng, len(host.sentences), 1000))
    murmur_order = iter(_cycled(rng, len(host.murmurs), 10_000))
    said: list[_Event] = []
    asked: list[_Event] = []
    murmured: list[_Event] = []
    talk = host_talk = 0  # samples of speech so far, all and the host's
    next_question = _seconds(rng, 20.0, 45.0)
    t = _seconds(rng, 0.5, 1.5)
    while t < seconds * SAMPLE_RATE:
        piece = guest.sentences[next(sentence_order)] * np.float32(guest_gain * _jitter(rng))
        said.append(_Event(t, piece, guest.name))
        end = t + piece.size
        talk += piece.size
        # Now and then the guest stops to think: most pauses are short, some long.
        gap = _seconds(rng, 1.0, 2.0) if rng.random() < 0.15 else _seconds(rng, 0.3, 0.9)
        question = host.sentences[next(question_order)]
        deficit = share * talk - host_talk
        if end >= next_question and host_talk + question.size <= 0.06 * (talk + question.size):
            at = end + _seconds(rng, 0.3, 0.8)
            asked.append(_Event(at, question * np.float32(host_gain * _jitter(rng)), host.name))
            talk, host_talk = talk + question.size, host_talk + question.size
            t = at + question.size + _seconds(rng, 0.2, 0.7)
            next_question = t + _seconds(rng, 45.0, 120.0)
        elif deficit > rng.uniform(0.0, 1.0) * SAMPLE_RATE:  # the host is behind its share: murmur
            murmur = host.murmurs[next(murmur_order)] * np.float32(host_gain * _jitter(rng))
            overlap = min(0.5, piece.size / SAMPLE_RATE - 0.3)
            if (len(murmured) + over) % 2 and overlap > 0.1:  # over the end of the sentence
                at = end - _seconds(rng, 0.1, overlap)
            else:  # in the pause
                at = end + _seconds(rng, 0.15, 0.4)
            murmured.append(_Event(at, murmur, host.name))
            talk, host_talk = talk + murmur.size, host_talk + murmur.size
            t = max(end + gap, at + murmur.size + _seconds(rng, 0.15, 0.5))
        else:
            t = end + gap
    return said, asked, murmured


def interview(
    folder: Path, *, minutes: float = 6.0, seed: int = 0, shared_data: Path = SHARED_DATA
) -> Interview:
    """A guest talking for ``minutes`` and a host with another voice, written to ``folder``.

    The guest (:data:`INTERVIEW_GUEST`) talks in collages of its real speech (see
    :func:`_collages`: the voice, never a loop), +-3 dB each sentence, with pauses of
    0.3-0.9 s (15 %: 1-2 s). The host (Sheila of pyannote's sample, :data:`HOST_VOICE`)
    asks a phrase (1.5-2.2 s, :data:`HOST_QUESTIONS`) in a pause every 45-120 s (the
    first 20-45 s in) and murmurs (:data:`HOST_MURMURS`) when behind a drawn share of
    3.5-4.5 % of the talk (questions count; none is asked past 6 %): in turn in the
    pause after a sentence and starting 0.1-0.5 s before the sentence ends. A right
    answer has two speakers, the guest on one label.

    Parameters
    ----------
    folder
        Where ``interview-<minutes>min.flac`` is written.
    minutes
        Length, minutes (it stops after the first sentence past it).
    seed
        Seed of every draw.
    shared_data
        Folder of the real clips.

    Returns
    -------
    Interview

    Raises
    ------
    FileNotFoundError
        The guest's clip or pyannote.audio's sample is absent.
    """
    guest = load_voice(INTERVIEW_GUEST, shared_data)
    host = host_voice()
    if guest is None:
        raise FileNotFoundError(
            f"{shared_data / 'singlespeaker' / VOICES[INTERVIEW_GUEST][0]}: the interview's guest; "
            "the shared data lives beside the repository (../shared/data)"
        )
    if host is None:
        raise FileNotFoundError("pyannote.audio's sample.wav (the interview's host) not found: install it")
    rng = np.random.default_rng([seed, round(minutes * 600), 0x1E7])
    # Collages, not the clip's sentences in rounds: a reader repeating the same few
    # sentences verbatim is a loop, which the hold-music filter rightly strips.
    guest = _collages(rng, guest, math.ceil(minutes * 60.0 / _SHORTEST_SENTENCE_S) + 1)
    said, asked, murmured = _interview_events(rng, guest, host, minutes * 60.0)
    events = said + asked + murmured
    length = max(e.end for e in events) + _seconds(rng, 0.5, 1.5)
    audio = _mix(events, length, rng)
    name = f"interview-{minutes:g}min"
    turns = _turns(events)
    speech = speech_spans(turns)
    reference = Reference(
        name=name,
        path=_write(folder / f"{name}.flac", audio),
        duration=length / SAMPLE_RATE,
        turns=turns,
        music=(),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="interview",
        tags=("narrowband-voices", f"guest:{guest.name}", f"host:{host.name}"),
    )

    def spans(placed: list[_Event]) -> tuple[tuple[float, float], ...]:
        return tuple(sorted((e.start / SAMPLE_RATE, e.end / SAMPLE_RATE) for e in placed))

    return Interview(reference, guest.name, host.name, spans(said), spans(asked), spans(murmured))


# --------------------------------------------------------------------------- real conversations


def conversation_references(
    *, shared_data: Path = SHARED_DATA, references_dir: Path = REFERENCES_DIR
) -> list[Reference]:
    """The real two-party recordings with their derived RTTMs (approximate: score with a 0.25 s collar).

    Parameters
    ----------
    shared_data
        Folder holding ``conversations/``; recordings absent there are skipped.
    references_dir
        Folder of the ``<stem>.rttm`` files (``bench/references``).

    Returns
    -------
    list of Reference
        Kind ``"real"``, names ``real:<stem>``, no transcript.
    """
    import soundfile as sf

    references = []
    for stem in REAL_CONVERSATIONS:
        wav = shared_data / "conversations" / f"{stem}.wav"
        rttm = references_dir / f"{stem}.rttm"
        if not wav.is_file() or not rttm.is_file():
            logger.info("real conversation %s or %s not present: skipped", wav, rttm)
            continue
        turns = read_rttm(rttm)
        speech = speech_spans(turns)
        references.append(
            Reference(
                name=f"real:{stem}",
                path=wav,
                duration=sf.info(str(wav)).duration,
                turns=turns,
                music=(),
                speech=speech,
                text=None,
                untranscribed=speech,
                kind="real",
                tags=("derived-rttm",),
            )
        )
    return references
