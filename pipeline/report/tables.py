"""CSV tables: per-speaker metrics and music regions (seconds on the original recording)."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

from pipeline.core.serialize import to_jsonable
from pipeline.core.types import RecordingResult, SpeakerStats
from pipeline.io.atomic import atomic_write_text

MUSIC_COLUMNS = ("start", "end", "kind", "period", "repeats", "confidence")


def _csv_text(header: tuple[str, ...], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
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
