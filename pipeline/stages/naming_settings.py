"""Settings of the naming stage: how enrolled voices name the diarized speakers.

Users write them in the metrics section of a config, as ``metrics.enrollment_threshold``
and ``metrics.enrollment_margin`` (the file format predates this stage's own settings);
``MetricsConfig`` declares those keys with the types below and hands them over as one
``EnrollmentConfig``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pipeline.core.settings import StrictSettings

# CAM++ (the diarizer's encoder), measured on pyannote's sample: a speaker's turns vs a
# clip of the same voice 0.82-0.89, vs the other voice 0.33-0.46. Clips recorded on
# another microphone can score far lower (Azure's Katie and Steve: 0.14), hence the margin.
EnrollmentThreshold = Annotated[
    float,
    Field(
        ge=-1,
        le=1,
        description="least cosine similarity between a diarized voice and an enrolled clip to take its name",
    ),
]
EnrollmentMargin = Annotated[
    float,
    Field(
        ge=0,
        description="with as many clips as speakers, all are named if the best naming leads the next by this",
    ),
]


class EnrollmentConfig(StrictSettings):
    """Voice enrollment's thresholds (``enrollment.match_speakers``)."""

    threshold: EnrollmentThreshold = 0.6
    margin: EnrollmentMargin = 0.05
