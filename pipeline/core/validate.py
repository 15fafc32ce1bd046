"""Invariants every result must satisfy; checked before anything is written.

All times are seconds on the original recording. A violation is a bug in a
stage, never the user's fault, so the runner refuses to write such a result.
"""

from __future__ import annotations

import itertools

from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import RecordingResult

_EPS = 1e-3  # seconds: rounding slack for float times


def invariant_violations(result: RecordingResult) -> list[str]:
    """Describe every broken invariant of ``result`` (empty when all hold).

    Checked: ``0 <= start <= end <= duration`` for every region, turn, segment and
    word; words inside their segment and sharing its speaker; segments and turns in
    time order; no word, segment or turn inside a stripped region; talk shares sum
    to 1 when anyone spoke.
    """
    problems: list[str] = []
    duration = result.duration
    timeline = KeptTimeline.from_stripped(duration, result.stripped)

    def check_span(what: str, start: float, end: float, *, kept: bool) -> None:
        if not (-_EPS <= start <= end + _EPS and end <= duration + _EPS):
            problems.append(f"{what} [{start:.3f}, {end:.3f}] is not inside 0..{duration:.3f} in order")
        elif kept and end - start > _EPS and timeline.overlaps_stripped(start + _EPS, end - _EPS):
            problems.append(f"{what} [{start:.3f}, {end:.3f}] lies in a stripped region")

    for region in result.music:
        check_span("music region", region.start, region.end, kept=False)
    for turns, name in ((result.turns, "turn"), (result.overlapped_turns, "overlapped turn")):
        for turn in turns:
            check_span(f"{name} of {turn.speaker}", turn.start, turn.end, kept=True)
        if any(b.start < a.start - _EPS for a, b in itertools.pairwise(turns)):
            problems.append(f"{name}s are not in time order")
    for segment in result.segments:
        check_span(f"segment {segment.text[:30]!r}", segment.start, segment.end, kept=True)
        for word in segment.words:
            check_span(f"word {word.text!r}", word.start, word.end, kept=True)
            if not (segment.start - _EPS <= word.start and word.end <= segment.end + _EPS):
                problems.append(f"word {word.text!r} at {word.start:.3f} is outside its segment")
            if word.speaker != segment.speaker:
                problems.append(
                    f"word {word.text!r} at {word.start:.3f} has another speaker than its segment"
                )
    starts = [s.start for s in result.segments]
    if starts != sorted(starts):
        problems.append("segments are not in time order")
    if result.speakers and any(s.talk_time > 0 for s in result.speakers):
        total = sum(s.share for s in result.speakers)
        if abs(total - 1.0) > 1e-3:
            problems.append(f"talk shares sum to {total:.4f}, not 1")
    return problems
