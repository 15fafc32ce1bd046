"""Per-speaker metrics, scored: talk-share and turn-count errors under the speaker mapping.

The reference metrics are computed by the product's own ``compute_metrics`` on the
reference turns, so "share" and "turn" mean exactly what the product reports
(docs/metrics.md); only the diarization under them differs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.core.types import SpeakerStats, Turn
from pipeline.stages.metrics.conversation import compute_metrics
from pipeline.stages.metrics.settings import MetricsConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeakerErrors:
    """How far the per-speaker report is from the reference, one recording.

    Attributes
    ----------
    share_error_mean, share_error_max : float
        Absolute error of each reference speaker's talk share (a fraction in [0, 1]),
        mean and max over reference speakers. A reference speaker nobody was mapped
        to has share 0 in the hypothesis; hypothesis speakers mapped to nobody add
        nothing here (their time shows up in the DER and in ``count_error``).
    turn_error_mean : float
        Mean absolute turn-count error over reference speakers, turns.
    turn_error_total : int
        Sum of absolute turn-count errors, turns.
    speakers_reference, speakers_found : int
        Speaker counts.
    """

    share_error_mean: float
    share_error_max: float
    turn_error_mean: float
    turn_error_total: int
    speakers_reference: int
    speakers_found: int

    @property
    def count_error(self) -> int:
        """Absolute error of the number of speakers found."""
        return abs(self.speakers_found - self.speakers_reference)


def reference_stats(
    turns: Sequence[Turn], *, duration: float, config: MetricsConfig
) -> tuple[SpeakerStats, ...]:
    """The product's per-speaker metrics of the reference turns (no words, no music)."""
    speakers, _, _ = compute_metrics(
        duration=duration, turns=turns, overlapped_turns=turns, segments=(), hold_music=(), config=config
    )
    return speakers


def speaker_errors(
    reference: Sequence[SpeakerStats],
    hypothesis: Sequence[SpeakerStats],
    mapping: Mapping[str, str],
) -> SpeakerErrors | None:
    """Talk-share and turn-count errors of ``hypothesis`` against ``reference``.

    Parameters
    ----------
    reference, hypothesis
        Per-speaker metrics (``share`` in [0, 1], ``turns`` a count).
    mapping
        Hypothesis speaker -> reference speaker (``optimal_mapping``).

    Returns
    -------
    SpeakerErrors or None
        None when the reference has no speaker.
    """
    if not reference:
        return None
    found = {s.speaker: s for s in hypothesis}
    mapped = {ref: found[hyp] for hyp, ref in mapping.items() if hyp in found}
    share_errors = [
        abs(r.share - (mapped[r.speaker].share if r.speaker in mapped else 0.0)) for r in reference
    ]
    turn_errors = [abs(r.turns - (mapped[r.speaker].turns if r.speaker in mapped else 0)) for r in reference]
    return SpeakerErrors(
        share_error_mean=sum(share_errors) / len(share_errors),
        share_error_max=max(share_errors),
        turn_error_mean=sum(turn_errors) / len(turn_errors),
        turn_error_total=sum(turn_errors),
        speakers_reference=len(reference),
        speakers_found=len(hypothesis),
    )
