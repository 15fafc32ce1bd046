"""The hold-music stages: find music on the whole recording, then strip what the policy says.

``HoldMusicStage`` runs the detector (``detector.py``) on the original audio and is
cached; ``StripStage`` removes the regions ``hold_music.strip`` names and leaves
only the kept audio in the state, so ASR and diarization never see the music and
the whole recording is freed (with 45 minutes of hold music in front of two hours
of talk, 0.2 GB less through the stages whose own peaks are higher).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.timeline import KeptTimeline, stripped_regions
from pipeline.core.types import ModelIdentity, Region
from pipeline.io.audio import SAMPLE_RATE
from pipeline.stages.base import ProgressHook, RecordingState, Stage
from pipeline.stages.holdmusic.detector import MusicDetector
from pipeline.stages.holdmusic.settings import HoldMusicConfig


class HoldMusicStage(Stage[tuple[Region, ...]]):
    """Music regions of the original recording, stripped or not.

    Parameters
    ----------
    config
        ``HoldMusicConfig``; all but ``strip`` (``StripStage``'s) is its cache key.
    models_dir
        The models folder.
    """

    name = "hold_music"
    needs = ("audio",)
    provides = ("music",)
    output_type = tuple[Region, ...]
    progress_label = "hold music"

    def __init__(self, config: HoldMusicConfig, *, models_dir: Path) -> None:
        self.config = config
        self.models_dir = models_dir
        self.detector: MusicDetector | None = None

    @property
    def cached(self) -> bool:
        return True

    def cache_key(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json", exclude={"strip"})

    def load(self) -> None:
        self._loaded()

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        return self.detector.identities if self.detector is not None else ()

    def run(self, state: RecordingState, progress: ProgressHook) -> tuple[Region, ...]:
        return self._loaded().detect(state.audio, sample_rate=SAMPLE_RATE, progress=progress)

    def apply(self, state: RecordingState, output: tuple[Region, ...]) -> RecordingState:
        return replace(state, music=output)

    def _loaded(self) -> MusicDetector:
        if self.detector is None:
            self.detector = MusicDetector(self.config, models_dir=self.models_dir)
        return self.detector


class StripStage(Stage[tuple[tuple[Region, ...], KeptTimeline, np.ndarray]]):
    """Remove the music the strip policy names: ``"loops"``, ``"music"`` (all) or ``"off"``.

    The decoded audio is cut in place (``KeptTimeline.cut_to_kept``): the state
    before this stage gives its audio over and is not read again.
    """

    name = "strip"
    needs = ("music", "audio", "duration")
    provides = ("stripped", "timeline", "audio")

    def __init__(self, policy: str) -> None:
        self.policy = policy

    def cache_key(self) -> dict[str, Any]:
        return {"strip": self.policy}

    def run(
        self, state: RecordingState, progress: ProgressHook
    ) -> tuple[tuple[Region, ...], KeptTimeline, np.ndarray]:
        stripped = stripped_regions(state.music, self.policy)
        timeline = KeptTimeline.from_stripped(state.duration, stripped)
        return stripped, timeline, timeline.cut_to_kept(state.audio, SAMPLE_RATE)

    def apply(
        self, state: RecordingState, output: tuple[tuple[Region, ...], KeptTimeline, np.ndarray]
    ) -> RecordingState:
        stripped, timeline, kept = output
        return replace(state, stripped=stripped, timeline=timeline, audio=kept)
