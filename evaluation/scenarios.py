"""Seeded test recordings with exact ground truth: hold music next to real speech.

A scenario is one recording (16 kHz mono float32) assembled from parts laid end to
end: real speech clips, music loops repeated 2–40 times (synthesized, or cut from
the real clips of the data folder's ``music/``), music played once (a long
synthesized piece with new notes every bar, a real track or a medley of real
clips), noise, and speech over a music bed.
Everything the detector should find is known exactly because the generator placed
it: music regions (with loop period and repeats), and speech regions (from the
source's RTTM where it has one, else the whole clip — a conservative reference:
any strip inside it counts as speech lost).

The same ``seed`` always gives the same recordings. Real clips are read from the
data folder given (``evaluation.sources``) and skipped when absent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from evaluation.music_parts import fade, loop_region, make_loop, make_piece
from evaluation.signals import (
    NOISE_FLOOR_DB,
    Codec,
    at_level,
    merge_intervals,
    noise_floor,
    reencode,
    repeat_loop,
    synth_loop,
)
from evaluation.sources import Clip, announcer_clips, noise_clips, speech_clips, variant
from pipeline.core.types import MusicKind
from pipeline.io.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)


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


# --------------------------------------------------------------------------- assembly


@dataclass
class _Builder:
    """Lays parts end to end and records where each one landed."""

    rng: np.random.Generator
    data: Path
    parts: list[np.ndarray] = field(default_factory=list)
    length: int = 0
    music: list[MusicTruth] = field(default_factory=list)
    speech: list[tuple[float, float]] = field(default_factory=list)
    speech_used: int = 0
    speech_order: tuple[int, ...] = ()

    @property
    def now(self) -> float:
        return self.length / SAMPLE_RATE

    def next_speech(self) -> Clip:
        """The next real speech clip of a fixed shuffled order.

        A clip never comes back within one pass over all of them: a repeated clip
        would be a genuine loop. Later passes play each clip faster and, every other
        pass, reversed, so that it does not repeat the earlier pass either.
        """
        clips = speech_clips(self.data)
        if not self.speech_order:
            self.speech_order = tuple(int(i) for i in self.rng.permutation(len(clips)))
        index, cycle = self.speech_used % len(clips), self.speech_used // len(clips)
        self.speech_used += 1
        clip = clips[self.speech_order[index]]
        return variant(clip, cycle) if cycle else clip

    def add(self, x: np.ndarray) -> None:
        self.parts.append(x.astype(np.float32))
        self.length += x.size

    def gap(self, low: float = 0.3, high: float = 1.5) -> None:
        self.add(np.zeros(int(self.rng.uniform(low, high) * SAMPLE_RATE), np.float32))

    def speech_clip(self, clip: Clip, level_db: float) -> None:
        t0 = self.now
        self.speech.extend((t0 + s, t0 + e) for s, e in clip.speech)
        self.add(at_level(clip.audio, level_db))

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
        return (
            audio + noise_floor(self.rng, audio.size, NOISE_FLOOR_DB),
            tuple(self.music),
            merge_intervals(self.speech),
        )


def _speech_block(b: _Builder, seconds: float, level_db: float) -> None:
    """Real speech clips until about ``seconds`` have been added."""
    start = b.now
    while b.now - start < seconds:
        b.speech_clip(b.next_speech(), level_db)
        b.gap()


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
    data: Path,
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
    data
        Folder of the real clips (``evaluation.sources``).
    codec
        Round-trip the whole recording through this codec.
    max_music
        Longest music region, seconds.
    """
    b = _Builder(rng, data)
    speech_db = float(rng.uniform(-26, -18))
    tags = [t for t, on in (("real", real), ("fade", faded), ("cut", cut)) if on]

    def loop_part(speech_over: bool = False) -> None:
        loop, source = make_loop(rng, real=real, data=data, max_period=min(45.0, max_music / 2))
        region, repeats = loop_region(
            rng, loop, min_seconds=20.0, max_seconds=max_music, faded=faded, cut=cut
        )
        level = speech_db + float(rng.uniform(-6, 3))
        truth = MusicTruth(0, 0, "loop", loop.size / SAMPLE_RATE, repeats, speech_over, source)
        b.music_part(at_level(region, level), truth)

    def voiced_loop_part() -> None:
        voice = announcer_clips(data)[int(rng.integers(0, len(announcer_clips(data))))]
        loop, source = make_loop(
            rng,
            real=real,
            data=data,
            min_period=voice.audio.size / SAMPLE_RATE + 2.0,
            max_period=min(45.0, max_music / 2),
        )
        period = np.resize(loop, max(loop.size, voice.audio.size + 2 * SAMPLE_RATE))
        music_db = speech_db - float(rng.uniform(6, 12))
        period = at_level(period, music_db)
        period[SAMPLE_RATE : SAMPLE_RATE + voice.audio.size] += at_level(voice.audio, speech_db)
        region, repeats = loop_region(
            rng, period, min_seconds=20.0, max_seconds=max_music, faded=faded, cut=cut
        )
        source = f"{source}+voice:{voice.name}"
        b.music_part(region, MusicTruth(0, 0, "loop", period.size / SAMPLE_RATE, repeats, False, source))

    def piece_part() -> None:
        piece, source = make_piece(
            rng, real=real, data=data, min_seconds=min(60.0, max_music), max_seconds=min(120.0, max_music)
        )
        if faded:
            piece = fade(piece, fade_in=float(rng.uniform(0.5, 4.0)), fade_out=float(rng.uniform(1.0, 6.0)))
        level = speech_db + float(rng.uniform(-6, 3))
        b.music_part(at_level(piece, level), MusicTruth(0, 0, "music", None, None, False, source))

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
    if placement == "speech_only" and noise_clips(data):
        clip = noise_clips(data)[int(rng.integers(0, len(noise_clips(data))))]
        b.add(at_level(clip.audio, speech_db + float(rng.uniform(-10, 0))))
        b.gap()
        _speech_block(b, float(rng.uniform(15, 40)), speech_db)
    audio, music, speech = b.finish()
    if codec is not None:
        audio = reencode(audio, codec, bitrate=int(rng.choice([48_000, 64_000, 96_000, 128_000])))
        tags.append(codec)
    return Scenario(name, audio, music, speech, codec, tuple(tags))


def _noise_block(b: _Builder, level_db: float) -> None:
    """Every real noise clip once (a repeated clip would be a loop), shuffled, pauses between."""
    clips = noise_clips(b.data, extra=True)
    for i in b.rng.permutation(len(clips)):
        clip = clips[int(i)]
        b.add(at_level(clip.audio, level_db + float(b.rng.uniform(-10, 0))))
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
        voice.append(at_level(clip.audio, speech_db))
        speech.extend((t + s, t + e) for s, e in clip.speech)
        t += clip.audio.size / SAMPLE_RATE
    mix = np.concatenate(voice)
    if repeating:
        loop, source = make_loop(b.rng, real=real, data=b.data, max_period=mix.size / SAMPLE_RATE / 2)
        bed = repeat_loop(loop, mix.size / loop.size)
        truth = MusicTruth(0, 0, "loop", loop.size / SAMPLE_RATE, mix.size / loop.size, True, source)
    else:
        seconds = mix.size / SAMPLE_RATE
        piece, source = make_piece(b.rng, real=real, data=b.data, min_seconds=seconds, max_seconds=seconds)
        bed = np.resize(piece, mix.size)  # a medley shorter than the speech wraps once: still a bed
        truth = MusicTruth(0, 0, "music", None, None, True, source)
    bed_db = speech_db - float(b.rng.uniform(8, 20))
    t0 = b.now
    b.speech.extend((t0 + s, t0 + e) for s, e in speech)
    b.music_part(mix + at_level(bed, bed_db), truth)


def scenario_set(
    data: Path, seed: int = 0, *, per_placement: int = 4, max_music: float = 240.0
) -> list[Scenario]:
    """A varied, seeded set: every placement, synth and real music, fades, cuts, codecs.

    Parameters
    ----------
    data
        Folder of the real clips (``evaluation.sources``).
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
                    data=data,
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
    rng: np.random.Generator, data: Path, *, minutes: float = 60.0, loop_fraction: float = 0.75
) -> Scenario:
    """A long recording for speed and memory checks: a synthesized loop, then speech.

    Parameters
    ----------
    data
        Folder of the real speech clips (``evaluation.sources``).
    minutes
        Total length, minutes.
    loop_fraction
        Share of the recording that is the opening loop.
    """
    b = _Builder(rng, data)
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
