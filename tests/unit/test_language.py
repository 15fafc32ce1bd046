"""Language identification before ASR: the decisions, and the ASR stage's flow with a fake detector."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.core.types import LanguageDetection, ModelIdentity
from pipeline.models.whisper import LoadedWhisper
from pipeline.stages.language import (
    advice,
    language_action,
    mean_language,
    needs_check,
    speech_windows,
)
from pipeline.stages.transcribe import Transcriber
from pipeline.stages.transcribe_settings import AsrConfig


def test_the_check_runs_only_where_the_model_cannot_follow_the_speech() -> None:
    assert needs_check(AsrConfig(model="tiny.en"))
    assert needs_check(AsrConfig(model="base", language="en"))
    assert not needs_check(AsrConfig(model="base"))  # detects by itself
    assert not needs_check(AsrConfig(model="tiny.en", language_check="off"))


def test_another_language_heard_surely_enough_warns_or_switches() -> None:
    warn, switch = AsrConfig(model="tiny.en"), AsrConfig(model="tiny.en", language_check="switch")
    assert language_action(warn, "fr", 0.95) == "warn"
    assert language_action(switch, "fr", 0.95) == "switch"
    assert language_action(warn, "fr", 0.5) == "none"  # not sure: keep quiet
    assert language_action(warn, "en", 0.99) == "none"
    assert language_action(AsrConfig(model="base", language="de"), "en", 0.9) == "warn"
    assert language_action(AsrConfig(model="base", language="de"), "de", 0.9) == "none"


def test_advice_names_the_language_and_the_fix() -> None:
    detection = LanguageDetection("fr", 0.93, 2, "base", "warn")
    text = advice(AsrConfig(model="tiny.en"), detection)
    assert "'fr'" in text and "0.93" in text and "--model base --language fr" in text
    text = advice(AsrConfig(model="small", language="en"), detection)
    assert "--language fr" in text and "--model" not in text


def test_probabilities_are_averaged_over_windows() -> None:
    heard = [[("fr", 0.9), ("en", 0.1)], [("en", 0.6), ("fr", 0.4)], [("fr", 0.8)]]
    language, probability = mean_language(heard)
    assert language == "fr" and probability == pytest.approx(0.7)


def test_speech_windows_take_the_most_speech_in_each_part_without_overlap() -> None:
    frame = 0.1
    speech = np.zeros(3000, bool)  # 300 s
    speech[150:400] = True  # 15-40 s
    speech[1200:1300] = True  # 120-130 s
    speech[2900:2920] = True  # 2 s only: too little for a window
    windows = speech_windows(speech, frame=frame)
    assert windows == [
        (pytest.approx(10.0), pytest.approx(40.0)),
        (pytest.approx(100.0), pytest.approx(130.0)),
    ]
    short = np.ones(100, bool)  # 10 s of speech: one window, the whole audio
    assert np.allclose(speech_windows(short, frame=frame), [(0.0, 10.0)])
    assert speech_windows(np.zeros(0, bool), frame=frame) == []


class _FakeModel:
    """faster-whisper's ``WhisperModel`` as the ASR stage uses it: detect_language and transcribe."""

    def __init__(self, heard: list[tuple[str, float]], name: str) -> None:
        self.heard = heard
        self.name = name
        self.transcribed_in: list[str | None] = []

    def detect_language(self, audio: np.ndarray):  # type: ignore[no-untyped-def]
        return self.heard[0][0], self.heard[0][1], self.heard

    def transcribe(self, audio: np.ndarray, *, language: str | None, **options: object):  # type: ignore[no-untyped-def]
        self.transcribed_in.append(language)
        segment = SimpleNamespace(start=0.0, end=1.0, text=f" said by {self.name}", words=[])
        return iter([segment]), SimpleNamespace(language=language or "fr", language_probability=0.8)


class _AllSpeech:
    def probabilities(self, audio: np.ndarray, *, stride: int = 1) -> np.ndarray:
        return np.ones(audio.size // (512 * stride), np.float32)


def _loaded(model: _FakeModel) -> LoadedWhisper:
    return LoadedWhisper(model, None, "cpu", "int8", ModelIdentity("asr", model.name, "test"))


def _transcriber(config: AsrConfig, asr: _FakeModel, listener: _FakeModel | None) -> Transcriber:
    transcriber = Transcriber.__new__(Transcriber)
    transcriber.config = config
    transcriber.batch_size = config.batch_size
    transcriber.whisper = _loaded(asr)
    transcriber._listener = _loaded(listener) if listener else None
    transcriber._vad = _AllSpeech()  # type: ignore[assignment]
    return transcriber


FRENCH = [("fr", 0.92), ("en", 0.05)]
ENGLISH = [("en", 0.97), ("fr", 0.01)]
TEN_SECONDS = np.zeros(16000 * 10, np.float32)


def test_english_only_model_on_french_warns_and_records_it(caplog: pytest.LogCaptureFixture) -> None:
    asr, listener = _FakeModel(ENGLISH, "tiny.en"), _FakeModel(FRENCH, "base")
    with caplog.at_level(logging.WARNING):
        transcript = _transcriber(AsrConfig(model="tiny.en"), asr, listener).transcribe_kept(TEN_SECONDS)
    assert transcript.detected == LanguageDetection("fr", pytest.approx(0.92), 1, "base", "warn")
    assert transcript.language == "en" and asr.transcribed_in == ["en"]
    assert "sounds like 'fr'" in caplog.text and "--model base --language fr" in caplog.text


def test_switch_transcribes_with_the_multilingual_model_in_the_language_heard() -> None:
    asr, listener = _FakeModel(ENGLISH, "tiny.en"), _FakeModel(FRENCH, "base")
    config = AsrConfig(model="tiny.en", language_check="switch")
    transcript = _transcriber(config, asr, listener).transcribe_kept(TEN_SECONDS)
    assert transcript.language == "fr" and transcript.detected and transcript.detected.action == "switch"
    assert asr.transcribed_in == [] and listener.transcribed_in == ["fr"]
    assert [s.text for s in transcript.segments] == ["said by base"]


def test_english_speech_costs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    asr, listener = _FakeModel(ENGLISH, "tiny.en"), _FakeModel(ENGLISH, "base")
    with caplog.at_level(logging.WARNING):
        transcript = _transcriber(AsrConfig(model="tiny.en"), asr, listener).transcribe_kept(TEN_SECONDS)
    assert transcript.detected and transcript.detected.action == "none" and not caplog.text


def test_a_multilingual_model_with_a_fixed_language_listens_itself() -> None:
    asr = _FakeModel(FRENCH, "base")
    config = AsrConfig(model="base", language="en", language_check="switch")
    transcript = _transcriber(config, asr, None).transcribe_kept(TEN_SECONDS)
    assert transcript.detected == LanguageDetection("fr", pytest.approx(0.92), 1, "base", "switch")
    assert asr.transcribed_in == ["fr"]


def test_a_multilingual_model_left_to_detect_reports_its_own_detection() -> None:
    asr = _FakeModel(ENGLISH, "base")
    transcript = _transcriber(AsrConfig(model="base"), asr, None).transcribe_kept(TEN_SECONDS)
    assert asr.transcribed_in == [None]
    assert transcript.detected == LanguageDetection("fr", 0.8, 0, "base", "none")


def test_the_check_off_hears_nothing() -> None:
    asr = _FakeModel(ENGLISH, "tiny.en")
    transcriber = _transcriber(AsrConfig(model="tiny.en", language_check="off"), asr, None)
    transcriber._vad = None  # would fail if used
    assert transcriber.transcribe_kept(TEN_SECONDS).detected is None
