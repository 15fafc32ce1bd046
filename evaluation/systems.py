"""The systems compared, each run the way its user would run it (inside a measured child).

- ``ours``: the pipeline with the named config (music stripped per its policy), through the
  same ``Runner`` and ``RunOptions`` as ``speechpipe run``;
- ``keep-music``: the same pipeline with ``hold_music.strip: off`` (``--keep-music``);
- ``plain-whisper``: ``faster_whisper.WhisperModel(...).transcribe(path)`` over the
  whole file with its defaults (no VAD filter, beam 5) plus word timestamps, the
  same model files as the pipeline (``pipeline.models.registry.resolve_model``).

Model loading is timed apart from processing. Each system first processes a short
warm-up clip (when given), so one-off first-call costs (ONNX sessions, allocator
growth) are reported as ``warmup_seconds`` and do not inflate a short recording's
real-time factor. Stage caching is off (``StageCache(None)``): every number is a
fresh computation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.core.types import SpeakerStats, Turn, Word
from pipeline.io.audio import probe
from pipeline.models.device import resolve_ctranslate2_device
from pipeline.models.registry import resolve_model
from pipeline.run.cache import StageCache
from pipeline.run.config import load_config
from pipeline.run.options import RunOptions
from pipeline.run.runner import Runner

logger = logging.getLogger(__name__)

System = Literal["ours", "keep-music", "plain-whisper"]
SYSTEMS: tuple[System, ...] = ("ours", "keep-music", "plain-whisper")


@dataclass(frozen=True)
class SystemOutput:
    """One system's answer for one recording.

    Attributes
    ----------
    name : str
        Reference name.
    system : str
        Which system produced it.
    diarized : bool
        Whether the system says who spoke (plain whisper does not).
    duration : float
        Recording length, seconds.
    seconds : float
        Wall-clock processing time (decode included, model load excluded), seconds.
    cpu_seconds : float
        CPU time of the same span, all threads of the process, seconds: on a machine
        shared with other work it moves far less than wall time.
    timings : dict
        Seconds per stage (the pipeline's ``result.timings``; ``{"asr": ...}`` for plain whisper).
    words : tuple of Word
        Recognised words, seconds on the recording.
    turns : tuple of Turn
        Diarization (overlaps allowed); empty for plain whisper.
    speakers : tuple of SpeakerStats
        Per-speaker metrics; empty for plain whisper.
    stripped : tuple of (float, float)
        Music removed before ASR, seconds.
    """

    name: str
    system: str
    diarized: bool
    duration: float
    seconds: float
    cpu_seconds: float
    timings: dict[str, float]
    words: tuple[Word, ...]
    turns: tuple[Turn, ...]
    speakers: tuple[SpeakerStats, ...]
    stripped: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class SystemRun:
    """One system over a list of recordings, in one process.

    Attributes
    ----------
    system : str
        Which system.
    load_seconds : float
        Model loading, seconds.
    warmup_seconds : float or None
        The warm-up clip's processing, seconds (None: no warm-up).
    outputs : tuple of SystemOutput
        In the order asked.
    """

    system: str
    load_seconds: float
    warmup_seconds: float | None
    outputs: tuple[SystemOutput, ...]


def run_system(
    system: System,
    recordings: Sequence[tuple[str, Path]],
    *,
    config_name: str = "default",
    warmup: Path | None = None,
) -> SystemRun:
    """Run ``system`` on each ``(name, path)``; meant to run inside ``resources.measure``."""
    began = time.perf_counter()
    process = _plain_whisper(config_name) if system == "plain-whisper" else _pipeline(system, config_name)
    load_seconds = time.perf_counter() - began
    warmup_seconds = None
    if warmup is not None:
        began = time.perf_counter()
        process("warm-up", warmup)
        warmup_seconds = time.perf_counter() - began
    outputs = tuple(process(name, path) for name, path in recordings)
    return SystemRun(system, load_seconds, warmup_seconds, outputs)


def _pipeline(system: System, config_name: str) -> Callable[[str, Path], SystemOutput]:
    overrides: dict[str, Any] = {"hold_music.strip": "off"} if system == "keep-music" else {}
    runner = Runner(RunOptions(load_config(config_name, **overrides)))

    def process(name: str, path: Path) -> SystemOutput:
        began, cpu = time.perf_counter(), time.process_time()
        result = runner.analyse(path, cache=StageCache(None))
        return SystemOutput(
            name=name,
            system=system,
            diarized=True,
            duration=result.duration,
            seconds=time.perf_counter() - began,
            cpu_seconds=time.process_time() - cpu,
            timings=dict(result.timings),
            words=result.words,
            turns=result.overlapped_turns or result.turns,
            speakers=result.speakers,
            stripped=tuple((r.start, r.end) for r in result.stripped),
        )

    return process


def _plain_whisper(config_name: str) -> Callable[[str, Path], SystemOutput]:
    from faster_whisper import WhisperModel  # CTranslate2: only in the child process that measures it

    config = load_config(config_name)
    folder, _ = resolve_model(config.asr.model, models_dir=config.models_dir)
    device = resolve_ctranslate2_device(config.asr.device)
    model = WhisperModel(str(folder), device=device, compute_type="float16" if device == "cuda" else "int8")

    def process(name: str, path: Path) -> SystemOutput:
        began, cpu = time.perf_counter(), time.process_time()
        segments, _ = model.transcribe(str(path), word_timestamps=True)
        words = tuple(
            Word(w.start, w.end, w.word.strip(), w.probability) for s in segments for w in s.words or ()
        )
        seconds = time.perf_counter() - began
        return SystemOutput(
            name=name,
            system="plain-whisper",
            diarized=False,
            duration=probe(path).duration,
            seconds=seconds,
            cpu_seconds=time.process_time() - cpu,
            timings={"asr": seconds},
            words=words,
            turns=(),
            speakers=(),
            stripped=(),
        )

    return process
