"""A diarization pipeline's steps as one stage's progress, in seconds of the audio diarized.

pyannote's pipelines report through ``hook(step_name, step_artifact, file=None,
total=None, completed=None)``: segmentation once per batch of windows, embeddings
once per batch; the offline pipeline reports the same way, and its re-embedding of
speech pieces as ``resegmentation``. ``StepProgress`` is such a hook: each step
fills its share of the stage's bar, in order, so the bar moves all through the stage.
"""

from __future__ import annotations

from typing import Any

from pipeline.stages.base import ProgressHook

STEP_SHARES: dict[str, tuple[float, float]] = {
    "segmentation": (0.0, 0.4),
    "embeddings": (0.4, 0.75),
    "resegmentation": (0.75, 1.0),
}
"""Step -> the part of the bar (from, to, fractions) it fills: its part of the offline pipeline's time
(measured on the CPU, 101 s of three conversations: 37 %, 35 %, 25 %; the clustering is the rest)."""


class StepProgress:
    """pyannote's ``hook=`` that reports each step's ``completed / total`` to ``progress``.

    Parameters
    ----------
    progress
        The stage's hook, called with seconds done.
    seconds
        Length of the audio diarized, seconds.
    """

    def __init__(self, progress: ProgressHook, seconds: float) -> None:
        self.progress = progress
        self.seconds = seconds

    def __call__(
        self,
        step_name: str,
        step_artifact: Any,
        file: Any = None,
        total: int | None = None,
        completed: int | None = None,
    ) -> None:
        """Report ``completed`` of ``total`` of ``step_name`` (a call without them hands over an artifact)."""
        share = STEP_SHARES.get(step_name)
        if share is None or not total or completed is None:
            return
        start, end = share
        self.progress(float(self.seconds * (start + (end - start) * min(completed, total) / total)))
