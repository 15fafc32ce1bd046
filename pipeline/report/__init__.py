"""Output writers, looked up by name (``get_writer("srt")``).

Each writer turns a ``RecordingResult`` into one file in the recording's output
folder and writes it atomically, so a crash never leaves a half file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.core.errors import ConfigError
from pipeline.core.types import RecordingResult

Writer = Callable[[RecordingResult, Path], Path]
"""``writer(result, out_dir) -> path written``."""

_WRITERS: dict[str, Writer] = {}


def register_writer(name: str) -> Callable[[Writer], Writer]:
    """Decorator: make a writer available as ``get_writer(name)``."""

    def add(writer: Writer) -> Writer:
        _WRITERS[name] = writer
        return writer

    return add


def get_writer(name: str) -> Writer:
    """The writer registered as ``name``.

    Raises
    ------
    ConfigError
        No writer has that name.
    """
    _load_builtin_writers()
    try:
        return _WRITERS[name]
    except KeyError:
        raise ConfigError(
            f"output.formats: unknown format {name!r}; choose from {sorted(_WRITERS)}"
        ) from None


def writer_names() -> list[str]:
    """Names of every registered writer."""
    _load_builtin_writers()
    return sorted(_WRITERS)


def write_outputs(result: RecordingResult, out_dir: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write every format in ``formats`` into ``out_dir``; return the paths written."""
    writers = [get_writer(name) for name in formats]
    out_dir.mkdir(parents=True, exist_ok=True)
    return [writer(result, out_dir) for writer in writers]


def _load_builtin_writers() -> None:
    # Importing the modules registers their writers.
    from pipeline.report import html, jsonfile, tables, text, turns  # noqa: F401
