"""Conversations of real voices: seeded, exact turns, overlaps, telephone band, the interview's host share."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import SHARED_DATA

from evaluation.conversations import CALL_PAIRS, conversation_references, long_talk, phone_call, phone_calls
from evaluation.interview import Interview, interview
from evaluation.mixing import overlap_seconds
from evaluation.references import Reference
from evaluation.sources import pyannote_sample_path
from evaluation.telephone import mulaw_decode, mulaw_encode, telephone
from evaluation.voices import load_voice, speech_runs
from pipeline.io.audio import SAMPLE_RATE

needs_voices = pytest.mark.skipif(
    not (SHARED_DATA / "singlespeaker").is_dir(), reason="../shared/data/singlespeaker absent"
)
needs_interview = pytest.mark.skipif(
    not (SHARED_DATA / "singlespeaker").is_dir() or pyannote_sample_path() is None,
    reason="../shared/data or pyannote.audio's sample absent",
)


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> list[Reference]:
    return phone_calls(tmp_path_factory.mktemp("calls"), shared_data=data_dir, count=4)


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Interview:
    return interview(tmp_path_factory.mktemp("interview"), shared_data=data_dir, minutes=2.0)


def _assert_turns_inside(reference: Reference) -> None:
    info = sf.info(str(reference.path))
    assert info.samplerate == SAMPLE_RATE
    assert info.frames == round(reference.duration * SAMPLE_RATE)
    for turn in reference.turns:
        assert 0.0 <= turn.start < turn.end <= reference.duration


def _share_above(path: Path, hz: float) -> float:
    """Fraction of the file's energy above ``hz``."""
    audio, rate = sf.read(str(path), dtype="float64")
    power = np.abs(np.fft.rfft(audio)) ** 2
    return float(power[np.fft.rfftfreq(audio.size, 1 / rate) > hz].sum() / power.sum())


# --------------------------------------------------------------------------- pure parts


def test_mulaw_round_trip_error_is_small() -> None:
    x = np.linspace(-1.0, 1.0, 200_001)
    error = np.abs(mulaw_decode(mulaw_encode(x)) - x)
    loud = np.abs(x) > 0.01
    # 4 mantissa bits: at most about half a step, 1/32 of the magnitude (plus the bias near 0).
    assert np.max(error[loud] / np.abs(x[loud])) < 0.06
    assert np.max(error[~loud]) < 4e-4
    codes = mulaw_encode(x)
    assert codes.dtype == np.uint8 and np.unique(codes).size == 255  # every code but "-0" (0x7F)
    every = np.arange(256, dtype=np.uint8)
    again = mulaw_encode(mulaw_decode(every))
    # Each code decodes to a level that codes back to it; 0x7F is "-0" and comes back as +0 (0xFF).
    assert np.array_equal(again[every != 0x7F], every[every != 0x7F]) and again[0x7F] == 0xFF


def test_mulaw_decode_matches_ffmpeg() -> None:
    av = pytest.importorskip("av")
    import io

    codes = np.arange(256, dtype=np.uint8)
    with av.open(io.BytesIO(codes.tobytes()), "r", format="mulaw", options={"sample_rate": "8000"}) as inp:
        ffmpeg = np.concatenate([f.to_ndarray().reshape(-1) for f in inp.decode(audio=0)])
    assert np.array_equal(ffmpeg.astype(np.float64) / 32768.0, mulaw_decode(codes).astype(np.float64))


def test_telephone_keeps_the_band_and_the_timing() -> None:
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    burst = (np.abs(t - 1.0) < 0.25).astype(np.float64)
    inside = 0.3 * np.sin(2 * np.pi * 1000 * t) * burst
    above = 0.3 * np.sin(2 * np.pi * 5000 * t) * burst
    out_inside, out_above = telephone(inside), telephone(above)
    assert out_inside.shape == inside.shape and out_inside.dtype == np.float32
    assert np.std(out_above) < 0.01 * np.std(above)  # nothing above 4 kHz survives
    assert 0.8 < np.std(out_inside) / np.std(inside) < 1.2
    lags = np.arange(-20, 21)
    corr = [np.dot(inside[100:-100], np.roll(out_inside, -lag)[100:-100]) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0  # zero-phase band-pass, centred resampling


def test_speech_runs_find_bursts() -> None:
    rng = np.random.default_rng(0)
    voice = rng.standard_normal(4 * SAMPLE_RATE) * 1e-4
    for start, end in ((0.5, 1.5), (1.6, 2.0), (3.0, 3.1)):  # a 0.1 s pause, then a click
        a, b = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
        voice[a:b] += rng.standard_normal(b - a)
    runs = speech_runs(voice, min_pause=0.35, min_speech=0.5)
    assert len(runs) == 1
    start, end = runs[0]
    assert abs(start / SAMPLE_RATE - 0.46) < 0.03 and abs(end / SAMPLE_RATE - 2.04) < 0.03


def test_absent_shared_data_gives_nothing(tmp_path: Path) -> None:
    assert phone_calls(tmp_path, shared_data=tmp_path / "absent") == []
    assert load_voice("jfk", tmp_path / "absent") is None
    assert conversation_references(shared_data=tmp_path / "absent", references_dir=tmp_path) == []


# --------------------------------------------------------------------------- calls


@needs_voices
def test_calls_pair_distinct_voices_in_both_bands(calls: list[Reference]) -> None:
    assert [c.name for c in calls] == ["call-0-wideband", "call-1-phone", "call-2-wideband", "call-3-phone"]
    assert {c.kind for c in calls} == {"call"}
    pairs = set()
    for call, pair in zip(calls, CALL_PAIRS, strict=False):
        assert {t.speaker for t in call.turns} == set(pair)
        assert {f"voice:{v}" for v in pair} <= set(call.tags)
        pairs.add(frozenset(pair))
        assert 45.0 <= call.duration <= 90.0
    assert len(pairs) == len(calls)


@needs_voices
def test_call_turns_are_inside_the_audio(calls: list[Reference]) -> None:
    for call in calls:
        _assert_turns_inside(call)
        for speaker in {t.speaker for t in call.turns}:  # nobody overlaps themself
            own = sorted((t.start, t.end) for t in call.turns if t.speaker == speaker)
            assert all(b <= c for (_, b), (c, _) in itertools.pairwise(own))
        assert call.speech[0][0] == min(t.start for t in call.turns)


@needs_voices
def test_calls_overlap_and_have_backchannels(calls: list[Reference]) -> None:
    for call in calls:
        assert overlap_seconds(call.turns) > 0.3
        assert any(t.duration < 1.0 for t in call.turns)


@needs_voices
def test_calls_are_deterministic(tmp_path: Path, data_dir: Path) -> None:
    # Call 3 is a phone call, through AMR when available.
    first, second = (phone_call(3, tmp_path / d, shared_data=data_dir) for d in "ab")
    assert first is not None and second is not None
    assert first.turns == second.turns
    assert first.path.read_bytes() == second.path.read_bytes()
    other = phone_call(3, tmp_path / "c", shared_data=data_dir, seed=1)
    assert other is not None and other.turns != first.turns


@needs_voices
def test_phone_calls_are_band_limited(calls: list[Reference]) -> None:
    for call in calls:
        above = _share_above(call.path, 4000.0)
        if "phone" in call.tags:
            assert above < 1e-3
            assert "g711-mulaw" in call.tags
        else:
            assert above > 1e-3


# --------------------------------------------------------------------------- interview


@needs_interview
def test_interview_host_share_and_backchannels(talk: Interview) -> None:
    assert 0.03 <= talk.host_share <= 0.06
    assert talk.host != talk.guest
    assert talk.backchannels and all(b - a < 1.0 for a, b in talk.backchannels)
    assert talk.questions and all(1.0 <= b - a <= 3.0 for a, b in talk.questions)
    overlaps = [sum(max(0.0, min(b, d) - max(a, c)) for c, d in talk.monologue) for a, b in talk.backchannels]
    assert max(overlaps) <= 0.5 + 1e-9
    assert any(o > 0 for o in overlaps) and any(o == 0 for o in overlaps)
    for a, b in talk.questions:  # questions sit in the guest's pauses
        assert all(d <= a or b <= c for c, d in talk.monologue)


@needs_interview
def test_interview_turns_match_its_parts(talk: Interview) -> None:
    reference = talk.reference
    _assert_turns_inside(reference)
    assert reference.kind == "interview"
    guest = sorted((t.start, t.end) for t in reference.turns if t.speaker == talk.guest)
    host = sorted((t.start, t.end) for t in reference.turns if t.speaker == talk.host)
    for turns, parts in ((guest, talk.monologue), (host, talk.questions + talk.backchannels)):
        # each part's speech split at its pauses of 0.3 s or more: each turn in one part, each part heard
        inside = [[a <= s and e <= b for a, b in parts] for s, e in turns]
        assert all(sum(row) == 1 for row in inside)
        assert all(any(row[i] for row in inside) for i in range(len(parts)))
        for a, b in parts:
            within = [(s, e) for s, e in turns if a <= s and e <= b]
            gaps = [y[0] - x[1] for x, y in itertools.pairwise(within)]
            assert all(g >= 0.3 - 0.1 for g in gaps)  # 0.04 s of pad either side of a pause
    assert 115.0 < reference.duration < 130.0


@needs_interview
def test_interview_is_deterministic(tmp_path: Path, talk: Interview, data_dir: Path) -> None:
    again = interview(tmp_path, shared_data=data_dir, minutes=2.0)
    assert again.reference.turns == talk.reference.turns
    assert again.reference.path.read_bytes() == talk.reference.path.read_bytes()


# --------------------------------------------------------------------------- real conversations


@pytest.mark.skipif(
    not (SHARED_DATA / "conversations").is_dir(), reason="../shared/data/conversations absent"
)
def test_conversation_references(data_dir: Path, derived_references: Path) -> None:
    found = conversation_references(shared_data=data_dir, references_dir=derived_references)
    references = {r.name: r for r in found}
    assert set(references) == {"real:azure_katiesteve", "real:pca_auto0_call_8k"}
    katie = references["real:azure_katiesteve"]
    assert katie.turns[0].speaker == "katie"
    assert {t.speaker for t in katie.turns} == {"katie", "steve"}
    call = references["real:pca_auto0_call_8k"]
    assert call.turns[0].speaker == "travis"
    assert {t.speaker for t in call.turns} == {"travis", "violet"}
    for reference in references.values():
        assert reference.kind == "real"
        assert all(0.0 <= t.start < t.end <= reference.duration for t in reference.turns)


@needs_voices
def test_long_talk_is_hold_music_then_two_voices_that_never_loop(tmp_path: Path, data_dir: Path) -> None:
    talk = long_talk(tmp_path, talk_minutes=1.0, hold_minutes=0.5, shared_data=data_dir)
    if talk is None:
        pytest.skip("the lounge hold track is not in ../shared/data/music")
    assert talk.music == ((0.0, 30.0),)
    assert min(t.start for t in talk.turns) >= 30.0
    assert len({t.speaker for t in talk.turns}) == 2
    audio, rate = sf.read(talk.path, dtype="float32")
    assert rate == SAMPLE_RATE and talk.duration == pytest.approx(audio.size / rate)
    # No two sentences of a speaker are the same audio (collages, not reused clips).
    lengths = [round((t.end - t.start) * 100) for t in talk.turns if t.end - t.start > 1.0]
    assert len(set(lengths)) > 0.8 * len(lengths)
