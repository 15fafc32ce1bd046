"""The Ray executor on a local Ray instance (2 CPUs) with the real models on short real clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
sf = pytest.importorskip("soundfile")

from pipeline.run.batch.driver import run_batch  # noqa: E402 - after the importorskip above
from pipeline.run.config import load_config  # noqa: E402
from pipeline.run.ledger import Ledger  # noqa: E402
from pipeline.run.options import RunOptions  # noqa: E402
from pipeline.run.ray_executor import RayExecutor  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def clips(tmp_path, sample_wav):
    """Two 8 s slices of pyannote's two-speaker sample and one file that is not audio."""
    audio, rate = sf.read(sample_wav, dtype="float32")
    folder = tmp_path / "in"
    folder.mkdir()
    for i, start in enumerate((0, 12)):
        sf.write(folder / f"clip{i}.wav", audio[start * rate : (start + 8) * rate], rate)
    (folder / "broken.wav").write_bytes(b"RIFF not really a wav file")
    return folder


def test_ray_batch_runs_each_recording_records_failures_and_resumes(local_ray, clips, tmp_path):
    config = load_config("default", **{"batch.executor": "ray", "output.formats": ["json", "rttm"]})
    out = tmp_path / "out"
    report = run_batch([str(clips)], RunOptions(config), out, executor=RayExecutor)

    assert {Path(r.uri).name: r.status for r in report.rows} == {
        "broken.wav": "failed",
        "clip0.wav": "done",
        "clip1.wav": "done",
    }
    assert report.exit_code == 1
    for name in ("clip0", "clip1"):
        result = json.loads((out / name / "result.json").read_text())
        assert result["source"] == str(clips / f"{name}.wav")
        assert result["segments"] and result["duration"] == pytest.approx(8.0)
        assert (out / name / "diarization.rttm").is_file()
    with Ledger.in_folder(out) as ledger:
        rows = {Path(e.uri).name: e for e in ledger.entries()}
    assert rows["broken.wav"].status == "failed" and rows["broken.wav"].exit_code == 2
    assert {"asr", "diarization"} <= set(rows["clip0.wav"].timings)
    assert any(m.role == "asr" for m in rows["clip0.wav"].models)

    # Same ledger semantics as the local executor: done recordings are skipped,
    # the failed one is retried (and fails again).
    again = run_batch([str(clips)], RunOptions(config), out, executor=RayExecutor)
    assert {Path(r.uri).name: r.status for r in again.rows} == {
        "broken.wav": "failed",
        "clip0.wav": "skipped",
        "clip1.wav": "skipped",
    }
