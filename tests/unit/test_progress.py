"""Stage progress: the log events of ``--log-format json``, and a diarization pipeline's steps as seconds."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.core.timeline import KeptTimeline
from pipeline.run.cache import StageCache
from pipeline.run.progress import LogProgress, SilentProgress, TqdmProgress, progress_reporter
from pipeline.run.runner import _run_stage
from pipeline.stages.base import ProgressHook, RecordingState, Stage
from pipeline.stages.diarization.step_progress import STEP_SHARES, StepProgress


def progress_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        {key: getattr(r, key) for key in ("stage", "done", "total", "recording")}
        for r in caplog.records
        if getattr(r, "event", None) == "progress"
    ]


def test_log_progress_reports_at_least_every_30_s_of_audio(caplog: pytest.LogCaptureFixture) -> None:
    reporter = LogProgress("talk.wav")
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        reporter.start("diarization", "diarize", 100.0)
        for done in np.arange(0.0, 100.0, 0.5):  # a stage that reports often: throttled
            reporter.update(float(done))
        reporter.finish()
    events = progress_events(caplog)
    assert [e["done"] for e in events] == [0.0, 30.0, 60.0, 90.0, 100.0]
    assert {(e["stage"], e["total"], e["recording"]) for e in events} == {("diarization", 100.0, "talk.wav")}


def test_log_progress_keeps_up_with_a_stage_that_reports_seldom(caplog: pytest.LogCaptureFixture) -> None:
    reporter = LogProgress("talk.wav")
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        reporter.start("hold_music", "hold music", 200.0)
        for done in (45.0, 50.0, 130.0, 250.0):  # past the end: clipped, then finished once
            reporter.update(done)
        reporter.finish()
        reporter.finish()
    assert [e["done"] for e in progress_events(caplog)] == [0.0, 45.0, 130.0, 200.0]


def test_progress_reporter_per_mode() -> None:
    assert isinstance(progress_reporter("off", "x"), SilentProgress)
    assert isinstance(progress_reporter("bars", "x"), TqdmProgress)
    assert isinstance(progress_reporter("log", "x"), LogProgress)


class Walker(Stage[int]):
    """A stage that walks its audio in 10 s blocks, reporting after each."""

    name = "walker"
    needs = ("audio",)
    provides = ()
    progress_label = "walk"

    def cache_key(self) -> dict[str, Any]:
        return {}

    def run(self, state: RecordingState, progress: ProgressHook) -> int:
        blocks = int(state.duration // 10)
        for block in range(1, blocks + 1):
            progress(10.0 * block)
        return blocks

    def apply(self, state: RecordingState, output: int) -> RecordingState:
        return state


def test_the_runner_forwards_a_stages_reports_under_its_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seconds = 95.0
    state = RecordingState(
        Path("x.wav"),
        "ab" * 32,
        seconds,
        np.zeros(int(seconds * 16_000), np.float32),
        KeptTimeline.keep_all(seconds),
    )
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        _run_stage(Walker(), state, StageCache(tmp_path), LogProgress("x.wav"))
    events = progress_events(caplog)
    assert [e["done"] for e in events] == [0.0, 30.0, 60.0, 90.0, 95.0]
    assert {e["stage"] for e in events} == {"walker"}


def test_step_progress_fills_each_steps_share_in_order() -> None:
    heard: list[float] = []
    hook = StepProgress(heard.append, 200.0)
    hook("segmentation", None, total=4, completed=0)
    hook("segmentation", None, total=4, completed=2)
    hook("segmentation", "the segmentations")  # an artifact handed over: no count, no report
    hook("speaker_counting", "count")  # a step without a share (pyannote's own pipelines)
    hook("embeddings", None, total=10, completed=10)
    hook("resegmentation", None, total=3, completed=3)
    assert heard == pytest.approx(
        [
            0.0,
            200.0 * STEP_SHARES["segmentation"][1] / 2,
            200.0 * STEP_SHARES["embeddings"][1],
            200.0,
        ]
    )
    starts_and_ends = [share for step in STEP_SHARES for share in STEP_SHARES[step]]
    assert (
        starts_and_ends == sorted(starts_and_ends)
        and starts_and_ends[0] == 0.0
        and starts_and_ends[-1] == 1.0
    )
