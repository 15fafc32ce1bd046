"""Kill a real ``speechpipe batch`` with SIGKILL mid-recording, rerun it, lose nothing.

Three runs on the same three short real clips (slices of pyannote's sample):
a reference batch that is never interrupted, a batch killed while its second
recording is between stages, and the rerun of the killed one. The rerun must
finish everything, redo only the recording that was cut off (reusing its finished
stages from the cache), and write outputs identical to the reference apart from
the per-run stage timings.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

pytestmark = pytest.mark.slow

SPEECHPIPE = str(Path(sys.executable).parent / "speechpipe")
CLIPS = 3
CLIP_SECONDS = 8


@pytest.fixture
def inputs(tmp_path, sample_wav):
    audio, rate = sf.read(sample_wav, dtype="float32")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(CLIPS):
        start = i * 11 * rate
        sf.write(folder / f"call{i}.wav", audio[start : start + CLIP_SECONDS * rate], rate)
    return folder


def batch_command(inputs: Path, out: Path, *extra: str) -> list[str]:
    return [SPEECHPIPE, "batch", str(inputs), "-o", str(out), "--quiet", *extra]


def ledger_rows(out: Path) -> dict[str, tuple[str, int]]:
    """uri name -> (status, attempts); empty while the ledger does not exist yet."""
    if not (out / "ledger.sqlite").is_file():
        return {}
    with sqlite3.connect(f"file:{out / 'ledger.sqlite'}?mode=ro", uri=True, timeout=5) as db:
        try:
            rows = db.execute("SELECT uri, status, attempts FROM recordings").fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return {}
    return {Path(uri).name: (status, attempts) for uri, status, attempts in rows}


def cache_entries(out: Path) -> int:
    return len(list((out / ".cache").glob("*/*.json"))) if (out / ".cache").is_dir() else 0


def kill_mid_recording(process: subprocess.Popen, out: Path, *, timeout: float = 600) -> dict:
    """SIGKILL ``process`` once one recording is done and the next has a finished stage but is not done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the batch ended (rc {process.returncode}) before it could be killed mid-recording")
        rows = ledger_rows(out)
        done = sum(status == "done" for status, _ in rows.values())
        running = [name for name, (status, _) in rows.items() if status == "running"]
        # Each recording caches 3 stages; more entries than the done recordings own
        # means the running one is part-way through.
        if done >= 1 and running and cache_entries(out) > 3 * done:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return rows
        time.sleep(0.05)
    process.kill()
    pytest.fail("the batch never reached the middle of its second recording")


def outputs(out: Path) -> dict[str, object]:
    """Every output file of every recording; result.json without its per-run timings."""
    files: dict[str, object] = {}
    for path in sorted(out.glob("*/*")):
        if path.parent.name.startswith(".") or path.name.startswith("."):
            continue
        key = f"{path.parent.name}/{path.name}"
        if path.name == "result.json":
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("timings")
            files[key] = data
        else:
            files[key] = path.read_bytes()
    return files


def test_sigkill_mid_batch_then_rerun_finishes_with_identical_results(inputs, tmp_path):
    reference = tmp_path / "reference"
    subprocess.run(batch_command(inputs, reference), check=True, capture_output=True, timeout=900)

    out = tmp_path / "out"
    process = subprocess.Popen(batch_command(inputs, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    at_kill = kill_mid_recording(process, out)
    assert process.returncode == -signal.SIGKILL
    cut_off = [name for name, (status, _) in at_kill.items() if status == "running"]
    finished_before = [name for name, (status, _) in at_kill.items() if status == "done"]
    assert len(cut_off) == 1 and finished_before

    rerun = subprocess.run(
        batch_command(inputs, out, "--verbose"), capture_output=True, text=True, timeout=900
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "reused cached result" in rerun.stderr  # the cut-off recording resumed from its stages

    rows = ledger_rows(out)
    assert set(rows) == {f"call{i}.wav" for i in range(CLIPS)}
    assert all(status == "done" for status, _ in rows.values())
    assert rows[cut_off[0]][1] == 2  # started twice
    assert all(rows[name][1] == 1 for name in finished_before)  # never redone

    resumed, expected = outputs(out), outputs(reference)
    assert sorted(resumed) == sorted(expected)
    for key, value in expected.items():
        assert resumed[key] == value, f"{key} differs after the resume"
    assert not list(out.glob("*/.*.tmp")), "a half-written output file was left behind"
