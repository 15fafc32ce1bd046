"""Shared fixtures: real audio locations and small signal writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
VOICE_BANK = REPO / "bench" / "voices"


def pyannote_sample_dir() -> Path:
    """Folder of pyannote.audio's bundled sample (sample.wav, .rttm, .stm), without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


@pytest.fixture(scope="session")
def sample_wav() -> Path:
    """pyannote's 30 s two-speaker telephone sample (16 kHz)."""
    return pyannote_sample_dir() / "sample.wav"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-audio folder beside the checkout, present or not: the generators skip what is absent."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def voice_bank() -> Path:
    """The LibriSpeech voice bank of the quiet-host interviews (``bench/voices``)."""
    return VOICE_BANK


@pytest.fixture(scope="session")
def derived_references() -> Path:
    """The derived RTTMs of the real conversations (``bench/references``)."""
    return REPO / "bench" / "references"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-audio folder beside the checkout; tests using it skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture
def write_wav(tmp_path: Path):
    """Write a float signal to a WAV in tmp_path: ``write_wav(name, signal, sr, subtype="PCM_16")``."""

    def write(name: str, signal: np.ndarray, sample_rate: int = 16_000, subtype: str = "PCM_16") -> Path:
        path = tmp_path / name
        sf.write(path, signal, sample_rate, subtype=subtype)
        return path

    return write


def build_hand_result(host: str = "Host", guest: str = "Guest", caller: str = "Caller"):
    """A 5-minute call by hand: 2 min of hold loop, a host monologue with murmurs, an interruption.

    Speaker names are parameters so tests can slip hostile text into them.
    """
    from pipeline.core.types import RecordingResult, Region, Segment, Turn, Word
    from pipeline.stages.metrics.conversation import compute_metrics
    from pipeline.stages.metrics.settings import MetricsConfig

    script = [  # (speaker, start, end, text); words spread evenly over the span
        (host, 121.0, 130.0, "Welcome everyone, thanks for waiting. Can you hear me?"),
        (guest, 130.4, 133.0, "Yes, loud and clear."),
        (host, 133.5, 175.0, "Today we talk about the budget and why it keeps growing every single year."),
        (host, 175.0, 215.0, "The plan is simple: spend less on travel, more on people, and report monthly."),
        (guest, 150.0, 150.6, "Mm-hmm."),
        (guest, 180.0, 180.8, "Right."),
        (caller, 200.0, 201.0, "Sorry what"),
        (guest, 214.0, 240.0, "I have to stop you there. The numbers do not add up at all."),
        (host, 241.0, 250.0, "Fair point. What would you change?"),
        (caller, 251.0, 275.0, "I would cut the travel budget first, um, and then look at salaries."),
        (host, 276.0, 290.0, "Thank you all. That is all for today."),
    ]
    segments, overlapped = [], []
    for speaker, start, end, text in script:
        parts = text.split()
        step = (end - start) / len(parts)
        words = tuple(
            Word(start + i * step, start + (i + 1) * step, " " + w, 0.9, speaker) for i, w in enumerate(parts)
        )
        segments.append(Segment(start, end, text, words, speaker))
        overlapped.append(Turn(start, end, speaker))
    segments.sort(key=lambda s: s.start)
    overlapped.sort(key=lambda t: t.start)
    loop = Region(0.0, 120.0, "loop", period=30.0, repeats=4.0, confidence=0.95)
    config = MetricsConfig()
    speakers, conversation, floor_turns = compute_metrics(
        duration=300.0, turns=tuple(overlapped), overlapped_turns=tuple(overlapped),
        segments=tuple(segments), hold_music=(loop,), config=config,
    )  # fmt: skip
    return RecordingResult(
        source="calls/weekly call.wav",
        duration=300.0,
        content_sha256="0" * 64,
        music=(loop,),
        stripped=(loop,),
        segments=tuple(segments),
        turns=tuple(overlapped),
        overlapped_turns=tuple(overlapped),
        speakers=speakers,
        conversation=conversation,
        language="en",
        floor_turns=floor_turns,
        config={"metrics": config.model_dump(mode="json")},
    )


@pytest.fixture
def hand_built_result():
    """``build_hand_result()``: a RecordingResult built by hand, metrics computed."""
    return build_hand_result()
