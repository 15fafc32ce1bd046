"""Real speakers cut into pieces: the sentences and murmurs the conversations are laid out from.

A voice is one speaker's real speech (the single-speaker clips of the data folder's
``singlespeaker/``, or the host of pyannote.audio's sample) cut at its pauses: sentences
for turns, short pieces for backchannels. :func:`collages` makes new sentences of a
voice's speech so that hours of talk never loop.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from evaluation.sources import pyannote_sample_path, read_clip
from pipeline.io.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

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
_MAX_MURMUR = 0.95  # seconds: a backchannel is shorter than a second


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
def load_voice(name: str, shared_data: Path) -> Voice | None:
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


def collages(rng: np.random.Generator, voice: Voice, count: int) -> Voice:
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
