"""Hold-music filter: find looping music in a recording, before anything else runs.

How it decides (chosen by measurement, see ``bench/holdmusic.py``):

1. **Features** — log-mel energies pooled over ``pool`` seconds, one frame every
   ``1 / frame_rate`` seconds; each band's ``detrend``-second moving average is
   removed, then each frame is mean-removed and unit-normalised. The detrend is
   what separates loops from speech: a speaker's steady timbre made plain log-mel
   frames of speech look alike at many lags (95th percentile best-lag similarity
   0.94, three of four speech-only recordings falsely stripped); with the 2 s
   detrend speech tops out at 0.69 (99th percentile) while loop frames stay at a
   median of 0.99 through mp3/AAC and fades. Mean removal makes a frame blind to
   gain, the coarse bands and pooling to codec noise and to beat alignment.
2. **Repetition** — for every frame, cosine similarity to the frames ``min_period``
   to ``max_period`` seconds later, computed block by block (a band of the
   self-similarity matrix, never the whole matrix) and smoothed over
   ``smoothing`` seconds. A frame repeats when its best lag is both similar
   (``similarity_threshold``) and sharper than the lag curve's mean
   (``contrast_threshold``): steady noise or a held chord is similar at every lag
   and so has no contrast.
3. **Regions** — a frame is a loop frame when it matches a later frame or is
   matched by an earlier one; runs are joined over short dips, kept when longer
   than ``min_region``; the period is the region's most common lag, reduced to
   its shortest divisor that matches as well, refined to a fraction of a frame;
   the edges are placed by the unsmoothed similarity at the period.
4. **Speech guard** — Silero VAD (the ONNX model faster-whisper ships) runs only
   where a cut could take speech: inside each region edge, and around the frames
   of a region that stop repeating (someone talking over the loop). Speech heard
   there and not one period away is cut out of the region. Speech over a music
   bed never repeats, so it never forms a region in the first place.
5. **Music that does not repeat** (a song played once, a piece that fades into the
   talk) — outside the loops, cheapest test first: level above ``silence_level``;
   Silero on one chunk in ``screen_stride`` (in sequence) averaged over
   ``screen_span``, below ``speech_threshold`` (speech read 0.9 median, music and
   noise <= 0.2 median at stride 8, an eighth of dense Silero's cost); then, only
   there, ``tonality`` (spectral peaks that persist 0.1 s: real and synthesized
   music 0.28-0.7, noise 0.0-0.25, 10th/90th percentiles over 6 s) or ``rhythm``
   (onset autocorrelation at a beat lag: beats 0.4-0.7, noise and speech <= 0.2)
   above their thresholds, averaged over ``music_window``. A stretch of at least
   ``min_region`` (any length when it continues a loop) becomes a ``"music"``
   region; dense Silero moves its edges off speech as for loops. Speech over a
   bed keeps Silero high, so it is never a candidate.

All times are seconds on the audio given (the original recording). Beyond the
audio, memory is the features (32 floats a frame, 4.6 MB an hour) plus one block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from math import gcd
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import resample_poly

from pipeline.core.types import ModelIdentity, Region
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.silero import SileroVad
from pipeline.stages.base import ProgressHook
from pipeline.stages.holdmusic.features import music_features
from pipeline.stages.holdmusic.repetition import lag_similarity, loop_mask, region_period, repeat_curve, runs
from pipeline.stages.holdmusic.settings import HoldMusicConfig
from pipeline.stages.holdmusic.speech_guard import speech_in_dips, subtract_intervals, trim_speech_edges
from pipeline.stages.holdmusic.unrepeated import frame_level, rhythm, speech_screen, tonality

logger = logging.getLogger(__name__)

_PERIOD_TOLERANCE = 0.05  # a divisor of the lag mode matching this much worse is still the period (cosine)


class _Walks:
    """The detector's three walks over the audio, reported as one count of seconds up to its length.

    Features, repetition and the screen for music that does not repeat each go over
    the recording block by block; each walk is a third of the count, so ``done``
    reaches the audio's length once, when detection ends.

    Parameters
    ----------
    hook
        Receives seconds done, on the scale of the audio's length (``None``: no reports).
    seconds
        The audio's length, seconds.
    frames
        Feature frames in the audio.
    """

    COUNT = 3

    def __init__(self, hook: ProgressHook | None, seconds: float, frames: int) -> None:
        self.hook, self.seconds, self.frames = hook, seconds, max(frames, 1)

    def reporter(self, walk: int) -> Callable[[int], None] | None:
        """A callback taking the frames ``walk`` (0-based) has done, or ``None`` when nobody listens."""
        if self.hook is None:
            return None
        hook = self.hook

        def report(frames_done: int) -> None:
            hook(self.seconds * (walk + min(frames_done / self.frames, 1.0)) / self.COUNT)

        return report


class MusicDetector:
    """Finds hold music; the Silero model loads once, in the constructor.

    Parameters
    ----------
    config
        Tuning (``HoldMusicConfig``).
    models_dir
        The models folder (``None``: the default; Silero ships inside faster-whisper).
    """

    def __init__(self, config: HoldMusicConfig, *, models_dir: Path | None = None) -> None:
        self.config = config
        self._vad = SileroVad(models_dir=models_dir)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """The Silero VAD used by the speech guard."""
        return (self._vad.identity,)

    def detect(
        self, audio: np.ndarray, *, sample_rate: int = SAMPLE_RATE, progress: ProgressHook | None = None
    ) -> tuple[Region, ...]:
        """Music regions of ``audio`` (shape ``(samples,)``), seconds from its start, in time order.

        ``progress`` receives seconds done, from 0 to the audio's length, after each block
        (``_Walks``: 120 s of audio per block and walk); reports never change the result.
        """
        cfg = self.config
        if sample_rate != SAMPLE_RATE:
            g = gcd(sample_rate, SAMPLE_RATE)
            audio = resample_poly(audio, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)
        rate = cfg.frame_rate
        walks = _Walks(progress, audio.size / SAMPLE_RATE, int(np.ceil(audio.size * rate / SAMPLE_RATE)))
        features = music_features(
            audio,
            sample_rate=SAMPLE_RATE,
            frame_rate=rate,
            pool=cfg.pool,
            detrend=cfg.detrend,
            progress=walks.reporter(0),
        )
        min_lag = max(1, round(cfg.min_period * rate))
        best, contrast, lags = lag_similarity(
            features,
            min_lag=min_lag,
            max_lag=round(cfg.max_period * rate),
            smoothing=max(1, round(cfg.smoothing * rate)),
            progress=walks.reporter(1),
        )
        mask = loop_mask(
            best,
            contrast,
            lags,
            similarity_threshold=cfg.similarity_threshold,
            contrast_threshold=cfg.contrast_threshold,
        )
        regions: list[Region] = []
        for i0, i1 in runs(mask, max_gap=int(cfg.gap_fill * rate), min_length=int(cfg.min_region * rate)):
            regions.extend(self._region(audio, features, i0, i1, lags[i0:i1], min_lag=min_lag))
        regions.extend(self._unrepeated(audio, regions, progress=walks.reporter(2)))
        return tuple(sorted(regions, key=lambda r: r.start))

    def _unrepeated(
        self, audio: np.ndarray, loops: list[Region], *, progress: Callable[[int], None] | None = None
    ) -> list[Region]:
        """Music that does not repeat, outside ``loops``: not speech, not silent, tonal or rhythmic.

        Cheapest first, each step only where the one before left candidates: the
        level (whole recording), Silero at a stride (non-silent stretches outside
        loops), tonality and rhythm (stretches Silero did not call speech), then
        dense Silero at the edges of what is kept. A stretch must last
        ``min_region``, unless it touches a loop: then it is the rest of that
        music (a song whose middle repeats) and any length counts. ``progress`` gets
        the frames done after each non-silent stretch, and all of them at the end.
        """
        cfg = self.config
        rate = cfg.frame_rate
        hop = round(SAMPLE_RATE / rate)
        longest_gap, shortest = int(cfg.gap_fill * rate), int(cfg.min_region * rate)
        candidate = frame_level(audio, sample_rate=SAMPLE_RATE, frame_rate=rate) > cfg.silence_level
        looped = np.zeros(candidate.size + 2 * longest_gap + 2, bool)  # padded: edges need no bounds checks
        for loop in loops:
            i0, i1 = int(loop.start * rate), int(np.ceil(loop.end * rate))
            candidate[i0:i1] = False
            looped[i0 + longest_gap + 1 : i1 + longest_gap + 1] = True

        def stretches(mask: np.ndarray, offset: int, *, max_gap: int) -> list[tuple[int, int]]:
            return [
                (a, b)
                for a, b in runs(mask, max_gap=max_gap, min_length=1)
                if b - a >= shortest
                or looped[offset + a : offset + a + longest_gap + 1].any()
                or looped[offset + b + longest_gap : offset + b + 2 * longest_gap + 1].any()
            ]

        found: list[Region] = []
        for c0, c1 in stretches(candidate, 0, max_gap=longest_gap):
            speech = (
                speech_screen(
                    audio[c0 * hop : c1 * hop],
                    vad=self._vad,
                    stride=cfg.screen_stride,
                    frame_rate=rate,
                    span=cfg.screen_span,
                )
                >= cfg.speech_threshold
            )
            quiet = candidate[c0:c1] & ~speech
            for s0, s1 in stretches(quiet, c0, max_gap=longest_gap):
                piece = audio[(c0 + s0) * hop : (c0 + s1) * hop]
                smooth = max(1, round(cfg.music_window * rate))
                tonal = uniform_filter1d(tonality(piece, frame_rate=rate), smooth, mode="nearest")
                beat = uniform_filter1d(rhythm(piece, frame_rate=rate), smooth, mode="nearest")
                score = np.maximum(tonal / cfg.tonality_threshold, beat / cfg.rhythm_threshold)
                musical = (score >= 1.0) & quiet[s0:s1]
                # gaps are joined (a pause, a weak bar) but never across speech
                for m0, m1 in stretches(musical, c0 + s0, max_gap=longest_gap):
                    for k0, k1 in stretches(~speech[s0 + m0 : s0 + m1], c0 + s0 + m0, max_gap=0):
                        a, b = c0 + s0 + m0 + k0, c0 + s0 + m0 + k1
                        start, end = trim_speech_edges(
                            audio,
                            a / rate,
                            min(b / rate, audio.size / SAMPLE_RATE),
                            vad=self._vad,
                            threshold=cfg.speech_threshold,
                            search=min(cfg.edge_search, (b - a) / rate / 2),
                        )
                        if end - start < min(cfg.min_region, (b - a) / rate) or end <= start:
                            continue
                        strength = float(np.mean(score[m0 + k0 : m0 + k1]))
                        logger.debug("music %.1f-%.1f s, score %.2f", start, end, strength)
                        found.append(
                            Region(
                                start=round(float(start), 3),
                                end=round(float(end), 3),
                                kind="music",
                                confidence=round(min(1.0, strength / 2), 3),
                            )
                        )
            if progress is not None:
                progress(c1)
        if progress is not None:
            progress(candidate.size)
        return found

    def _region(
        self, audio: np.ndarray, features: np.ndarray, i0: int, i1: int, lags: np.ndarray, *, min_lag: int
    ) -> list[Region]:
        """Turn a run of repeating frames ``[i0, i1)`` into regions: period, exact edges, speech cut out."""
        cfg = self.config
        rate = cfg.frame_rate
        period, similarity = region_period(
            features,
            i0,
            i1,
            lags,
            min_lag=min_lag,
            tolerance=_PERIOD_TOLERANCE,
            floor_similarity=cfg.similarity_threshold,
        )
        # The run's edges are blurred by the smoothing; the unsmoothed repeat curve at the
        # period (one frame either side, for a period between frames) places them.
        margin = int(cfg.smoothing * rate) + 1
        lo, hi = max(0, i0 - margin), min(features.shape[0], i1 + margin)
        lag = round(period)
        curve = np.maximum.reduce([repeat_curve(features, lo, hi, lag + d) for d in (-1, 0, 1)])
        good = curve >= cfg.edge_threshold
        inner = np.flatnonzero(good[i0 - lo : i1 - lo])
        if inner.size == 0:
            return []
        a, b = i0 + int(inner[0]), i0 + int(inner[-1]) + 1
        while a > lo and good[a - 1 - lo]:
            a -= 1
        while b < hi and good[b - lo]:
            b += 1
        start, end = trim_speech_edges(
            audio,
            a / rate,
            min(b / rate, audio.size / SAMPLE_RATE),
            vad=self._vad,
            threshold=cfg.speech_threshold,
            search=cfg.edge_search,
            period=period / rate,
        )
        if end - start < cfg.min_region:
            return []
        # Frames inside that do not repeat may be someone talking over the loop: ask Silero.
        dips = [(lo + d0, lo + d1) for d0, d1 in runs(~good, max_gap=0, min_length=1)]
        speech = speech_in_dips(
            audio,
            [(d0 / rate, d1 / rate) for d0, d1 in dips if d0 / rate > start and d1 / rate < end],
            region=(start, end),
            period=period / rate,
            vad=self._vad,
            threshold=cfg.speech_threshold,
        )
        pieces = subtract_intervals((start, end), speech)
        seconds = period / rate
        shortest = cfg.min_region if len(pieces) == 1 else min(cfg.min_region, seconds)
        is_loop = (end - start) / seconds >= cfg.min_loop_repeats
        logger.debug("music %.1f-%.1f s, period %.2f s, similarity %.2f", start, end, seconds, similarity)
        return [
            Region(
                start=round(float(p0), 3),
                end=round(float(p1), 3),
                kind="loop" if is_loop else "music",
                period=round(float(seconds), 3) if is_loop else None,
                repeats=round(float((p1 - p0) / seconds), 2) if is_loop else None,
                confidence=round(float(np.clip(similarity, 0.0, 1.0)), 3),
            )
            for p0, p1 in pieces
            if p1 - p0 >= shortest
        ]


def detect_music(
    audio: np.ndarray,
    *,
    config: HoldMusicConfig,
    sample_rate: int = SAMPLE_RATE,
    progress: ProgressHook | None = None,
) -> tuple[Region, ...]:
    """Find music regions (loops with period and repeats) in a recording.

    Parameters
    ----------
    audio
        Shape ``(samples,)``, float32 mono: the original recording.
    config
        Tuning (``HoldMusicConfig``).
    sample_rate
        Hz.
    progress
        Receives seconds done, up to the audio's length, after each block.

    Returns
    -------
    tuple of Region
        Seconds on ``audio``, in time order, disjoint. Speech over music is not music.
    """
    return MusicDetector(config).detect(audio, sample_rate=sample_rate, progress=progress)
