"""The metrics stage: per-speaker and whole-recording figures, and the classified turns, computed once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipeline.core.types import ConversationStats, FloorTurn, SpeakerStats
from pipeline.stages.base import ProgressHook, RecordingState, Stage
from pipeline.stages.metrics.conversation import compute_metrics
from pipeline.stages.metrics.settings import MetricsConfig

Metrics = tuple[tuple[SpeakerStats, ...], ConversationStats, tuple[FloorTurn, ...]]
"""``(speakers, conversation, floor_turns)``, as ``compute_metrics`` returns them."""

_NAMING_FIELDS = {"enrollment_threshold", "enrollment_margin"}  # the naming stage's, not a metric's


class MetricsStage(Stage[Metrics]):
    """Speakers' and the conversation's metrics from the diarization, the words and the music stripped.

    Parameters
    ----------
    config
        ``MetricsConfig``: thresholds and lexicons (docs/metrics.md).
    """

    name = "metrics"
    needs = ("duration", "turns", "overlapped_turns", "segments", "stripped")
    provides = ("speakers", "conversation", "floor_turns")

    def __init__(self, config: MetricsConfig) -> None:
        self.config = config

    def cache_key(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json", exclude=_NAMING_FIELDS)

    def run(self, state: RecordingState, progress: ProgressHook) -> Metrics:
        return compute_metrics(
            duration=state.duration,
            turns=state.turns,
            overlapped_turns=state.overlapped_turns,
            segments=state.segments,
            hold_music=state.stripped,
            config=self.config,
        )

    def apply(self, state: RecordingState, output: Metrics) -> RecordingState:
        speakers, conversation, floor_turns = output
        return replace(state, speakers=speakers, conversation=conversation, floor_turns=floor_turns)
