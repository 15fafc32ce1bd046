"""CSV tables: per-speaker metrics and music regions (seconds on the original recording).

Cells are quoted by the csv module (commas, quotes, line breaks); a text cell that a
spreadsheet would run as a formula is defused (``safe_csv_value``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

from pipeline.core.serialize import to_jsonable
from pipeline.core.types import RecordingResult, SpeakerStats
from pipeline.io.atomic import atomic_write_text

MUSIC_COLUMNS = ("start", "end", "kind", "period", "repeats", "confidence")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t")


def safe_csv_value(value: object) -> object:
    """``value`` ready for a CSV cell; a string gets its line breaks as ``\\n`` and is defused.

    The csv module quotes a cell holding ``\\n`` (the line terminator) but not a bare
    ``\\r``, which readers take for the end of a row. A string a spreadsheet would run
    as a formula gets a ``'`` in front (OWASP, CSV injection).
    """
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _csv_text(header: tuple[str, ...], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[safe_csv_value(v) for v in row] for row in rows])
    return buffer.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def write_speakers_csv(result: RecordingResult, out_dir: Path) -> Path:
    """``speakers.csv``: one row per speaker, one column per scalar metric."""
    columns = tuple(f.name for f in dataclasses.fields(SpeakerStats))
    rows = [[_cell(to_jsonable(getattr(s, c))) for c in columns] for s in result.speakers]
    return atomic_write_text(out_dir / "speakers.csv", _csv_text(columns, rows))


def write_music_csv(result: RecordingResult, out_dir: Path) -> Path:
    """``music.csv``: every music region found (stripped or not)."""
    rows = [[_cell(getattr(r, c)) for c in MUSIC_COLUMNS] for r in result.music]
    return atomic_write_text(out_dir / "music.csv", _csv_text(MUSIC_COLUMNS, rows))
