"""result.json: the whole result, versioned, valid against the packaged JSON Schema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.core.serialize import result_to_dict
from pipeline.core.types import RecordingResult
from pipeline.io.atomic import atomic_write_text

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "result.schema.json"


def write_json(result: RecordingResult, out_dir: Path) -> Path:
    """Write ``result.json``."""
    text = json.dumps(result_to_dict(result), indent=2, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(out_dir / "result.json", text + "\n")


@cache
def result_schema() -> dict[str, Any]:
    """The JSON Schema every result.json satisfies."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_result(data: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``data`` breaks the schema."""
    import jsonschema

    jsonschema.validate(data, result_schema())
