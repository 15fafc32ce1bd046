"""Times for people and subtitle formats, from seconds: the package's only clock formatters.

Two clock formats: ``stamp`` (``00:44:57``, rounded down) marks where things happen in
transcripts; ``clock`` (``44:57``, ``1:02:03``, rounded) gives times and durations in
reports and summaries.
"""

from __future__ import annotations


def stamp(seconds: float) -> str:
    """``HH:MM:SS``, rounded down: a position in a transcript."""
    total = int(max(0.0, seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def clock(seconds: float) -> str:
    """``M:SS`` under an hour, else ``H:MM:SS``, rounded: a time or a duration in a report."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def short_duration(seconds: float) -> str:
    """``M:SS`` for a loop period (``HH:MM:SS`` from an hour on)."""
    total = round(max(0.0, seconds))
    return stamp(total) if total >= 3600 else clock(total)


def subtitle_stamp(seconds: float, *, decimal: str) -> str:
    """``HH:MM:SS,mmm`` (SRT, ``decimal=","``) or ``HH:MM:SS.mmm`` (VTT, ``"."``)."""
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"
