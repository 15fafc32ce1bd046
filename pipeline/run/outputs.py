"""The one place a recording's outputs are written: ``OUT/<recording-name>/``, one file per format.

``speechpipe run`` and the batch's recorder (in the driver process, whatever the
executor) both write through ``write_outputs``; each writer writes atomically, so a
crash never leaves a half file.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from pathlib import Path

from pipeline.core.types import RecordingResult
from pipeline.report import get_writer

logger = logging.getLogger(__name__)


def write_outputs(result: RecordingResult, out_dir: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write every format in ``formats`` (``output.formats``) into ``out_dir``; return the paths written.

    Raises
    ------
    ConfigError
        A format has no writer.
    OutputError
        A file cannot be written (disk full, permissions).
    """
    writers = [get_writer(name) for name in formats]
    began = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [writer(result, out_dir) for writer in writers]
    logger.info("wrote %s in %.2f s", out_dir, time.perf_counter() - began)
    return paths


def safe_output_name(path: Path) -> str:
    """A folder name from a recording's file name that cannot leave the output folder.

    Normalises Unicode (NFKC), keeps letters, digits, ``-``, ``_`` and ``.``,
    and never starts with a dot (no ``..``, no hidden folders).
    """
    stem = unicodedata.normalize("NFKC", Path(path).name)
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    cleaned = re.sub(r"[^\w.-]+", "_", stem).lstrip("._")
    return cleaned[:120] or "recording"
