"""Laying pieces of speech on one timeline: events, the mix, its reference turns, seeded draws.

Shared by the generated conversations (calls, interviews, long talks, quiet-host
interviews): a placed piece is an :class:`Event`; :func:`mix` sums them over a noise
floor and :func:`reference_turns` reads the reference from where they were placed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.signals import CONVERSATION_NOISE_FLOOR_DB, noise_floor
from evaluation.voices import speech_runs
from pipeline.core.types import Turn
from pipeline.io.audio import SAMPLE_RATE

_REFERENCE_PAUSE = 0.3  # seconds: a pause this long inside a placed sentence splits its reference turn
_JITTER_DB = 3.0  # every placed piece gets a gain of +-this, so reused pieces are not bit-identical


@dataclass(frozen=True)
class Event:
    """A piece placed on the timeline: ``audio`` (already at its gain) from sample ``start``."""

    start: int
    audio: np.ndarray
    speaker: str

    @property
    def end(self) -> int:
        return self.start + self.audio.size


def mix(events: list[Event], length: int, rng: np.random.Generator) -> np.ndarray:
    """The events summed on ``length`` samples of a low noise floor, float32."""
    audio = noise_floor(rng, length, CONVERSATION_NOISE_FLOOR_DB)
    for e in events:
        audio[e.start : e.end] += e.audio
    return audio


def reference_turns(events: list[Event]) -> tuple[Turn, ...]:
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


def jitter(rng: np.random.Generator) -> float:
    """A random gain of +-3 dB, linear."""
    return float(10 ** (rng.uniform(-_JITTER_DB, _JITTER_DB) / 20))


def cycled(rng: np.random.Generator, n: int, count: int) -> list[int]:
    """``count`` indices below ``n``: shuffled rounds, so nothing repeats before all were used."""
    order: list[int] = []
    while len(order) < count:
        round_ = [int(i) for i in rng.permutation(n)]
        if order and n > 1 and round_[0] == order[-1]:  # no piece twice in a row across rounds
            round_[0], round_[-1] = round_[-1], round_[0]
        order += round_
    return order[:count]


def draw_samples(rng: np.random.Generator, low: float, high: float) -> int:
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


def write_flac(path: Path, audio: np.ndarray) -> Path:
    """``audio`` (16 kHz) as 16-bit FLAC at ``path``."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(audio, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return path
