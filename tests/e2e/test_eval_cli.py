"""``python -m evaluation --quick`` end to end: one short live room, three systems, JSON and Markdown out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_eval_writes_results_for_every_system(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "evaluation", "--quick", "--data", str(data_dir), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "eval.json").read_text())
    assert results["schema"] == "speechpipe-eval/1"
    assert [r["name"] for r in results["recordings"]] == ["live-room-0-short"]
    assert set(results["systems"]) == {"ours", "keep-music", "plain-whisper"}
    for run in results["systems"].values():
        assert run["peak_rss_mb"] > results["memory_floor_mb"] > 0
    summary = results["summary"]["live-room"]
    for system in ("ours", "keep-music"):
        figures = summary[system]
        assert figures["rtf"] > 0 and figures["der_c0.5"] is not None and figures["wer"] is not None
        assert figures["share_error"] is not None and figures["words_in_music"] is not None
    # Baselines strip nothing, so their music F1 is 0 by construction; ours is scored against it.
    assert summary["keep-music"]["music_f1"] == 0.0 and summary["plain-whisper"]["music_f1"] == 0.0
    assert summary["plain-whisper"]["der_c0.5"] is None and summary["plain-whisper"]["wer"] is not None
    assert set(results["ratios"]["live-room"]) == {"keep-music", "plain-whisper"}
    assert results["scaling"] == []
    table = (out / "README.md").read_text()
    assert "| DER, 0.25 s each side |" in table and "ours / filter off" in table


def test_eval_rejects_a_bad_scaling_list(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "evaluation", "--scaling", "five", "-o", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "--scaling 'five'" in proc.stderr


def test_speechpipe_has_no_eval_command() -> None:
    """The evaluation is the checkout's own command; the installed product does not carry it."""
    command = [sys.executable, "-m", "pipeline.cli", "eval", "--help"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "invalid choice: 'eval'" in proc.stderr
