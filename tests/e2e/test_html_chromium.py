"""report.html in real headless Chromium: it renders, nothing runs, nothing complains.

Skips when Debian's ``chromium`` is not installed (``apt-get install -y chromium``).
Set ``SPEECHPIPE_SCREENSHOT=path.png`` to keep the screenshot for review
(``bench/screenshot_report.sh`` does).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.report.html import write_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)"
)

HOSTILE = '<script>alert("x")</script> O\'Brien & "Co"'
# What Chromium logs to stderr (with --enable-logging=stderr) when the page misbehaves.
CONSOLE_PROBLEM = re.compile(r"CONSOLE|Uncaught|Refused to|Failed to load|ERR_", re.IGNORECASE)


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``page`` with networking and background services off."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def hostile_report(tmp_path: Path) -> Path:
    from conftest import build_hand_result

    result = build_hand_result(guest=HOSTILE)
    # The guest's first line says the hostile text too.
    hostile = replace(result.segments[1], text=HOSTILE)
    result = replace(result, segments=(result.segments[0], hostile, *result.segments[2:]))
    return write_html(result, tmp_path / "out")


def test_report_renders_as_text_with_no_console_errors(hostile_report: Path, tmp_path: Path):
    run = chromium(hostile_report, tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert "Transcript" in dom and "Timeline" in dom and "Interruptions" in dom
    # The hostile name and line were rendered as text: no script element reached the DOM.
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;alert" in dom
    assert dom.count("<img") == 2 and "<svg" in dom
    problems = [line for line in run.stderr.splitlines() if CONSOLE_PROBLEM.search(line)]
    assert not problems, "\n".join(problems)


def test_report_screenshot(hostile_report: Path, tmp_path: Path):
    shot = tmp_path / "report.png"
    run = chromium(hostile_report, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2200",
                   "--hide-scrollbars")  # fmt: skip
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] == 2200 and pixels.shape[1] == 1280
    assert pixels.std() > 0.05  # not a blank page
    keep = os.environ.get("SPEECHPIPE_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)
