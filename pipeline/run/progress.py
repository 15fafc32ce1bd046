"""Progress bars per stage on stderr (tqdm), or nothing with ``--quiet``."""

from __future__ import annotations

import sys
from typing import Protocol


class ProgressReporter(Protocol):
    """Receives stage progress in seconds of audio."""

    def start(self, stage: str, total: float) -> None:
        """A stage begins; ``total`` seconds of audio to process."""

    def update(self, done: float) -> None:
        """``done`` seconds processed so far in the current stage."""

    def finish(self) -> None:
        """The current stage ended."""


class SilentProgress:
    """Reports nothing."""

    def start(self, stage: str, total: float) -> None:
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

    def start(self, stage: str, total: float) -> None:
        from tqdm import tqdm

        self.finish()
        self._bar = tqdm(
            total=round(total, 1),
            desc=f"{self.label} {stage:<11}",
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
