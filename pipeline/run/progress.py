"""Stage progress, in seconds of audio: bars on stderr (tqdm), log events (``--log-format json``), or nothing.

A stage reports through the ``ProgressHook`` the runner hands it (seconds of its
audio done); the runner forwards each report to the recording's ``ProgressReporter``.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, Protocol

logger = logging.getLogger(__name__)

ProgressMode = Literal["off", "bars", "log"]
"""How a run shows progress: not at all, one bar per stage on stderr, or log events."""

LOG_EVERY = 30.0
"""Most seconds of audio between two progress log events of a stage."""


class ProgressReporter(Protocol):
    """Receives stage progress in seconds of audio."""

    def start(self, stage: str, label: str, total: float) -> None:
        """Stage ``stage`` (its name; ``label`` for a bar) begins; ``total`` seconds of audio to process."""

    def update(self, done: float) -> None:
        """``done`` seconds processed so far in the current stage."""

    def finish(self) -> None:
        """The current stage ended."""


def progress_reporter(mode: ProgressMode, recording: str) -> ProgressReporter:
    """The reporter ``mode`` asks for, for the recording named ``recording``."""
    if mode == "bars":
        return TqdmProgress(recording)
    if mode == "log":
        return LogProgress(recording)
    return SilentProgress()


class SilentProgress:
    """Reports nothing."""

    def start(self, stage: str, label: str, total: float) -> None:
        pass

    def update(self, done: float) -> None:
        pass

    def finish(self) -> None:
        pass


class TqdmProgress:
    """One tqdm bar per stage, in seconds of audio."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar = None

    def start(self, stage: str, label: str, total: float) -> None:
        from tqdm import tqdm

        self.finish()
        self._bar = tqdm(
            total=round(total, 1),
            desc=f"{self.label} {label:<11}",
            unit="s",
            file=sys.stderr,
            leave=True,
            dynamic_ncols=True,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}]",
        )

    def update(self, done: float) -> None:
        if self._bar is not None:
            self._bar.n = round(min(done, self._bar.total), 1)
            self._bar.refresh()

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.n = self._bar.total
            self._bar.close()
            self._bar = None


class LogProgress:
    """Progress as INFO log events ``{"event": "progress", "stage", "done", "total", "recording"}``.

    One event when a stage starts (``done`` 0), then one each time the stage passes
    another ``every`` seconds of audio, and one when it ends (``done`` = ``total``):
    a 3 h recording logs about 360 events a stage, whatever the stage's own report rate.
    """

    def __init__(self, recording: str, *, every: float = LOG_EVERY) -> None:
        self.recording = recording
        self.every = every
        self._stage: str | None = None
        self._total = 0.0
        self._next = 0.0

    def start(self, stage: str, label: str, total: float) -> None:
        self.finish()
        self._stage, self._total, self._next = stage, total, 0.0
        self._log(0.0)

    def update(self, done: float) -> None:
        done = min(done, self._total)
        if self._stage is not None and done >= self._next and done < self._total:
            self._log(done)

    def finish(self) -> None:
        if self._stage is not None:
            self._log(self._total)
            self._stage = None

    def _log(self, done: float) -> None:
        self._next = (done // self.every + 1) * self.every
        logger.info(
            "%s: %s %.0f/%.0f s",
            self.recording,
            self._stage,
            done,
            self._total,
            extra={
                "event": "progress",
                "stage": self._stage,
                "done": round(done, 1),
                "total": round(self._total, 1),
                "recording": self.recording,
            },
        )
