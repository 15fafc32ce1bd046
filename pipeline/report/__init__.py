"""Output writers, looked up by name (``get_writer("srt")``).

Each writer turns a finished ``RecordingResult`` into one file in the recording's
output folder and writes it atomically, so a crash never leaves a half file.
Writers only read the result: they import nothing of the package but ``core`` and
``io`` (the atomic writes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.core.errors import ConfigError
from pipeline.core.types import RecordingResult
from pipeline.report.html import write_html
from pipeline.report.jsonfile import write_json
from pipeline.report.tables import write_music_csv, write_speakers_csv
from pipeline.report.text import write_rttm, write_srt, write_transcript, write_vtt
from pipeline.report.turns import write_turns_csv, write_turns_parquet

Writer = Callable[[RecordingResult, Path], Path]
"""``writer(result, out_dir) -> path written``."""

WRITERS: dict[str, Writer] = {
    "json": write_json,
    "speakers_csv": write_speakers_csv,
    "turns_csv": write_turns_csv,
    "turns_parquet": write_turns_parquet,
    "music_csv": write_music_csv,
    "txt": write_transcript,
    "rttm": write_rttm,
    "srt": write_srt,
    "vtt": write_vtt,
    "html": write_html,
}
"""Every writer, by the name ``output.formats`` uses."""


def get_writer(name: str) -> Writer:
    """The writer registered as ``name``.

    Raises
    ------
    ConfigError
        No writer has that name.
    """
    try:
        return WRITERS[name]
    except KeyError:
        raise ConfigError(f"output.formats: unknown format {name!r}; choose from {sorted(WRITERS)}") from None


def writer_names() -> list[str]:
    """Names of every registered writer."""
    return sorted(WRITERS)
