"""Who spoke when, scored: DER and JER with pyannote.metrics, and the speaker mapping.

Collars follow pyannote.metrics' convention: ``collar`` is the TOTAL width removed
around every reference boundary, half before and half after it. ``COLLARS`` scores
with no collar and with 0.25 s each side (``collar=0.5``), the usual forgiveness for
hand-placed boundaries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.core.types import Turn

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline

logger = logging.getLogger(__name__)

COLLARS: tuple[float, ...] = (0.0, 0.5)
"""pyannote.metrics collars scored, seconds in total: 0 and 0.25 s each side of a boundary."""


@dataclass(frozen=True)
class DiarizationScore:
    """DER and JER of one recording at one collar.

    Attributes
    ----------
    collar : float
        pyannote.metrics collar, seconds in total (half each side of a boundary).
    der, jer : float
        Diarization and Jaccard error rates (0 is perfect; DER may exceed 1).
    der_components, jer_components : dict
        pyannote.metrics components (seconds for DER; speaker count and summed
        per-speaker error for JER), summed over recordings to pool a set.
    """

    collar: float
    der: float
    jer: float
    der_components: dict[str, float]
    jer_components: dict[str, float]


def to_annotation(turns: Iterable[Turn], *, uri: str = "recording") -> Annotation:
    """pyannote ``Annotation`` of ``turns``; overlapping turns stay overlapping."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation


def to_timeline(spans: Iterable[tuple[float, float]], *, uri: str = "recording") -> Timeline:
    """pyannote ``Timeline`` of ``(start, end)`` spans, seconds."""
    from pyannote.core import Segment, Timeline

    return Timeline([Segment(s, e) for s, e in spans if e > s], uri=uri)


def score_diarization(
    reference: Sequence[Turn],
    hypothesis: Sequence[Turn],
    *,
    uem: Sequence[tuple[float, float]],
    collars: Sequence[float] = COLLARS,
) -> tuple[DiarizationScore, ...]:
    """DER and JER of ``hypothesis`` against ``reference``, one score per collar.

    Parameters
    ----------
    reference, hypothesis
        Speaker turns in seconds; labels need not match (the optimal mapping is used).
    uem
        Spans that are scored, seconds (usually the whole recording: music and
        silence count, so speech invented there is a false alarm).
    collars
        pyannote.metrics collars, seconds in total (0.5 = 0.25 s each side).
    """
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    ref, hyp, scored = to_annotation(reference), to_annotation(hypothesis), to_timeline(uem)
    scores = []
    for collar in collars:
        der_metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
        jer_metric = JaccardErrorRate(collar=collar, skip_overlap=False)
        der_components = der_metric(ref, hyp, uem=scored, detailed=True)
        jer_components = jer_metric(ref, hyp, uem=scored, detailed=True)
        scores.append(
            DiarizationScore(
                collar=collar,
                der=float(der_components[der_metric.metric_name()]),
                jer=float(jer_components[jer_metric.metric_name()]),
                der_components={k: float(der_components[k]) for k in der_metric.metric_components()},
                jer_components={k: float(jer_components[k]) for k in jer_metric.metric_components()},
            )
        )
    return tuple(scores)


def pooled_rates(scores: Iterable[DiarizationScore]) -> tuple[float | None, float | None]:
    """DER and JER of a set of recordings: components summed, then the rate.

    Returns ``(None, None)`` for an empty set.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    scores = list(scores)
    if not scores:
        return None, None
    rates = []
    for metric, attr in ((DiarizationErrorRate(), "der_components"), (JaccardErrorRate(), "jer_components")):
        total = {k: sum(getattr(s, attr)[k] for s in scores) for k in metric.metric_components()}
        rates.append(float(metric.compute_metric(total)))
    return rates[0], rates[1]


def optimal_mapping(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], *, uem: Sequence[tuple[float, float]]
) -> dict[str, str]:
    """Hypothesis speaker -> reference speaker maximising overlap (pyannote.metrics' Hungarian mapping).

    Hypothesis speakers left without a partner (more found than there are) are absent.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    mapping: Mapping = DiarizationErrorRate().optimal_mapping(
        to_annotation(reference), to_annotation(hypothesis), uem=to_timeline(uem)
    )
    return {str(hyp): str(ref) for hyp, ref in mapping.items()}


def hourly_confusion(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], *, uem: Sequence[tuple[float, float]]
) -> list[dict[str, float | int]]:
    """Whether speakers keep their identity through a long recording, hour by hour.

    One mapping of hypothesis to reference speakers is found over the whole recording
    (``optimal_mapping``); then, in each hour, the share of reference speech (10 ms
    frames with one reference speaker) not labelled with its own speaker's label
    (missed, or on a label mapped to someone else or to nobody). A speaker invented
    as the recording grows, or two swapping labels, shows as confusion rising in the
    later hours.

    Returns
    -------
    list of dict
        Per hour: ``hour`` (0-based), ``speech_seconds``, ``confusion`` (a share in [0, 1])
        and ``speakers`` (hypothesis labels with at least 1 % of that hour's speech).
    """
    import numpy as np

    mapping = optimal_mapping(reference, hypothesis, uem=uem)
    end = max((t.end for t in (*reference, *hypothesis)), default=0.0)
    frames = int(np.ceil(end * 100))
    ref_labels = sorted({t.speaker for t in reference})
    hyp_labels = sorted({t.speaker for t in hypothesis})
    ref_id, ref_count = np.full(frames, -1), np.zeros(frames, dtype=int)
    for t in reference:
        ref_id[int(t.start * 100) : int(t.end * 100)] = ref_labels.index(t.speaker)
        ref_count[int(t.start * 100) : int(t.end * 100)] += 1
    hyp_ref = np.full(frames, -2)  # reference index the hypothesis label maps to; -1: unmapped
    hyp_id = np.full(frames, -1)
    for t in hypothesis:
        mapped = mapping.get(t.speaker)
        hyp_ref[int(t.start * 100) : int(t.end * 100)] = ref_labels.index(mapped) if mapped else -1
        hyp_id[int(t.start * 100) : int(t.end * 100)] = hyp_labels.index(t.speaker)
    rows = []
    for hour in range(int(np.ceil(end / 3600))):
        span = slice(hour * 360_000, min(frames, (hour + 1) * 360_000))
        single = ref_count[span] == 1
        wrong = single & (hyp_ref[span] != ref_id[span])
        active = np.bincount(hyp_id[span][hyp_id[span] >= 0], minlength=len(hyp_labels))
        rows.append(
            {
                "hour": hour,
                "speech_seconds": float(single.sum()) / 100,
                "confusion": float(wrong.sum() / max(single.sum(), 1)),
                "speakers": int((active >= 0.01 * max(active.sum(), 1)).sum()),
            }
        )
    return rows
