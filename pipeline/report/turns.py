"""Per-turn tables an analyst loads with pandas: ``turns.csv`` and ``turns.parquet``.

One row per turn of every speaker (gaps under ``merge_pause`` joined), in time
order, with its kind (turn, backchannel, interjection), whom it interrupted, its
response latency and its words. Times are seconds on the original recording.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError
from pipeline.core.types import FloorTurn, RecordingResult
from pipeline.io.atomic import atomic_write_bytes, atomic_write_text
from pipeline.report.tables import safe_csv_value

COLUMNS = (
    "speaker", "start", "end", "duration", "speech", "words", "kind", "takes_floor",
    "interrupted", "response_latency", "questions", "monologue", "text",
)  # fmt: skip


def turn_rows(turns: tuple[FloorTurn, ...]) -> list[dict[str, Any]]:
    """One dict per turn, keyed by ``COLUMNS`` (None where a value does not apply)."""
    return [
        {
            "speaker": t.speaker,
            "start": t.start,
            "end": t.end,
            "duration": t.duration,
            "speech": t.speech,
            "words": t.word_count,
            "kind": t.kind,
            "takes_floor": t.takes_floor,
            "interrupted": t.interrupted,
            "response_latency": t.response_latency,
            "questions": t.questions,
            "monologue": t.monologue,
            "text": t.text,
        }
        for t in turns
    ]


def _cell(value: object) -> object:
    """A turns.csv cell: empty for None, seconds to milliseconds, text defused for spreadsheets."""
    if value is None:
        return ""
    return round(value, 3) if isinstance(value, float) else safe_csv_value(value)


def write_turns_csv(result: RecordingResult, out_dir: Path) -> Path:
    """``turns.csv``: one row per turn; seconds rounded to milliseconds, empty cells for None.

    Text cells that a spreadsheet would run as formulas start with ``'`` (``safe_csv_value``).
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in turn_rows(result.floor_turns):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return atomic_write_text(out_dir / "turns.csv", buffer.getvalue())


def write_turns_parquet(result: RecordingResult, out_dir: Path) -> Path:
    """``turns.parquet``: the same table with typed columns (needs pyarrow).

    Raises
    ------
    ConfigError
        pyarrow is not installed.
    """
    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigError(
            "output.formats: turns_parquet needs pyarrow; `pip install 'speechpipe[parquet]'` "
            "or use turns_csv"
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("speaker", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
            ("duration", pa.float64()), ("speech", pa.float64()), ("words", pa.int64()),
            ("kind", pa.string()), ("takes_floor", pa.bool_()), ("interrupted", pa.string()),
            ("response_latency", pa.float64()), ("questions", pa.int64()), ("monologue", pa.bool_()),
            ("text", pa.string()),
        ]
    )  # fmt: skip
    table = pa.Table.from_pylist(turn_rows(result.floor_turns), schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return atomic_write_bytes(out_dir / "turns.parquet", buffer.getvalue())
