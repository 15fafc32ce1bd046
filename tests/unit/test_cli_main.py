"""`speechpipe --help` answers at once (no heavy import); its exit codes come from one table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.cli.main import build_parser
from pipeline.core.errors import BATCH_EXIT_CODES, EXIT_CODES, describe_exit_codes

HEAVY = (
    "numpy",
    "scipy",
    "torch",
    "pydantic",
    "yaml",
    "rich",
    "tqdm",
    "matplotlib",
    "pipeline.run.config",
    "pipeline.run",
    "pipeline.stages",
    "pipeline.report",
    "pipeline.models.registry",
)
"""Modules (and packages) that ``--help`` must not import: each costs tens of milliseconds to seconds."""

PROBE = """
import json, sys
from pipeline.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("command", [[], ["run"], ["batch"], ["models"], ["models", "list"], ["doctor"]])
def test_help_imports_no_heavy_module(command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *command, "--help"], capture_output=True, text=True, check=True
    )
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    heavy = [name for name in loaded if any(name == h or name.startswith(f"{h}.") for h in HEAVY)]
    assert heavy == [], heavy


def test_run_and_batch_help_print_the_exit_codes_from_their_one_table() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert parser.epilog == commands["run"].epilog == describe_exit_codes(EXIT_CODES)
    assert commands["batch"].epilog == describe_exit_codes(BATCH_EXIT_CODES)
    assert "4 a stage failed" in parser.epilog and "4 " not in commands["batch"].epilog
