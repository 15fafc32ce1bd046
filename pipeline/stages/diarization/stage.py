"""Who spoke when: the diarization stage.

The backend (``backend.Diarizer``: a pyannote.audio pipeline, ``pyannote_backend``)
sees the kept audio (music stripped) and answers in kept time; ``diarize`` maps its
answer to original time and to typed ``Turn``s. Model libraries are imported only in
the backend's modules.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import ModelIdentity, Turn
from pipeline.stages.base import ProgressHook, RecordingState, Stage
from pipeline.stages.diarization.backend import Diarizer
from pipeline.stages.diarization.pyannote_backend import PyannoteDiarizer, diarizer_identities
from pipeline.stages.diarization.settings import DiarizationConfig

if TYPE_CHECKING:
    from pyannote.core import Annotation


def create_diarizer(config: DiarizationConfig, *, models_dir: Path) -> Diarizer:
    """Load the pipeline ``config.pyannote.pipeline`` names (models load here, once)."""
    return PyannoteDiarizer(config, models_dir=models_dir)


def diarize(
    diarizer: Diarizer,
    audio: np.ndarray,
    timeline: KeptTimeline,
    config: DiarizationConfig,
    progress: ProgressHook | None = None,
) -> tuple[tuple[Turn, ...], tuple[Turn, ...]]:
    """Run ``diarizer`` on kept audio; return ``(exclusive, regular)`` turns in original time.

    A turn that spans a cut is split at the cut, so no turn lies in a stripped region.
    ``progress`` hears the seconds of kept audio done.
    """
    if audio.size == 0:
        return (), ()
    result = diarizer.diarize(
        audio,
        num_speakers=config.num_speakers,
        min_speakers=config.min_speakers,
        max_speakers=max(config.max_speakers, config.min_speakers),
        progress=progress,
    )
    return annotation_to_turns(result.exclusive, timeline), annotation_to_turns(result.regular, timeline)


def annotation_to_turns(annotation: Annotation, timeline: KeptTimeline) -> tuple[Turn, ...]:
    """Kept-time ``Annotation`` -> original-time turns, sorted by start then speaker."""
    turns = [
        Turn(start, end, str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
        for start, end in timeline.interval_to_original(segment.start, segment.end)
    ]
    return tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker)))


DiarizedTurns = tuple[tuple[Turn, ...], tuple[Turn, ...]]
"""``(exclusive, regular)`` turns, original time."""


class DiarizationStage(Stage[DiarizedTurns]):
    """The diarization stage: who spoke when in the kept audio, turns on the original timeline.

    Parameters
    ----------
    config
        ``DiarizationConfig``; all of it but the hub token is its cache key.
    models_dir
        Where registry models are pulled.
    """

    name = "diarization"
    needs = ("audio", "timeline")
    provides = ("turns", "overlapped_turns")
    output_type = DiarizedTurns
    progress_label = "diarize"

    def __init__(self, config: DiarizationConfig, *, models_dir: Path) -> None:
        self.config = config
        self.models_dir = models_dir
        self.diarizer: Diarizer | None = None
        self._identities: tuple[ModelIdentity, ...] = ()

    @property
    def cached(self) -> bool:
        return True

    def cache_key(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json", exclude={"pyannote": {"token"}})

    def load(self) -> None:
        """Check the models' files now (a missing or damaged one fails before any audio is read);
        build the diarizer at the first recording.

        torch and pyannote.audio take about 0.8 GB once imported, and nothing before this
        stage needs them: built after ASR, they are not resident at ASR's peak (3 h
        recording, 2 h 9 min of it talk: 2.48 -> 2.08 GB peak RSS). In a batch, later
        recordings run ASR with them loaded (the same recording: 2.50 GB).
        """
        self._identities = diarizer_identities(self.config, models_dir=self.models_dir)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        return self.diarizer.identities if self.diarizer is not None else self._identities

    def run(self, state: RecordingState, progress: ProgressHook) -> DiarizedTurns:
        return diarize(self._loaded(), state.audio, state.timeline, self.config, progress)

    def apply(self, state: RecordingState, output: DiarizedTurns) -> RecordingState:
        turns, overlapped = output
        return replace(state, turns=turns, overlapped_turns=overlapped)

    def _loaded(self) -> Diarizer:
        if self.diarizer is None:
            self.diarizer = create_diarizer(self.config, models_dir=self.models_dir)
        return self.diarizer
