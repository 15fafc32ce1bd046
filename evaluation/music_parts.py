"""Music parts of the generated recordings: a loop, a loop region and music played once.

Real music is cut from the data folder's ``music/`` clips when asked for and present;
otherwise it is synthesized (``evaluation.signals.synth_loop``). Every draw comes from
the generator given, so the same seed gives the same parts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.signals import at_level, fade, repeat_loop, synth_loop
from evaluation.sources import music_clips
from pipeline.io.audio import SAMPLE_RATE

_MEDLEY_CROSSFADE = 0.5  # seconds between the real clips of a medley


def make_loop(
    rng: np.random.Generator,
    *,
    real: bool,
    data: Path,
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
    clips = music_clips(data)
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
    rng: np.random.Generator, *, real: bool, data: Path, min_seconds: float, max_seconds: float
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
    clips = music_clips(data)
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
            part = at_level(clip.audio, -20.0)  # one level: a medley, not a level ramp
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
