"""Who spoke when: the ``Diarizer`` interface and the stage that runs it.

A diarizer sees the kept audio (music stripped) and answers in kept time with
pyannote.core ``Annotation``s; ``diarize`` maps its answer to original time and
to typed ``Turn``s. The diarizer is a pyannote.audio pipeline
(``pipeline.stages.diarization.pyannote_backend``); tests stand in their own through the
``Diarizer`` protocol. Model libraries are imported only in the diarizer's modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pipeline.core.config import DiarizationConfig
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import ModelIdentity, Turn

if TYPE_CHECKING:
    from pyannote.core import Annotation


@dataclass(frozen=True)
class Diarization:
    """A backend's answer, seconds from the start of the audio it was given.

    Attributes
    ----------
    regular : Annotation
        Speaker turns; two speakers may overlap.
    exclusive : Annotation
        At most one speaker at any instant (used to attribute words).
    """

    regular: Annotation
    exclusive: Annotation


class Diarizer(Protocol):
    """A speaker-diarization backend."""

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Models this backend runs."""
        ...

    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
    ) -> Diarization:
        """Diarize ``audio``: float32, 16 kHz mono, shape ``(samples,)``."""
        ...


def create_diarizer(config: DiarizationConfig, *, models_dir: Path) -> Diarizer:
    """Load the pipeline ``config.pyannote.pipeline`` names (models load here, once)."""
    from pipeline.stages.diarization.pyannote_backend import PyannoteDiarizer

    return PyannoteDiarizer(config, models_dir=models_dir)


def diarize(
    diarizer: Diarizer,
    audio: np.ndarray,
    timeline: KeptTimeline,
    config: DiarizationConfig,
) -> tuple[tuple[Turn, ...], tuple[Turn, ...]]:
    """Run ``diarizer`` on kept audio; return ``(exclusive, regular)`` turns in original time.

    A turn that spans a cut is split at the cut, so no turn lies in a stripped region.
    """
    if audio.size == 0:
        return (), ()
    result = diarizer.diarize(
        audio,
        num_speakers=config.num_speakers,
        min_speakers=config.min_speakers,
        max_speakers=max(config.max_speakers, config.min_speakers),
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
