"""Device selection, the out-of-memory retry at half batch size, and long-audio windows."""

from __future__ import annotations

import itertools
import logging
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from pipeline.core.errors import ConfigError
from pipeline.models import whisper as whisper_module
from pipeline.models.device import (
    is_out_of_memory,
    resolve_ctranslate2_device,
    resolve_torch_device,
    run_halving_batch,
)
from pipeline.models.whisper import LoadedWhisper, load_whisper
from pipeline.stages.transcribe import Transcriber, window_bounds
from pipeline.stages.transcribe_settings import AsrConfig

CT2_OOM = "CUDA failed with error out of memory"
TORCH_OOM = "CUDA out of memory. Tried to allocate 20.00 MiB"


@pytest.fixture
def fake_ctranslate2(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = ModuleType("ctranslate2")
    module.get_cuda_device_count = lambda: 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ctranslate2", module)
    return module


@pytest.mark.parametrize(
    ("gpus", "requested", "expected"),
    [
        (0, "auto", "cpu"),
        (1, "auto", "cuda"),
        (1, "cpu", "cpu"),
        (0, "cpu", "cpu"),
        (1, "cuda", "cuda"),
    ],
)
def test_ctranslate2_device(fake_ctranslate2: ModuleType, gpus: int, requested: str, expected: str) -> None:
    fake_ctranslate2.get_cuda_device_count = lambda: gpus  # type: ignore[attr-defined]
    assert resolve_ctranslate2_device(requested) == expected


def test_cuda_without_a_gpu_is_a_config_error_naming_the_fix(fake_ctranslate2: ModuleType) -> None:
    message = r"device cuda: CTranslate2 \(faster-whisper\) sees no CUDA GPU; use --device cpu"
    with pytest.raises(ConfigError, match=message):
        resolve_ctranslate2_device("cuda")


@pytest.mark.parametrize(
    ("available", "requested", "expected"),
    [
        (False, "auto", "cpu"),
        (True, "auto", "cuda"),
        (True, "cpu", "cpu"),
        (True, "cuda", "cuda"),
    ],
)
def test_torch_device(
    monkeypatch: pytest.MonkeyPatch, available: bool, requested: str, expected: str
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert resolve_torch_device(requested) == expected


def test_torch_cuda_without_a_gpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="torch"):
        resolve_torch_device("cuda")


def test_out_of_memory_is_recognised_from_both_libraries() -> None:
    assert is_out_of_memory(RuntimeError(CT2_OOM))
    assert is_out_of_memory(RuntimeError(TORCH_OOM))
    assert not is_out_of_memory(RuntimeError("Library libcublas.so.12 is not found or cannot be loaded"))
    assert not is_out_of_memory(ValueError("out of memory"))  # only runtime errors come from the GPU


def test_halving_retry_logs_each_step_and_returns_the_batch_that_worked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tried: list[int] = []
    retries: list[int] = []

    def work(batch: int) -> str:
        tried.append(batch)
        if batch > 4:
            raise RuntimeError(CT2_OOM)
        return f"done at {batch}"

    with caplog.at_level(logging.WARNING, logger="pipeline.models.device"):
        result = run_halving_batch(work, 16, what="ASR window", on_retry=lambda: retries.append(1))

    assert result == ("done at 4", 4)
    assert tried == [16, 8, 4]
    assert len(retries) == 2
    assert "ASR window: GPU out of memory at batch size 16; retrying at 8" in caplog.text
    assert "at batch size 8; retrying at 4" in caplog.text


def test_halving_gives_up_at_batch_one_and_passes_other_errors() -> None:
    def always_oom(batch: int) -> None:
        raise RuntimeError(TORCH_OOM)

    with pytest.raises(RuntimeError, match="out of memory"):
        run_halving_batch(always_oom, 3, what="x")

    calls: list[int] = []

    def broken(batch: int) -> None:
        calls.append(batch)
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_halving_batch(broken, 8, what="x")
    assert calls == [8]  # not retried


# --- the transcriber's retry, with a fake batched pipeline -----------------------------------


class _FakeBatched:
    """Runs out of memory (lazily, while decoding, as CTranslate2 does) above ``fits`` items."""

    def __init__(self, fits: int) -> None:
        self.fits = fits
        self.batch_sizes: list[int] = []

    def transcribe(self, audio: np.ndarray, *, batch_size: int, **options: object):  # type: ignore[no-untyped-def]
        self.batch_sizes.append(batch_size)

        def segments():  # type: ignore[no-untyped-def]
            yield SimpleNamespace(start=0.0, end=1.0, text=" partial", words=[])
            if batch_size > self.fits:
                raise RuntimeError(CT2_OOM)
            yield SimpleNamespace(
                start=1.0,
                end=2.0,
                text=" hello",
                words=[SimpleNamespace(start=1.2, end=1.6, word=" hello", probability=0.9)],
            )

        return segments(), SimpleNamespace(language="en")


def _transcriber(batched: _FakeBatched, **config: object) -> Transcriber:
    transcriber = Transcriber.__new__(Transcriber)
    transcriber.config = AsrConfig(model="tiny.en", batch_size=16, language_check="off", **config)  # type: ignore[arg-type]
    transcriber.batch_size = transcriber.config.batch_size
    transcriber.whisper = LoadedWhisper(None, batched, "cpu", "int8", None)  # type: ignore[arg-type]
    return transcriber


def test_transcriber_retries_a_window_at_half_batch_and_drops_its_partial_output(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batched = _FakeBatched(fits=4)
    transcriber = _transcriber(batched)
    with caplog.at_level(logging.WARNING):
        transcript = transcriber.transcribe_kept(np.zeros(16000 * 5, np.float32))

    assert batched.batch_sizes == [16, 8, 4]
    assert [s.text for s in transcript.segments] == ["partial", "hello"]  # once each: the run that fit
    assert transcriber.batch_size == 4  # the next recording starts at the size that fit
    assert "GPU out of memory at batch size 16; retrying at 8" in caplog.text


def test_long_audio_is_transcribed_in_windows_on_one_timeline() -> None:
    batched = _FakeBatched(fits=64)
    transcriber = _transcriber(batched, window=60.0)
    audio = np.random.default_rng(0).normal(0, 0.1, 16000 * 150).astype(np.float32)
    transcript = transcriber.transcribe_kept(audio)

    windows = window_bounds(audio, sample_rate=16000, window=60.0)
    assert len(windows) == 3 and len(batched.batch_sizes) == 3
    offsets = [start / 16000 for start, _ in windows]
    assert [s.start for s in transcript.segments] == [o + t for o in offsets for t in (0.0, 1.0)]
    words = [w for s in transcript.segments for w in s.words]
    assert [w.start for w in words] == pytest.approx([o + 1.2 for o in offsets])


def test_times_past_the_end_of_the_audio_are_clipped_to_it() -> None:
    """Batched decoding can time the last words past the audio's end (seen on real audio)."""
    transcript = _transcriber(_FakeBatched(fits=64)).transcribe_kept(np.zeros(16000 * 3 // 2, np.float32))
    last = transcript.segments[-1]
    assert (last.start, last.end) == (1.0, 1.5)
    assert (last.words[0].start, last.words[0].end) == (1.2, 1.5)


def test_windows_cut_at_the_quietest_moment_and_cover_everything() -> None:
    rate = 1000
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.5, rate * 250).astype(np.float32)
    audio[rate * 85 : rate * 86] = 0.0  # the quiet second inside the first window's search span
    bounds = window_bounds(audio, sample_rate=rate, window=100.0, search=30.0)

    assert bounds[0][0] == 0 and bounds[-1][1] == audio.size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert all(end - start <= 100 * rate for start, end in bounds)
    assert rate * 85 <= bounds[0][1] <= rate * 86
    assert window_bounds(audio[: rate * 100], sample_rate=rate, window=100.0) == [(0, rate * 100)]


def test_cuda_that_cannot_load_its_libraries_falls_back_on_auto(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    loads: list[str] = []

    def load(config: AsrConfig, path: Path, device: str, identity: object) -> LoadedWhisper:
        loads.append(device)
        if device == "cuda":
            raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")
        return LoadedWhisper(None, None, "cpu", "int8", identity)  # type: ignore[arg-type]

    monkeypatch.setattr(whisper_module, "resolve_model", lambda name, models_dir: (tmp_path, None))
    monkeypatch.setattr(whisper_module, "resolve_ctranslate2_device", lambda requested: "cuda")
    monkeypatch.setattr(whisper_module, "preload_cuda_libraries", lambda: None)
    monkeypatch.setattr(whisper_module, "_load", load)
    with caplog.at_level(logging.WARNING):
        transcriber = Transcriber(AsrConfig(device="auto"), models_dir=tmp_path)
    assert loads == ["cuda", "cpu"] and transcriber.device == "cpu"
    assert "libcublas.so.12" in caplog.text and "falling back to the CPU" in caplog.text

    with pytest.raises(ConfigError, match=r"asr\.device cuda: .*libcublas\.so\.12.*--device cpu"):
        load_whisper(AsrConfig(device="cuda"), models_dir=tmp_path)
