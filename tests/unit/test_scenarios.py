"""Ground-truth invariants of the seeded scenario generator."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from evaluation.music_parts import make_piece
from evaluation.scenarios import Scenario, make_scenario, scenario_set
from evaluation.signals import fade, merge_intervals, reencode, repeat_loop, synth_loop
from pipeline.io.audio import SAMPLE_RATE


@pytest.fixture(scope="module")
def scenarios(data_dir: Path) -> list[Scenario]:
    return scenario_set(data_dir, 5, per_placement=1, max_music=60.0)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_same_seed_same_recordings(data_dir: Path) -> None:
    one, two = (
        make_scenario(
            np.random.default_rng(7), "middle", data=data_dir, name="x", cut=True, faded=True, max_music=40.0
        )
        for _ in range(2)
    )
    assert np.array_equal(one.audio, two.audio)
    assert one.music == two.music and one.speech == two.speech


def test_every_placement_and_variation_is_covered(scenarios: list[Scenario]) -> None:
    names = {s.name.rsplit("-", 1)[0] for s in scenarios}
    assert names == {
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
    }
    assert not next(s for s in scenarios if s.name.startswith("speech_only")).music
    assert not next(s for s in scenarios if s.name.startswith("noise_only")).music
    assert any(m.speech_over for s in scenarios for m in s.music)


def test_voiced_loop_is_strippable_and_not_reference_speech(scenarios: list[Scenario]) -> None:
    voiced = next(s for s in scenarios if s.name.startswith("voiced_start"))
    (loop,) = voiced.music
    assert loop.kind == "loop" and not loop.speech_over and "+voice:" in loop.source
    assert loop.start == 0.0 and loop.repeats is not None and loop.repeats >= 2
    assert all(start >= loop.end for start, _ in voiced.speech), "the announcement is not conversation"


def test_music_played_once_is_kind_music(scenarios: list[Scenario]) -> None:
    for s in scenarios:
        if not s.name.startswith("music_"):
            continue
        pieces = [m for m in s.music if m.kind == "music"]
        assert pieces, s.name
        assert all(m.period is None and m.repeats is None for m in pieces)
        assert any(not m.speech_over and m.end - m.start >= 20.0 for m in pieces)
        if s.name.startswith("music_bed"):
            assert any(m.speech_over for m in pieces)


def test_synthesized_piece_never_repeats(data_dir: Path) -> None:
    rng = np.random.default_rng(2)
    piece, source = make_piece(rng, real=False, data=data_dir, min_seconds=60.0, max_seconds=70.0)
    assert source.startswith("synth-piece") and 60.0 <= piece.size / SAMPLE_RATE <= 70.0
    bar = 4 * SAMPLE_RATE  # compare 4 s stretches a whole number of seconds apart: none is a copy
    for lag in range(1, 40):
        a, b = piece[:bar], piece[lag * SAMPLE_RATE : lag * SAMPLE_RATE + bar]
        assert np.corrcoef(a, b)[0, 1] < 0.9


def test_ground_truth_invariants(scenarios: list[Scenario]) -> None:
    for s in scenarios:
        assert s.audio.dtype == np.float32 and s.audio.ndim == 1
        assert np.all(np.isfinite(s.audio))
        assert s.speech == merge_intervals(s.speech)
        assert all(0 <= a < b <= s.duration + 1e-6 for a, b in s.speech)
        music = sorted(s.music, key=lambda m: m.start)
        for a, b in itertools.pairwise(music):
            assert a.end <= b.start
        for m in music:
            assert 0 <= m.start < m.end <= s.duration + 1e-6
            if m.kind == "loop":
                assert m.period is not None and m.repeats is not None
                assert 2.0 <= m.repeats <= 40.0 or m.speech_over
                assert m.period * m.repeats == pytest.approx(m.end - m.start, abs=2 / SAMPLE_RATE)
            overlap = sum(_overlap((m.start, m.end), sp) for sp in s.speech)
            if m.speech_over:
                assert overlap > 0.5 * (m.end - m.start)
            else:
                assert overlap == 0.0  # strippable music never hides reference speech
        assert s.strippable == tuple(m for m in s.music if not m.speech_over)


def test_music_is_loud_enough_to_hear(scenarios: list[Scenario]) -> None:
    for s in scenarios:
        for m in s.strippable:
            part = s.audio[int(m.start * SAMPLE_RATE) : int(m.end * SAMPLE_RATE)]
            assert np.sqrt(np.mean(part**2)) > 10 ** (-45 / 20)


def test_repeat_loop_is_fractional_and_periodic() -> None:
    loop = synth_loop(np.random.default_rng(0), bpm=120.0, bars=1)  # 2 s
    played = repeat_loop(loop, 2.5, phase=0.25)
    assert played.size == round(2.5 * loop.size)
    assert np.array_equal(played[: loop.size], played[loop.size : 2 * loop.size])
    assert np.array_equal(played[: loop.size // 4], loop[loop.size // 4 : loop.size // 2])


def test_fade_starts_and_ends_silent() -> None:
    faded = fade(np.ones(SAMPLE_RATE * 4, np.float32), fade_in=1.0, fade_out=2.0)
    assert faded[0] == 0 and faded[-1] == 0 and faded[2 * SAMPLE_RATE] == 1
    assert faded[SAMPLE_RATE // 2] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("codec", ["mp3", "aac"])
def test_reencode_keeps_length_and_alignment(codec: str) -> None:
    x = synth_loop(np.random.default_rng(1), bpm=110.0, bars=2)
    y = reencode(x, codec, bitrate=64_000)  # type: ignore[arg-type]
    assert y.shape == x.shape
    core = slice(SAMPLE_RATE, x.size - SAMPLE_RATE)
    assert np.corrcoef(x[core], y[core])[0, 1] > 0.9
