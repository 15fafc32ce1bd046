"""Run the real command line in a subprocess, as a user would (shared by the e2e tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def speechpipe(*args: str | Path, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    """``speechpipe ARGS...`` from the repository root; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
