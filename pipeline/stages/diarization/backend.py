"""The diarization backend interface: what a diarizer is given and what it answers.

A backend sees the kept audio (music stripped) and answers in kept time with
pyannote.core ``Annotation``s; the stage (``stage.py``) maps the answer to original
time and typed turns. ``pyannote_backend.PyannoteDiarizer`` is the backend; tests
stand in their own through the ``Diarizer`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pipeline.core.types import ModelIdentity
from pipeline.stages.base import ProgressHook

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
        progress: ProgressHook | None = None,
    ) -> Diarization:
        """Diarize ``audio``: float32, 16 kHz mono, shape ``(samples,)``; ``progress`` hears seconds done."""
        ...
