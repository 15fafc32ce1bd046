"""Seeded test recordings with exact ground truth: hold music next to real speech.

A scenario is one recording (16 kHz mono float32) assembled from parts laid end to
end: real speech clips, music loops repeated 2–40 times (synthesized, or cut from
the real clips under ``../shared/data/music``), music played once (a long
synthesized piece with new notes every bar, a real track or a medley of real
clips), noise, and speech over a music bed.
Everything the detector should find is known exactly because the generator placed
it: music regions (with loop period and repeats), and speech regions (from the
source's RTTM where it has one, else the whole clip — a conservative reference:
any strip inside it counts as speech lost).

The same ``seed`` always gives the same recordings. Real clips are used when the
shared data folder is present and skipped when it is not; pyannote's sample
(``pyannote/audio/sample/sample.wav``) is read with soundfile, never through
``pyannote.audio`` (whose import decodes through torchcodec).
"""

from __future__ import annotations

import importlib.util
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from math import gcd
from pathlib import Path
from typing import Literal, cast, get_args

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from pipeline.core.types import MusicKind
from pipeline.io.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
"""Real clips (speech, music, noise) with their sources in ``SOURCES.md``."""

Codec = Literal["mp3", "aac"]

_NOISE_FLOOR_DB = -62.0  # room/line noise under everything, dBFS RMS: silence is never digital zero
_MUSIC_FILES = (
    "librosa_Kevin_MacLeod_-_Vibe_Ace.hq.ogg",
    "max_jazz_guitar.wav",
    "max_piano.wav",
    "max_arcade_music.wav",
    "pygame_house_lo.wav",
    "pyaa_beat_small.wav",
    "pyaa_doremi.wav",
    "ina_musanmix_MUSAN_music-hd-0048_0-22.4s.wav",
    "librosa_sorohanro_-_solo-trumpet-06.hq.ogg",
)
_SPEECH_FILES = (
    ("singlespeaker", "fw_jfk.flac"),
    ("singlespeaker", "fw_multilingual.mp3"),
    ("singlespeaker", "joinly_OSR_us_000_0034_8k.wav"),
    ("singlespeaker", "librosa_198-209-0000.hq.ogg"),
    ("singlespeaker", "librosa_3436-172162-0000.hq.ogg"),
    ("singlespeaker", "librosa_5703-47212-0000.hq.ogg"),
    ("singlespeaker", "am_p286_011.wav"),
    ("multispeaker", "pyaa_diarizationExample.wav"),
    ("multispeaker", "pyaa_diarizationExample2.wav"),
    ("multispeaker", "pv_falcon_test.wav"),
    ("multispeaker", "ina_lamartine.wav"),
)
_ANNOUNCER_GLOB = "pra_cmu_arctic_us_*.wav"  # voices for recorded announcements, not in _SPEECH_FILES
_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 3, 5, 7, 10))  # major, minor, pentatonic
_NOISE_FILES = ("pra_doing_the_dishes.wav", "max_applause.wav", "max_typing.wav", "max_crowd_cheering.wav")
# Noise-only recordings also play the cafe clip; it stays out of ``noise_clips`` so that
# the speech-only recordings draw the same noise as when they were first benchmarked.
_EXTRA_NOISE_FILES = ("nr_cafe_short.wav",)
_MEDLEY_CROSSFADE = 0.5  # seconds between the real clips of a medley


@dataclass(frozen=True)
class MusicTruth:
    """A music region the generator placed.

    Attributes
    ----------
    start, end : float
        Seconds on the recording.
    kind : {"loop", "music"}
        ``"loop"`` when the same audio repeats (``repeats >= 2``).
    period : float or None
        Loop length in seconds (loops only).
    repeats : float or None
        Plays of the loop in the region; fractional when cut mid-loop.
    speech_over : bool
        Speech is mixed over this music (a bed): it must be kept, never stripped.
    source : str
        ``"synth:<bpm>bpm"`` or the real clip's file name.
    """

    start: float
    end: float
    kind: MusicKind
    period: float | None
    repeats: float | None
    speech_over: bool
    source: str


@dataclass(frozen=True)
class Scenario:
    """One recording with its ground truth.

    Attributes
    ----------
    name : str
        Unique within a set, e.g. ``"loop-middle-007"``.
    audio : np.ndarray
        Shape ``(samples,)``, float32, 16 kHz mono.
    music : tuple of MusicTruth
        Every music region, beds included.
    speech : tuple of (float, float)
        Reference speech ``(start, end)`` in seconds, sorted, disjoint.
    codec : str or None
        ``"mp3"`` / ``"aac"`` when the whole recording went through that codec.
    tags : tuple of str
        What the scenario exercises (``"fade"``, ``"cut"``, ``"real"``, ``"bed"``...).
    """

    name: str
    audio: np.ndarray
    music: tuple[MusicTruth, ...]
    speech: tuple[tuple[float, float], ...]
    codec: str | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.audio.size / SAMPLE_RATE

    @property
    def strippable(self) -> tuple[MusicTruth, ...]:
        """Music the filter should strip: every region without speech over it."""
        return tuple(m for m in self.music if not m.speech_over)


@dataclass(frozen=True)
class _Clip:
    audio: np.ndarray
    speech: tuple[tuple[float, float], ...]  # seconds from the clip's start
    name: str


# --------------------------------------------------------------------------- sources


def pyannote_sample_path() -> Path | None:
    """Path of pyannote.audio's 30 s sample, found without importing pyannote.audio."""
    spec = importlib.util.find_spec("pyannote")
    for root in spec.submodule_search_locations or () if spec else ():
        path = Path(root) / "audio" / "sample" / "sample.wav"
        if path.is_file():
            return path
    return None


def read_clip(path: Path) -> np.ndarray:
    """Read any soundfile-readable file as 16 kHz mono float32, shape ``(samples,)``."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = gcd(rate, SAMPLE_RATE)
        mono = resample_poly(mono, SAMPLE_RATE // g, rate // g)
    return mono.astype(np.float32)


def _rttm_speech(path: Path, audio: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Union of the turns of an RTTM file, seconds, clipped to the audio's length."""
    duration = audio.size / SAMPLE_RATE
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] == "SPEAKER":
            start = float(fields[3])
            turns.append((min(start, duration), min(start + float(fields[4]), duration)))
    return merge_intervals(turns)


@cache
def speech_clips() -> tuple[_Clip, ...]:
    """Real speech available here: pyannote's sample, then the shared clips."""
    clips = []
    sample = pyannote_sample_path()
    if sample is not None:
        audio = read_clip(sample)
        clips.append(_Clip(audio, _rttm_speech(sample.with_suffix(".rttm"), audio), "pyannote_sample"))
    for folder, name in _SPEECH_FILES:
        path = SHARED_DATA / folder / name
        if not path.is_file():
            continue
        audio = read_clip(path)
        rttms = sorted(path.parent.glob(path.stem + "*.rttm"))
        speech = _rttm_speech(rttms[0], audio) if rttms else ((0.0, audio.size / SAMPLE_RATE),)
        clips.append(_Clip(audio, speech, name))
    if not clips:
        raise FileNotFoundError(
            "no real speech found: install pyannote.audio (it ships sample.wav) or add ../shared/data"
        )
    return tuple(clips)


@cache
def announcer_clips() -> tuple[_Clip, ...]:
    """Short spoken sentences for voiced hold loops, never used as conversation.

    CMU ARCTIC sentences from ``../shared/data/singlespeaker``; without them,
    pyannote's sample played 48 % faster (a voice the speech blocks never use).
    """
    paths = sorted((SHARED_DATA / "singlespeaker").glob(_ANNOUNCER_GLOB))
    if paths:
        return tuple(_Clip(read_clip(p), (), p.name) for p in paths)
    return (_variant(speech_clips()[0], 8),)


@cache
def music_clips() -> tuple[_Clip, ...]:
    """Real music clips from ``../shared/data/music`` (empty when absent)."""
    paths = [SHARED_DATA / "music" / name for name in _MUSIC_FILES]
    return tuple(_Clip(read_clip(p), (), p.name) for p in paths if p.is_file())


@cache
def noise_clips(*, extra: bool = False) -> tuple[_Clip, ...]:
    """Real non-music noise (dishes, applause, typing, crowd; ``extra``: cafe too): hard negatives."""
    names = _NOISE_FILES + (_EXTRA_NOISE_FILES if extra else ())
    paths = [SHARED_DATA / "noise" / name for name in names]
    return tuple(_Clip(read_clip(p), (), p.name) for p in paths if p.is_file())


# --------------------------------------------------------------------------- signals


def merge_intervals(intervals: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Sort and merge overlapping or touching ``(start, end)`` intervals."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _note(freq: float, seconds: float, *, harmonics: np.ndarray, decay: float, attack: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(
        a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics) if freq * (k + 1) < 7600
    )
    env = np.minimum(1.0, t / attack) * np.exp(-t / decay)
    return (wave * env).astype(np.float32)


def synth_loop(
    rng: np.random.Generator,
    *,
    bpm: float,
    bars: int,
    drums: bool = True,
) -> np.ndarray:
    """Synthesize one loop: drums, bass and a melodic voice, random per bar.

    Each bar gets its own notes so that the loop is not periodic at the bar level:
    its period is the whole loop, as a real hold track's is.

    Parameters
    ----------
    rng
        Seeded generator (timbre, notes and drum pattern are drawn from it).
    bpm
        Tempo, beats per minute (4 beats a bar).
    bars
        Loop length in bars: the period is ``bars * 240 / bpm`` seconds.
    drums
        Include kick, snare and hi-hat.

    Returns
    -------
    np.ndarray
        Shape ``(round(period * 16000),)``, float32, peak about 0.5.
    """
    beat = 60.0 / bpm
    n = round(bars * 4 * beat * SAMPLE_RATE)
    out = np.zeros(n + SAMPLE_RATE * 4, dtype=np.float32)  # tail room; folded back so the loop is seamless
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    scale = np.array(_SCALES[int(rng.integers(0, len(_SCALES)))])
    lead_harm = 1.0 / np.arange(1, 9) ** rng.uniform(0.7, 2.5)
    bass_harm = 1.0 / np.arange(1, 5) ** 1.5
    lead_decay, lead_attack = rng.uniform(0.08, 0.8), rng.uniform(0.003, 0.05)
    steps = int(rng.choice([2, 4]))  # melodic notes per beat
    for bar in range(bars):
        bar_start = bar * 4 * beat
        for b in range(4):
            t0 = bar_start + b * beat
            degree = scale[rng.integers(0, len(scale))]
            _add(
                out,
                t0,
                0.5
                * _note(root / 2 * 2 ** (degree / 12), beat, harmonics=bass_harm, decay=beat, attack=0.01),
            )
            for s in range(steps):
                if rng.random() < 0.8:
                    d = scale[rng.integers(0, len(scale))] + 12 * int(rng.integers(1, 3))
                    tone = _note(
                        root * 2 ** (d / 12),
                        beat / steps * 1.5,
                        harmonics=lead_harm,
                        decay=lead_decay,
                        attack=lead_attack,
                    )
                    _add(out, t0 + s * beat / steps, 0.35 * tone)
            if drums:
                if b % 2 == 0:
                    t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
                    _add(
                        out, t0, 0.9 * np.sin(2 * np.pi * (50 + 120 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
                    )
                else:
                    _add(
                        out,
                        t0,
                        0.4
                        * rng.standard_normal(int(0.15 * SAMPLE_RATE))
                        * np.exp(-np.arange(int(0.15 * SAMPLE_RATE)) / 800),
                    )
                for half in (0.0, 0.5):
                    if rng.random() < 0.85:
                        hat = _highpass(rng.standard_normal(int(0.05 * SAMPLE_RATE)), 6000.0)
                        _add(out, t0 + half * beat, 0.15 * hat * np.exp(-np.arange(hat.size) / 150))
    out[: out.size - n] += out[n:]  # wrap the ring-out of the last notes to the start
    loop = out[:n]
    return (0.5 * loop / (np.abs(loop).max() + 1e-9)).astype(np.float32)


def _add(out: np.ndarray, t0: float, x: np.ndarray) -> None:
    i = round(t0 * SAMPLE_RATE)
    j = min(out.size, i + x.size)
    out[i:j] += x[: j - i]


def _highpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    return sosfilt(butter(4, cutoff, "highpass", fs=SAMPLE_RATE, output="sos"), x).astype(np.float32)


def repeat_loop(loop: np.ndarray, repeats: float, *, phase: float = 0.0) -> np.ndarray:
    """Play ``loop`` ``repeats`` times (fractional: cut mid-loop), starting ``phase`` into it.

    Parameters
    ----------
    loop
        Shape ``(period_samples,)``.
    repeats
        Plays, e.g. 3.4; the result has ``round(repeats * period_samples)`` samples.
    phase
        Where in the loop playback starts, as a fraction of the period in [0, 1).
    """
    n = round(repeats * loop.size)
    index = (np.arange(n) + int(phase * loop.size)) % loop.size
    return loop[index]


def fade(x: np.ndarray, *, fade_in: float = 0.0, fade_out: float = 0.0) -> np.ndarray:
    """Linear fade in and out, seconds; returns a new array."""
    y = x.copy()
    for seconds, sl in ((fade_in, slice(None)), (fade_out, slice(None, None, -1))):
        k = min(int(seconds * SAMPLE_RATE), y.size)
        if k:
            view = y[sl]
            view[:k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
    return y


def reencode(x: np.ndarray, codec: Codec, *, bitrate: int = 64_000) -> np.ndarray:
    """Round-trip ``x`` through an mp3 or AAC encoder (PyAV), re-aligned to ``x``.

    Encoders add priming samples; the decoded signal is shifted back by the lag
    that best correlates it with the input, so ground truth stays exact.

    Returns
    -------
    np.ndarray
        Same shape as ``x``, float32.
    """
    import av

    fmt, name = {"mp3": ("mp3", "libmp3lame"), "aac": ("adts", "aac")}[codec]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = cast("av.audio.stream.AudioStream", out.add_stream(name, rate=SAMPLE_RATE, layout="mono"))
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(x[None], dtype=np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with av.open(io.BytesIO(buf.getvalue()), "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        y = np.concatenate(
            [o.to_ndarray().reshape(-1) for f in inp.decode(audio=0) for o in resampler.resample(f)]
        )
    lag = _best_lag(x, y, max_lag=4096)
    y = y[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), y])
    y = np.concatenate([y, np.zeros(max(0, x.size - y.size), np.float32)])[: x.size]
    return y.astype(np.float32)


def _best_lag(x: np.ndarray, y: np.ndarray, *, max_lag: int) -> int:
    """Lag (samples) with ``y[lag + i] ~ x[i]``, searched in ``[-max_lag, max_lag]``."""
    n = min(x.size, y.size, 20 * SAMPLE_RATE)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(y[:n], size) * np.conj(np.fft.rfft(x[:n], size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    return int(lags[np.argmax(corr[lags])])


# --------------------------------------------------------------------------- assembly


@dataclass
class _Builder:
    """Lays parts end to end and records where each one landed."""

    rng: np.random.Generator
    parts: list[np.ndarray] = field(default_factory=list)
    length: int = 0
    music: list[MusicTruth] = field(default_factory=list)
    speech: list[tuple[float, float]] = field(default_factory=list)
    speech_used: int = 0
    speech_order: tuple[int, ...] = ()

    @property
    def now(self) -> float:
        return self.length / SAMPLE_RATE

    def next_speech(self) -> _Clip:
        """The next real speech clip of a fixed shuffled order.

        A clip never comes back within one pass over all of them: a repeated clip
        would be a genuine loop. Later passes play each clip faster and, every other
        pass, reversed, so that it does not repeat the earlier pass either.
        """
        clips = speech_clips()
        if not self.speech_order:
            self.speech_order = tuple(int(i) for i in self.rng.permutation(len(clips)))
        index, cycle = self.speech_used % len(clips), self.speech_used // len(clips)
        self.speech_used += 1
        clip = clips[self.speech_order[index]]
        return _variant(clip, cycle) if cycle else clip

    def add(self, x: np.ndarray) -> None:
        self.parts.append(x.astype(np.float32))
        self.length += x.size

    def gap(self, low: float = 0.3, high: float = 1.5) -> None:
        self.add(np.zeros(int(self.rng.uniform(low, high) * SAMPLE_RATE), np.float32))

    def speech_clip(self, clip: _Clip, level_db: float) -> None:
        t0 = self.now
        self.speech.extend((t0 + s, t0 + e) for s, e in clip.speech)
        self.add(clip.audio * (10 ** (level_db / 20) / _rms(clip.audio)))

    def music_part(self, x: np.ndarray, truth: MusicTruth) -> None:
        t0 = self.now
        self.music.append(
            MusicTruth(
                t0,
                t0 + x.size / SAMPLE_RATE,
                truth.kind,
                truth.period,
                truth.repeats,
                truth.speech_over,
                truth.source,
            )
        )
        self.add(x)

    def finish(self) -> tuple[np.ndarray, tuple[MusicTruth, ...], tuple[tuple[float, float], ...]]:
        audio = np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
        floor = self.rng.standard_normal(audio.size).astype(np.float32) * 10 ** (_NOISE_FLOOR_DB / 20)
        return audio + floor, tuple(self.music), merge_intervals(self.speech)


def _variant(clip: _Clip, cycle: int) -> _Clip:
    """``clip`` played ``6 * cycle`` % faster, and reversed on odd cycles."""
    up = 100 + 6 * cycle
    audio = resample_poly(clip.audio, 100, up).astype(np.float32)
    length, factor = audio.size / SAMPLE_RATE, 100 / up
    speech = tuple((s * factor, e * factor) for s, e in clip.speech)
    if cycle % 2:
        audio = audio[::-1].copy()
        speech = merge_intervals([(length - e, length - s) for s, e in speech])
    return _Clip(audio, speech, f"{clip.name}~{cycle}")


def _speech_block(b: _Builder, seconds: float, level_db: float) -> None:
    """Real speech clips until about ``seconds`` have been added."""
    start = b.now
    while b.now - start < seconds:
        b.speech_clip(b.next_speech(), level_db)
        b.gap()


def make_loop(
    rng: np.random.Generator,
    *,
    real: bool,
    min_period: float = 2.0,
    max_period: float = 45.0,
) -> tuple[np.ndarray, str]:
    """One loop: a cut of a real clip (when ``real`` and clips exist) or a synthesized one.

    Returns
    -------
    loop : np.ndarray
        Shape ``(period_samples,)``, float32.
    source : str
        Clip file name or ``"synth:<bpm>bpm"``.
    """
    clips = music_clips()
    if real and clips:
        clip = clips[int(rng.integers(0, len(clips)))]
        length = clip.audio.size / SAMPLE_RATE
        period = min(length, rng.uniform(min(min_period * 2, length), min(max_period, length)))
        offset = rng.uniform(0.0, length - period)
        cut = clip.audio[int(offset * SAMPLE_RATE) : int(offset * SAMPLE_RATE) + int(period * SAMPLE_RATE)]
        return cut.copy(), clip.name
    bpm = float(rng.uniform(60, 150))
    bar = 240.0 / bpm
    bars_low, bars_high = max(1, int(np.ceil(min_period / bar))), max(1, int(max_period // bar))
    bars = int(rng.integers(bars_low, max(bars_low, bars_high) + 1))
    return synth_loop(rng, bpm=bpm, bars=bars, drums=bool(rng.random() < 0.75)), f"synth:{bpm:.0f}bpm"


def loop_region(
    rng: np.random.Generator,
    loop: np.ndarray,
    *,
    min_seconds: float,
    max_seconds: float,
    faded: bool,
    cut: bool,
) -> tuple[np.ndarray, float]:
    """Repeat ``loop`` 2–40 times to last between ``min_seconds`` and ``max_seconds``.

    Returns the region's audio and its number of repeats (fractional when ``cut``).
    """
    period = loop.size / SAMPLE_RATE
    low = max(2.0, min_seconds / period)
    high = min(40.0, max(low, max_seconds / period))
    repeats = (
        float(rng.uniform(low, high))
        if cut
        else float(rng.integers(int(np.ceil(low)), max(int(np.ceil(low)), int(high)) + 1))
    )
    region = repeat_loop(loop, repeats, phase=float(rng.uniform(0, 1)) if cut else 0.0)
    if faded:
        region = fade(region, fade_in=float(rng.uniform(0.5, 4.0)), fade_out=float(rng.uniform(1.0, 6.0)))
    return region, repeats


def make_piece(
    rng: np.random.Generator, *, real: bool, min_seconds: float, max_seconds: float
) -> tuple[np.ndarray, str]:
    """Music played once, no loop in it: a real track, a medley of real clips, or a synthesized piece.

    ``real`` (when clips exist) plays, with even odds, the longest real clip (a
    whole track) or distinct clips one after another, each once, crossfaded. Else
    a piece of ``synth_loop`` is synthesized long enough that its new notes for
    every bar never come back.

    Returns
    -------
    piece : np.ndarray
        Shape ``(samples,)``, float32, at most ``max_seconds`` long (real audio may be
        shorter than ``min_seconds`` when the clips run out).
    source : str
        ``"track:<file>"``, ``"medley:<n> clips"`` or ``"synth-piece:<bpm>bpm"``.
    """
    clips = music_clips()
    limit = int(max_seconds * SAMPLE_RATE)
    if real and clips:
        track = max(clips, key=lambda c: c.audio.size)
        if track.audio.size >= min_seconds * SAMPLE_RATE and rng.random() < 0.5:
            return track.audio[:limit].copy(), f"track:{track.name}"
        order = [clips[int(i)] for i in rng.permutation(len(clips)) if clips[int(i)] is not track]
        overlap = int(_MEDLEY_CROSSFADE * SAMPLE_RATE)
        piece = np.zeros(0, np.float32)
        used = 0
        for clip in order:
            part = clip.audio * (0.1 / _rms(clip.audio))  # one level: a medley, not a level ramp
            if piece.size:
                ramp = np.linspace(0.0, 1.0, overlap, dtype=np.float32)
                part = part.copy()
                part[:overlap] = part[:overlap] * ramp + piece[-overlap:] * (1 - ramp)
                piece = piece[:-overlap]
            piece = np.concatenate([piece, part]).astype(np.float32)
            used += 1
            if piece.size >= min_seconds * SAMPLE_RATE:
                break
        return piece[:limit], f"medley:{used} clips"
    bpm = float(rng.uniform(60, 150))
    seconds = float(rng.uniform(min_seconds, max(min_seconds, max_seconds)))
    bars = max(1, int(np.ceil(seconds * bpm / 240.0)))
    piece = synth_loop(rng, bpm=bpm, bars=bars, drums=bool(rng.random() < 0.75))
    return piece[: int(seconds * SAMPLE_RATE)], f"synth-piece:{bpm:.0f}bpm"


Placement = Literal[
    "start",
    "middle",
    "end",
    "between",
    "bed",
    "speech_only",
    "music_start",
    "music_middle",
    "music_end",
    "music_bed",
    "noise_only",
    "voiced_start",
]


def make_scenario(
    rng: np.random.Generator,
    placement: Placement,
    *,
    name: str,
    real: bool = False,
    faded: bool = False,
    cut: bool = False,
    codec: Codec | None = None,
    max_music: float = 240.0,
) -> Scenario:
    """Build one recording.

    Parameters
    ----------
    rng
        Seeded generator; everything random is drawn from it.
    placement
        Where the loop goes relative to the speech: ``"start"``, ``"middle"``,
        ``"end"``, ``"between"`` (two loops, one at the start, one in a break);
        ``"bed"``: speech over a looping music bed (nothing strippable) plus a plain
        loop at the start; ``"speech_only"``: speech and real noise, no music.
        ``"music_start"``, ``"music_middle"``, ``"music_end"``: music played once
        (``make_piece``, 60–120 s synthesized) instead of a loop; ``"music_bed"``:
        speech over a bed that never repeats, plus a piece at the start;
        ``"noise_only"``: every real noise clip once, with pauses, nothing else;
        ``"voiced_start"``: a loop with a voice in it (a recorded announcement over
        music, as hold audio often is) at the start: strippable, not speech.
    name
        Scenario name.
    real
        Cut the loop from a real music clip (synthesized when none are present).
    faded
        Fade the loop in and out.
    cut
        Start and end the loop at random points inside it (fractional repeats).
    codec
        Round-trip the whole recording through this codec.
    max_music
        Longest music region, seconds.
    """
    b = _Builder(rng)
    speech_db = float(rng.uniform(-26, -18))
    tags = [t for t, on in (("real", real), ("fade", faded), ("cut", cut)) if on]

    def loop_part(speech_over: bool = False) -> None:
        loop, source = make_loop(rng, real=real, max_period=min(45.0, max_music / 2))
        region, repeats = loop_region(
            rng, loop, min_seconds=20.0, max_seconds=max_music, faded=faded, cut=cut
        )
        level = speech_db + float(rng.uniform(-6, 3))
        truth = MusicTruth(0, 0, "loop", loop.size / SAMPLE_RATE, repeats, speech_over, source)
        b.music_part(region * (10 ** (level / 20) / _rms(region)), truth)

    def voiced_loop_part() -> None:
        voice = announcer_clips()[int(rng.integers(0, len(announcer_clips())))]
        loop, source = make_loop(
            rng,
            real=real,
            min_period=voice.audio.size / SAMPLE_RATE + 2.0,
            max_period=min(45.0, max_music / 2),
        )
        period = np.resize(loop, max(loop.size, voice.audio.size + 2 * SAMPLE_RATE))
        music_db = speech_db - float(rng.uniform(6, 12))
        period = period * (10 ** (music_db / 20) / _rms(period))
        period[SAMPLE_RATE : SAMPLE_RATE + voice.audio.size] += voice.audio * (
            10 ** (speech_db / 20) / _rms(voice.audio)
        )
        region, repeats = loop_region(
            rng, period, min_seconds=20.0, max_seconds=max_music, faded=faded, cut=cut
        )
        source = f"{source}+voice:{voice.name}"
        b.music_part(region, MusicTruth(0, 0, "loop", period.size / SAMPLE_RATE, repeats, False, source))

    def piece_part() -> None:
        piece, source = make_piece(
            rng, real=real, min_seconds=min(60.0, max_music), max_seconds=min(120.0, max_music)
        )
        if faded:
            piece = fade(piece, fade_in=float(rng.uniform(0.5, 4.0)), fade_out=float(rng.uniform(1.0, 6.0)))
        level = speech_db + float(rng.uniform(-6, 3))
        b.music_part(
            piece * (10 ** (level / 20) / _rms(piece)), MusicTruth(0, 0, "music", None, None, False, source)
        )

    if placement == "noise_only":
        _noise_block(b, speech_db)
        tags.append("noise")
    else:
        if placement in ("start", "between", "bed"):
            loop_part()
            b.gap()
        if placement in ("music_start", "music_bed"):
            piece_part()
            b.gap()
        if placement == "voiced_start":
            voiced_loop_part()
            tags.append("voiced")
            b.gap()
        _speech_block(b, float(rng.uniform(20, 60)), speech_db)
    if placement in ("middle", "between", "music_middle"):
        if placement == "music_middle":
            piece_part()
        else:
            loop_part()
        b.gap()
        _speech_block(b, float(rng.uniform(15, 40)), speech_db)
    if placement == "end":
        loop_part()
    if placement == "music_end":
        piece_part()
    if placement in ("bed", "music_bed"):
        _bed(b, speech_db, real=real, repeating=placement == "bed")
        tags.append("bed")
    if placement == "speech_only" and noise_clips():
        clip = noise_clips()[int(rng.integers(0, len(noise_clips())))]
        b.add(clip.audio * (10 ** ((speech_db + float(rng.uniform(-10, 0))) / 20) / _rms(clip.audio)))
        b.gap()
        _speech_block(b, float(rng.uniform(15, 40)), speech_db)
    audio, music, speech = b.finish()
    if codec is not None:
        audio = reencode(audio, codec, bitrate=int(rng.choice([48_000, 64_000, 96_000, 128_000])))
        tags.append(codec)
    return Scenario(name, audio, music, speech, codec, tuple(tags))


def _noise_block(b: _Builder, level_db: float) -> None:
    """Every real noise clip once (a repeated clip would be a loop), shuffled, pauses between."""
    clips = noise_clips(extra=True)
    for i in b.rng.permutation(len(clips)):
        clip = clips[int(i)]
        b.add(clip.audio * (10 ** ((level_db + float(b.rng.uniform(-10, 0))) / 20) / _rms(clip.audio)))
        b.gap()


def _bed(b: _Builder, speech_db: float, *, real: bool, repeating: bool = True) -> None:
    """Speech over a music bed 8–20 dB under it, the bed spanning the speech exactly.

    ``repeating``: the bed is a loop; else music played once (``make_piece``).
    """
    voice = []
    speech: list[tuple[float, float]] = []
    t = 0.0
    while t < 25.0:
        clip = b.next_speech()
        voice.append(clip.audio * (10 ** (speech_db / 20) / _rms(clip.audio)))
        speech.extend((t + s, t + e) for s, e in clip.speech)
        t += clip.audio.size / SAMPLE_RATE
    mix = np.concatenate(voice)
    if repeating:
        loop, source = make_loop(b.rng, real=real, max_period=mix.size / SAMPLE_RATE / 2)
        bed = repeat_loop(loop, mix.size / loop.size)
        truth = MusicTruth(0, 0, "loop", loop.size / SAMPLE_RATE, mix.size / loop.size, True, source)
    else:
        seconds = mix.size / SAMPLE_RATE
        piece, source = make_piece(b.rng, real=real, min_seconds=seconds, max_seconds=seconds)
        bed = np.resize(piece, mix.size)  # a medley shorter than the speech wraps once: still a bed
        truth = MusicTruth(0, 0, "music", None, None, True, source)
    bed_db = speech_db - float(b.rng.uniform(8, 20))
    t0 = b.now
    b.speech.extend((t0 + s, t0 + e) for s, e in speech)
    b.music_part(mix + bed * (10 ** (bed_db / 20) / _rms(bed)), truth)


def scenario_set(seed: int = 0, *, per_placement: int = 4, max_music: float = 240.0) -> list[Scenario]:
    """A varied, seeded set: every placement, synth and real music, fades, cuts, codecs.

    Parameters
    ----------
    seed
        The same seed gives the same set.
    per_placement
        Recordings per placement (twelve placements; new placements come last, so
        the recordings of the earlier ones stay as they were).
    max_music
        Longest music region, seconds.
    """
    rng = np.random.default_rng(seed)
    placements: tuple[Placement, ...] = get_args(Placement)
    out = []
    for placement in placements:
        for i in range(per_placement):
            out.append(
                make_scenario(
                    rng,
                    placement,
                    name=f"{placement}-{i:03d}",
                    real=i % 2 == 1,
                    faded=i % 4 in (0, 1),
                    cut=i % 4 in (1, 2),
                    codec=(None, "mp3", "aac")[i % 3],
                    max_music=max_music,
                )
            )
    return out


def long_recording(
    rng: np.random.Generator, *, minutes: float = 60.0, loop_fraction: float = 0.75
) -> Scenario:
    """A long recording for speed and memory checks: a synthesized loop, then speech.

    Parameters
    ----------
    minutes
        Total length, minutes.
    loop_fraction
        Share of the recording that is the opening loop.
    """
    b = _Builder(rng)
    total = minutes * 60.0
    loop = synth_loop(rng, bpm=float(rng.uniform(80, 130)), bars=8)
    region = repeat_loop(loop, loop_fraction * total * SAMPLE_RATE / loop.size)
    b.music_part(
        0.1 * region,
        MusicTruth(0, 0, "loop", loop.size / SAMPLE_RATE, region.size / loop.size, False, "synth"),
    )
    while b.now < total:
        b.speech_clip(b.next_speech(), -22.0)
        b.gap()
    audio, music, speech = b.finish()
    return Scenario("long", audio, music, speech, None, ("long",))
