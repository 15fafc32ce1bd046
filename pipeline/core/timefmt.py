"""Time stamps for humans and subtitle formats (input in seconds)."""

from __future__ import annotations


def clock(seconds: float) -> str:
    """``HH:MM:SS`` (rounded down)."""
    total = int(max(0.0, seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def short_duration(seconds: float) -> str:
    """``M:SS`` for a loop period (``H:MM:SS`` past an hour)."""
    total = round(max(0.0, seconds))
    if total >= 3600:
        return clock(total)
    return f"{total // 60}:{total % 60:02d}"


def subtitle_stamp(seconds: float, *, decimal: str) -> str:
    """``HH:MM:SS,mmm`` (SRT, ``decimal=","``) or ``HH:MM:SS.mmm`` (VTT, ``"."``)."""
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"
