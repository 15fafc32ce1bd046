"""RecordingResult <-> JSON-ready dict (result.json, the stage cache, the ledger).

Dataclasses are rebuilt from their type hints, so a new field in a result type
needs no change here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from pipeline import __version__
from pipeline.core.types import RecordingResult

SCHEMA_VERSION = "1.2"
"""Version of result.json's layout: the major on any incompatible change, the minor on an addition
(1.2: ``audio_stream``, ``audio_streams``, ``language_detected``)."""


def result_to_dict(result: RecordingResult) -> dict[str, Any]:
    """JSON-ready dict of ``result`` with ``schema_version`` and ``speechpipe_version``."""
    data = to_jsonable(result)
    return {"schema_version": SCHEMA_VERSION, "speechpipe_version": __version__, **data}


def result_from_dict(data: dict[str, Any]) -> RecordingResult:
    """Inverse of ``result_to_dict``."""
    fields = {f.name for f in dataclasses.fields(RecordingResult)}
    return from_jsonable(RecordingResult, {k: v for k, v in data.items() if k in fields})


def to_jsonable(value: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(tp: Any, value: Any) -> Any:
    """Rebuild a value of type ``tp`` (dataclass, tuple, optional, primitive)."""
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{k: from_jsonable(hints[k], v) for k, v in value.items() if k in hints})
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_jsonable(inner[0], value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], v) for v in value)
        return tuple(from_jsonable(a, v) for a, v in zip(args, value, strict=True))
    return value
