"""Errors the pipeline raises on purpose, each with its process exit code.

``EXIT_CODES`` says what every exit status of ``speechpipe`` means (the README
documents them; ``--help`` prints them from here).
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_CODES: Mapping[int, str] = {
    0: "success",
    1: "some recordings of a batch failed",
    2: "bad input, config or flag",
    3: "model missing or failing its checksum",
    4: "a stage failed",
    5: "output not writable",
    130: "interrupted",
    143: "terminated (SIGTERM)",
}
"""Exit status -> its meaning, for every command."""

BATCH_EXIT_CODES: Mapping[int, str] = {
    **{code: meaning for code, meaning in EXIT_CODES.items() if code != 4},
    0: "every recording done or already done",
    1: "some recordings failed (see the summary and the ledger)",
    2: "bad input, config or flag, or a Ray cluster unreachable or too small for a worker",
}
"""The same for ``batch``, where a recording whose stage fails counts in 1 (never 4)."""


def describe_exit_codes(codes: Mapping[int, str]) -> str:
    """``codes`` as one sentence for ``--help``: ``exit codes: 0 success; 1 ...; 143 ....``"""
    return "exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in sorted(codes.items())) + "."


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
