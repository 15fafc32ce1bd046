"""Errors the pipeline raises on purpose, each with its process exit code.

Exit codes (documented in the README):

=====  =========================================================
0      success
1      some recordings of a batch failed (batch mode only)
2      bad input or usage: unreadable audio, bad config, bad flag
3      a model is missing or fails its checksum
4      a stage failed while processing a valid recording
5      the output could not be written (disk full, permissions)
=====  =========================================================
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of all expected failures; ``str(err)`` is the one-line user message."""

    exit_code = 4


class ConfigError(PipelineError):
    """The configuration or a command-line option is invalid."""

    exit_code = 2


class AudioError(PipelineError):
    """An input file is missing, empty, not audio or truncated."""

    exit_code = 2


class ModelError(PipelineError):
    """A model is missing or does not match its registered checksum."""

    exit_code = 3


class StageError(PipelineError):
    """A stage failed on a readable recording."""

    exit_code = 4


class OutputError(PipelineError):
    """An output file could not be written."""

    exit_code = 5


def one_line(text: str) -> str:
    """``text`` on one line: newlines, tabs and other control characters shown as escapes.

    A file name may hold any of them; an error message must stay one line.
    """
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message (libraries' run over many), else its type's name."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
