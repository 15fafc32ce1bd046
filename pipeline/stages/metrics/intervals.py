"""Speech as sorted, disjoint ``(start, end)`` intervals in seconds: union, difference, length."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Interval = tuple[float, float]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time as ``intervals`` (empty ones dropped)."""
    out: list[Interval] = []
    for start, end in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(intervals: Sequence[Interval], remove: Sequence[Interval]) -> list[Interval]:
    """``intervals`` minus ``remove``; both sorted and disjoint."""
    out: list[Interval] = []
    j = 0
    for start, end in intervals:
        while j < len(remove) and remove[j][1] <= start:
            j += 1
        k, cursor = j, start
        while k < len(remove) and remove[k][0] < end:
            if remove[k][0] > cursor:
                out.append((cursor, remove[k][0]))
            cursor = max(cursor, remove[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def measure(intervals: Iterable[Interval]) -> float:
    """Total length in seconds (of disjoint intervals)."""
    return sum(end - start for start, end in intervals)


def merge_gaps(intervals: Sequence[Interval], pause: float) -> list[tuple[float, float, float]]:
    """Join intervals separated by less than ``pause`` s: ``(start, end, seconds spoken)``."""
    spans: list[tuple[float, float, float]] = []
    for start, end in intervals:
        if spans and start - spans[-1][1] < pause:
            s, _, spoken = spans[-1]
            spans[-1] = (s, end, spoken + end - start)
        else:
            spans.append((start, end, end - start))
    return spans
