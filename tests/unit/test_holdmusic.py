"""Hold-music detector on small synthetic recordings with known answers (seeded)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from evaluation.signals import fade, reencode, repeat_loop, synth_loop
from evaluation.sources import announcer_clips, noise_clips, speech_clips
from pipeline.core.types import Region
from pipeline.io.audio import SAMPLE_RATE
from pipeline.stages.holdmusic.detector import MusicDetector, detect_music, runs
from pipeline.stages.holdmusic.settings import HoldMusicConfig

BPM, BARS = 100.0, 4
PERIOD = BARS * 240.0 / BPM  # 9.6 s


@pytest.fixture(scope="module")
def detector() -> MusicDetector:
    return MusicDetector(HoldMusicConfig())


@pytest.fixture(scope="module")
def loop() -> np.ndarray:
    return synth_loop(np.random.default_rng(3), bpm=BPM, bars=BARS)


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> np.ndarray:
    """About a minute of distinct real speech clips at one level (no clip twice: that would loop)."""
    parts, total = [], 0
    for clip in speech_clips(data_dir):
        parts.append(0.05 * clip.audio / (np.sqrt(np.mean(clip.audio**2)) + 1e-9))
        total += clip.audio.size
        if total > 60 * SAMPLE_RATE:
            break
    return np.concatenate(parts).astype(np.float32)


def _noise(samples: int, seed: int = 0) -> np.ndarray:
    """A -60 dBFS noise floor: real recordings are never digital silence."""
    return (1e-3 * np.random.default_rng(seed).standard_normal(samples)).astype(np.float32)


def _check_invariants(regions: tuple[Region, ...], duration: float) -> None:
    for a, b in itertools.pairwise(regions):
        assert a.end <= b.start
    for r in regions:
        assert 0 <= r.start <= r.end <= duration + 1e-6
        assert 0 <= r.confidence <= 1


def test_pure_loop_period_and_repeats(detector: MusicDetector, loop: np.ndarray, speech: np.ndarray) -> None:
    music = 0.05 * repeat_loop(loop, 6)
    audio = np.concatenate([music, _noise(SAMPLE_RATE), speech])
    audio += _noise(audio.size, 1)
    regions = detector.detect(audio)
    _check_invariants(regions, audio.size / SAMPLE_RATE)
    assert len(regions) == 1
    region = regions[0]
    assert region.kind == "loop"
    assert region.period == pytest.approx(PERIOD, abs=0.05)
    assert region.repeats == pytest.approx(6.0, abs=0.3)
    assert region.start == pytest.approx(0.0, abs=0.5)
    assert region.end == pytest.approx(6 * PERIOD, abs=0.8)


def test_speech_only_yields_nothing(detector: MusicDetector, speech: np.ndarray) -> None:
    assert detector.detect(speech + _noise(speech.size)) == ()


def test_speech_over_music_bed_is_kept(detector: MusicDetector, loop: np.ndarray, speech: np.ndarray) -> None:
    bed = repeat_loop(loop, speech.size / loop.size)
    bed *= 0.25 * np.sqrt(np.mean(speech**2)) / np.sqrt(np.mean(bed**2))  # 12 dB under the speech
    assert detector.detect(speech + bed) == ()


def test_loop_cut_mid_way_and_faded(detector: MusicDetector, loop: np.ndarray, speech: np.ndarray) -> None:
    music = 0.05 * fade(repeat_loop(loop, 4.4, phase=0.37), fade_in=2.0, fade_out=3.0)
    half = speech.size // 2
    audio = np.concatenate(
        [speech[:half], _noise(SAMPLE_RATE // 2), music, _noise(SAMPLE_RATE // 2, 2), speech[half:]]
    )
    start = half / SAMPLE_RATE + 0.5
    end = start + music.size / SAMPLE_RATE
    regions = detector.detect(audio)
    assert len(regions) == 1
    assert regions[0].kind == "loop"
    assert regions[0].period == pytest.approx(PERIOD, abs=0.05)
    assert regions[0].start == pytest.approx(start, abs=1.5)
    assert regions[0].end == pytest.approx(end, abs=2.0)
    assert regions[0].start >= half / SAMPLE_RATE - 0.1  # no speech taken
    assert regions[0].end <= end + 0.6


def test_reencoded_mp3_loop(detector: MusicDetector, speech: np.ndarray) -> None:
    other = synth_loop(np.random.default_rng(11), bpm=128.0, bars=8)  # 15 s
    audio = np.concatenate(
        [speech[: 20 * SAMPLE_RATE], 0.05 * repeat_loop(other, 3.5), speech[20 * SAMPLE_RATE :]]
    )
    audio = reencode(audio + _noise(audio.size), "mp3", bitrate=48_000)
    regions = detector.detect(audio)
    assert len(regions) == 1
    assert regions[0].period == pytest.approx(other.size / SAMPLE_RATE, abs=0.05)
    assert regions[0].repeats == pytest.approx(3.5, abs=0.3)


def test_detect_music_function_and_identities(loop: np.ndarray) -> None:
    audio = 0.05 * repeat_loop(loop, 3)
    audio += _noise(audio.size)
    regions = detect_music(audio, config=HoldMusicConfig())
    assert [r.kind for r in regions] == ["loop"]
    identity = MusicDetector(HoldMusicConfig()).identities[0]
    assert identity.role == "vad" and identity.name == "silero-vad" and identity.sha256 is not None
    assert len(identity.sha256) == 64


def test_other_sample_rate(detector: MusicDetector, loop: np.ndarray) -> None:
    audio = 0.05 * repeat_loop(loop, 3)
    at_8k = audio[::2].copy()  # the loop's content is under 4 kHz bar the hi-hat; enough to repeat
    regions = detector.detect(at_8k, sample_rate=8000)
    assert len(regions) == 1 and regions[0].period == pytest.approx(PERIOD, abs=0.1)


def test_progress_per_block_up_to_the_length_without_changing_the_result(
    detector: MusicDetector, loop: np.ndarray, speech: np.ndarray
) -> None:
    audio = np.concatenate([0.05 * repeat_loop(loop, 30), speech, speech[::-1]])  # ~410 s
    audio += _noise(audio.size)
    seconds = audio.size / SAMPLE_RATE
    reports: list[float] = []
    assert detector.detect(audio, progress=reports.append) == detector.detect(audio)
    assert reports == sorted(reports) and reports[-1] == pytest.approx(seconds)
    assert len(reports) >= 3 * int(seconds // 120)  # each walk reports per 120 s block
    walked = [r for r in reports if r <= 2 * seconds / 3]  # features and repetition: every block
    assert max(np.diff([0.0, *walked])) <= 120 / 3 + 1e-6


def test_runs_join_gaps_and_drop_short() -> None:
    mask = np.zeros(40, bool)
    mask[2:10] = mask[12:20] = mask[30:33] = True
    assert runs(mask, max_gap=2, min_length=5) == [(2, 20)]
    assert runs(mask, max_gap=1, min_length=5) == [(2, 10), (12, 20)]
    assert runs(np.zeros(5, bool), max_gap=1, min_length=1) == []


def test_short_utterance_over_loop_is_kept(detector: MusicDetector, loop: np.ndarray, data_dir: Path) -> None:
    clip = speech_clips(data_dir)[0]  # pyannote's sample: its RTTM turns are real speech
    s0, e0 = max(clip.speech, key=lambda iv: iv[1] - iv[0])
    e0 = min(e0, s0 + 2.5)
    utterance = clip.audio[int(s0 * SAMPLE_RATE) : int(e0 * SAMPLE_RATE)]
    audio = 0.05 * repeat_loop(loop, 8)
    at = 40 * SAMPLE_RATE
    audio[at : at + utterance.size] += 0.05 * utterance / np.sqrt(np.mean(utterance**2))
    audio += _noise(audio.size)
    regions = detector.detect(audio)
    assert regions, "the loop around the utterance is still found"
    spoken = (40.0, 40.0 + utterance.size / SAMPLE_RATE)
    taken = sum(max(0.0, min(r.end, spoken[1]) - max(r.start, spoken[0])) for r in regions)
    assert taken < 0.1 * (spoken[1] - spoken[0])


def _announcement(loop: np.ndarray, data: Path) -> np.ndarray:
    """One period of a voiced hold loop: a real spoken sentence over the music."""
    clip = announcer_clips(data)[0].audio  # a voice the speech fixture never plays
    voice = 0.05 * clip[: loop.size - SAMPLE_RATE] / np.sqrt(np.mean(clip**2))
    period = 0.02 * loop.copy()
    period[SAMPLE_RATE // 2 : SAMPLE_RATE // 2 + voice.size] += voice
    return period


def test_voiced_loop_is_stripped_to_its_edges(
    detector: MusicDetector, loop: np.ndarray, speech: np.ndarray, data_dir: Path
) -> None:
    """The loop's own voice repeats one period away: it is hold audio, not live speech to keep."""
    hold = repeat_loop(_announcement(loop, data_dir), 8)
    audio = np.concatenate([hold, speech])
    audio += _noise(audio.size)
    regions = detector.detect(audio)
    assert [r.kind for r in regions] == ["loop"]
    assert regions[0].period == pytest.approx(PERIOD, abs=0.05)
    assert regions[0].start == pytest.approx(0.0, abs=0.5)
    assert regions[0].end == pytest.approx(hold.size / SAMPLE_RATE, abs=0.5)


def test_live_speech_at_a_loop_edge_is_kept(
    detector: MusicDetector, loop: np.ndarray, speech: np.ndarray, data_dir: Path
) -> None:
    """The host starts talking over the last seconds of the loop: the region ends before the voice."""
    music = 0.05 * repeat_loop(loop, 6)
    voice = speech[int(speech_clips(data_dir)[0].speech[0][0] * SAMPLE_RATE) :]  # from the first spoken word
    first_voice = music.size / SAMPLE_RATE - 3.0
    audio = np.concatenate([music, np.zeros(voice.size - 3 * SAMPLE_RATE, np.float32)])
    audio[music.size - 3 * SAMPLE_RATE :] += voice
    audio += _noise(audio.size)
    regions = detector.detect(audio)
    assert regions and regions[0].kind == "loop"
    assert regions[0].start == pytest.approx(0.0, abs=0.5)
    assert first_voice - 3.0 < regions[0].end <= first_voice


@pytest.fixture(scope="module")
def piece() -> np.ndarray:
    """40 s of synthesized music with new notes every bar: nothing in it repeats."""
    return synth_loop(np.random.default_rng(5), bpm=96.0, bars=16)


def test_non_repeating_music_is_found_as_music(
    detector: MusicDetector, piece: np.ndarray, speech: np.ndarray
) -> None:
    music = 0.05 * fade(piece, fade_in=1.0, fade_out=2.0)
    head = speech[: 15 * SAMPLE_RATE]
    audio = np.concatenate([head, _noise(SAMPLE_RATE // 2), music, _noise(SAMPLE_RATE // 2, 2), head[::-1]])
    audio += _noise(audio.size, 3)
    start = head.size / SAMPLE_RATE + 0.5
    end = start + music.size / SAMPLE_RATE
    regions = detector.detect(audio)
    _check_invariants(regions, audio.size / SAMPLE_RATE)
    assert [r.kind for r in regions] == ["music"]
    assert regions[0].period is None and regions[0].repeats is None
    assert regions[0].start == pytest.approx(start, abs=2.0)
    assert regions[0].end == pytest.approx(end, abs=3.0)
    assert regions[0].start >= start - 0.6 and regions[0].end <= end + 0.6  # no speech taken


def test_noise_is_not_music(detector: MusicDetector, data_dir: Path) -> None:
    clips = noise_clips(data_dir, extra=True)
    if not clips:
        pytest.skip("no real noise clips under ../shared/data/noise")
    audio = np.concatenate([0.05 * c.audio / np.sqrt(np.mean(c.audio**2)) for c in clips]).astype(np.float32)
    assert detector.detect(audio + _noise(audio.size)) == ()


def test_speech_over_non_repeating_bed_is_kept(
    detector: MusicDetector, piece: np.ndarray, speech: np.ndarray
) -> None:
    voice = speech[: piece.size]
    bed = piece[: voice.size] * (0.25 * np.sqrt(np.mean(voice**2)) / np.sqrt(np.mean(piece**2)))
    assert detector.detect(voice + bed + _noise(voice.size)) == ()
