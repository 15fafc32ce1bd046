"""The real clips the generators draw from: speech, music, noise and announcers, read from a data folder.

The data folder (``../shared/data`` beside a checkout; ``SOURCES.md`` there names every
clip's source) holds ``singlespeaker/``, ``multispeaker/``, ``music/``, ``noise/`` and
``conversations/``; every reader takes it as an argument and skips files that are absent.
pyannote.audio's sample (``pyannote/audio/sample/sample.wav``) is found without importing
``pyannote.audio`` (whose import decodes through torchcodec) and read with soundfile.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from evaluation.signals import merge_intervals
from pipeline.io.audio import SAMPLE_RATE

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
_NOISE_FILES = ("pra_doing_the_dishes.wav", "max_applause.wav", "max_typing.wav", "max_crowd_cheering.wav")
# Noise-only recordings also play the cafe clip; it stays out of ``noise_clips`` so that
# the speech-only recordings draw the same noise as when they were first benchmarked.
_EXTRA_NOISE_FILES = ("nr_cafe_short.wav",)

HOLD_TRACK = "librosa_Kevin_MacLeod_-_Vibe_Ace.hq.ogg"
"""The realistic hold track of the shared music (lounge, 61 s)."""


@dataclass(frozen=True)
class Clip:
    """A real clip read at 16 kHz.

    Attributes
    ----------
    audio : np.ndarray
        Shape ``(samples,)``, float32.
    speech : tuple of (float, float)
        Speech spans, seconds from the clip's start (empty for music and noise).
    name : str
        File name (a variant adds ``~<cycle>``).
    """

    audio: np.ndarray
    speech: tuple[tuple[float, float], ...]
    name: str


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
def speech_clips(data: Path) -> tuple[Clip, ...]:
    """Real speech available: pyannote's sample, then the clips of ``data``.

    Raises
    ------
    FileNotFoundError
        Neither pyannote's sample nor any speech clip of ``data`` is present.
    """
    clips = []
    sample = pyannote_sample_path()
    if sample is not None:
        audio = read_clip(sample)
        clips.append(Clip(audio, _rttm_speech(sample.with_suffix(".rttm"), audio), "pyannote_sample"))
    for folder, name in _SPEECH_FILES:
        path = data / folder / name
        if not path.is_file():
            continue
        audio = read_clip(path)
        rttms = sorted(path.parent.glob(path.stem + "*.rttm"))
        speech = _rttm_speech(rttms[0], audio) if rttms else ((0.0, audio.size / SAMPLE_RATE),)
        clips.append(Clip(audio, speech, name))
    if not clips:
        raise FileNotFoundError(
            f"no real speech found: install pyannote.audio (it ships sample.wav) or add clips to {data}"
        )
    return tuple(clips)


def variant(clip: Clip, cycle: int) -> Clip:
    """``clip`` played ``6 * cycle`` % faster, and reversed on odd cycles."""
    up = 100 + 6 * cycle
    audio = resample_poly(clip.audio, 100, up).astype(np.float32)
    length, factor = audio.size / SAMPLE_RATE, 100 / up
    speech = tuple((s * factor, e * factor) for s, e in clip.speech)
    if cycle % 2:
        audio = audio[::-1].copy()
        speech = merge_intervals([(length - e, length - s) for s, e in speech])
    return Clip(audio, speech, f"{clip.name}~{cycle}")


@cache
def announcer_clips(data: Path) -> tuple[Clip, ...]:
    """Short spoken sentences for voiced hold loops, never used as conversation.

    CMU ARCTIC sentences from ``data/singlespeaker``; without them, pyannote's sample
    played 48 % faster (a voice the speech blocks never use).
    """
    paths = sorted((data / "singlespeaker").glob(_ANNOUNCER_GLOB))
    if paths:
        return tuple(Clip(read_clip(p), (), p.name) for p in paths)
    return (variant(speech_clips(data)[0], 8),)


@cache
def music_clips(data: Path) -> tuple[Clip, ...]:
    """Real music clips from ``data/music`` (empty when absent)."""
    paths = [data / "music" / name for name in _MUSIC_FILES]
    return tuple(Clip(read_clip(p), (), p.name) for p in paths if p.is_file())


def hold_track(data: Path) -> Clip | None:
    """:data:`HOLD_TRACK` of ``data/music``, None when absent."""
    return next((c for c in music_clips(data) if c.name == HOLD_TRACK), None)


@cache
def noise_clips(data: Path, *, extra: bool = False) -> tuple[Clip, ...]:
    """Real non-music noise (dishes, applause, typing, crowd; ``extra``: cafe too): hard negatives."""
    names = _NOISE_FILES + (_EXTRA_NOISE_FILES if extra else ())
    paths = [data / "noise" / name for name in names]
    return tuple(Clip(read_clip(p), (), p.name) for p in paths if p.is_file())
