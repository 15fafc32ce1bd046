"""The command line end to end on the demo recording, and its bad-input contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from clirun import speechpipe
from corpus import write_streams

from pipeline.core.serialize import result_from_dict
from pipeline.core.validate import invariant_violations
from pipeline.report.jsonfile import validate_result

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "samples" / "demo.flac"
OUTPUT_FILES = {
    "result.json",
    "speakers.csv",
    "turns.csv",
    "turns.parquet",
    "music.csv",
    "transcript.txt",
    "transcript.srt",
    "transcript.vtt",
    "diarization.rttm",
    "report.html",
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("out")
    return speechpipe("run", DEMO, "-o", out), out / "demo"


@pytest.mark.slow
def test_demo_run_writes_every_output(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out_dir = demo_run
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out_dir.iterdir()} >= OUTPUT_FILES
    data = json.loads((out_dir / "result.json").read_text())
    validate_result(data)
    result = result_from_dict(data)
    assert invariant_violations(result) == []
    assert result.config["asr"]["model"] == "tiny.en"
    assert {m.role for m in result.models} >= {"asr"} and all(m.sha256 for m in result.models)


@pytest.mark.slow
def test_demo_hold_music_is_found_and_stripped(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """The demo is a 12 s loop played 4 times (0-48 s), then speech from 49 s."""
    _, out_dir = demo_run
    result = result_from_dict(json.loads((out_dir / "result.json").read_text()))
    loop = result.stripped[0]
    assert loop.kind == "loop" and loop.start < 1.0 and 42.0 < loop.end <= 49.0
    assert loop.period == pytest.approx(12.0, abs=0.1)
    assert all(w.start >= loop.end for w in result.words)
    assert len(result.words) > 40
    transcript = (out_dir / "transcript.txt").read_text()
    assert transcript.startswith("[hold music 00:00:00–00:00:4") and "loop 0:12 x" in transcript
    assert "New Jersey" in transcript


@pytest.mark.slow
def test_demo_result_carries_the_classified_turns_the_writers_read(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out_dir = demo_run
    result = result_from_dict(json.loads((out_dir / "result.json").read_text()))
    assert result.floor_turns and {t.kind for t in result.floor_turns} <= {
        "turn",
        "backchannel",
        "interjection",
    }
    rows = (out_dir / "turns.csv").read_text().splitlines()[1:]
    assert len(rows) == len(result.floor_turns)
    assert sum(t.word_count for t in result.floor_turns) == sum(s.words for s in result.speakers)
    assert {m.name for m in result.models} >= {"silero-vad", "tiny.en", "segmentation-3.0", "campplus"}


@pytest.mark.slow
def test_batch_writes_the_speaker_names(tmp_path: Path, sample_wav: Path) -> None:
    """``batch --speaker-names`` names speakers as ``run`` does (it used to accept and drop the flag)."""
    (tmp_path / "in").mkdir()
    shutil.copy(sample_wav, tmp_path / "in" / "call.wav")  # two speakers, 30 s
    out = tmp_path / "out"
    proc = speechpipe("batch", tmp_path / "in", "-o", out, "--speaker-names", "Host,Guest", "--quiet")
    assert proc.returncode == 0, proc.stderr
    speakers = [line.split(",")[0] for line in (out / "call" / "speakers.csv").read_text().splitlines()[1:]]
    assert {"Host", "Guest"} <= set(speakers)
    transcript = (out / "call" / "transcript.txt").read_text()
    assert "Host:" in transcript and "Guest:" in transcript


def test_version_and_help() -> None:
    assert speechpipe("--version").stdout.startswith("speechpipe ")
    helptext = speechpipe("run", "--help").stdout
    for option in (
        "--output",
        "--config",
        "--model",
        "--num-speakers",
        "--keep-music",
        "--quiet",
        "exit codes",
    ):
        assert option in helptext


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    (tmp / "empty.wav").write_bytes(b"")
    (tmp / "notes.wav").write_text("not audio at all\n" * 100)
    sf.write(tmp / "whole.wav", np.zeros(16_000 * 10, dtype=np.float32), 16_000)
    data = (tmp / "whole.wav").read_bytes()
    (tmp / "truncated.wav").write_bytes(data[: len(data) // 4])
    return {
        "missing": tmp / "missing.wav",
        "empty": tmp / "empty.wav",
        "non-audio": tmp / "notes.wav",
        "truncated": tmp / "truncated.wav",
        "directory": tmp,
    }


@pytest.mark.parametrize("case", ["missing", "empty", "non-audio", "truncated", "directory"])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path, case: str) -> None:
    path = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    proc = speechpipe("run", path, "-o", out, "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("speechpipe: error: ") and str(path) in lines[0], (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_bad_config_and_flag_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("asr:\n  beam: 3\n")
    proc = speechpipe("run", DEMO, "-o", tmp_path / "o", "--config", bad)
    assert proc.returncode == 2 and "bad.yaml: asr.beam" in proc.stderr
    assert speechpipe("run", DEMO).returncode == 2  # -o is required


def test_a_fifo_is_refused_at_once_by_run(tmp_path: Path) -> None:
    """Opening a FIFO waits for a writer: it used to hang `run` forever."""
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)
    proc = speechpipe("run", fifo, "-o", tmp_path / "out", "--quiet", timeout=60)
    assert proc.returncode == 2, proc.stderr
    expected = f"speechpipe: error: {fifo}: not a regular file (a FIFO); give an audio file"
    assert proc.stderr.strip() == expected


@pytest.mark.slow
def test_a_fifo_in_a_batch_folder_fails_alone(tmp_path: Path, sample_wav: Path) -> None:
    (tmp_path / "in").mkdir()
    os.mkfifo(tmp_path / "in" / "x.wav")
    sf.write(tmp_path / "in" / "short.wav", sf.read(sample_wav)[0][: 16_000 * 4], 16_000)
    proc = speechpipe("batch", tmp_path / "in", "-o", tmp_path / "out", "--quiet", timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "not a regular file (a FIFO)" in proc.stderr
    assert (tmp_path / "out" / "short" / "result.json").is_file()


def two_stream_file(path: Path, speech: np.ndarray) -> Path:
    """A Matroska file: audio stream 0 silent, audio stream 1 ``speech`` (16 kHz mono, FLAC both)."""
    return write_streams(path, [np.zeros_like(speech), speech])


@pytest.mark.slow
def test_the_audio_stream_with_speech_is_analysed(tmp_path: Path, sample_wav: Path) -> None:
    """Silent first track, speech on the second: it used to give 0 speakers, exit 0, no warning."""
    path = two_stream_file(tmp_path / "video.mka", sf.read(sample_wav, dtype="float32")[0][: 16_000 * 12])
    out = tmp_path / "out"
    proc = speechpipe("run", path, "-o", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "video" / "result.json").read_text())
    validate_result(data)
    assert (data["audio_stream"], data["audio_streams"]) == (1, 2)
    result = result_from_dict(data)
    assert len(result.words) > 10 and result.speakers
    # Stream 0 of the same bytes into the same OUT: its own stages, not stream 1's cached ones.
    proc = speechpipe("run", path, "-o", out, "--quiet", "--stream", "0")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "video" / "result.json").read_text())
    assert data["audio_stream"] == 0 and not result_from_dict(data).words


def test_a_stream_the_file_lacks_is_exit_2_naming_the_flag(tmp_path: Path) -> None:
    path = two_stream_file(tmp_path / "video.mka", np.zeros(16_000, np.float32))
    proc = speechpipe("run", path, "-o", tmp_path / "out", "--stream", "2")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"speechpipe: error: {path}: has no audio stream 2 (--stream 2); it has 2 audio streams: "
        "give --stream 0 to 1"
    )
    assert not (tmp_path / "out").exists()
    proc = speechpipe("run", path, "-o", tmp_path / "out", "--stream", "-1")
    assert proc.returncode == 2 and "--stream: '-1': give an audio stream index, 0 or more" in proc.stderr


@pytest.mark.slow
def test_run_gives_each_recording_of_the_same_name_its_own_folder(tmp_path: Path, sample_wav: Path) -> None:
    audio, rate = sf.read(sample_wav, dtype="float32")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "meeting.wav", audio[: 6 * rate], rate)
    out = tmp_path / "out"
    proc = speechpipe("run", tmp_path / "a" / "meeting.wav", tmp_path / "b" / "meeting.wav", "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr
    folders = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len(folders) == 2 and folders[0] == "meeting" and folders[1].startswith("meeting-")
    sources = {json.loads((out / f / "result.json").read_text())["source"] for f in folders}
    assert len(sources) == 2


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path, sample_wav: Path) -> None:
    """SIGTERM (timeout, Docker, Kubernetes): one line, exit 143, no temporary file or partial folder left."""
    import signal
    import sys
    import time

    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", str(sample_wav), "-o", str(out), "-q"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / ".cache").is_dir() and time.monotonic() < deadline:  # the first stage is done
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1].startswith("speechpipe: terminated")
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp") or ".partial-" in p.name]
    assert leftovers == []


def _hold_then_talk(path: Path, sample_wav: Path, shared_data: Path) -> Path:
    """388 s: a 22.4 s music track looping for 284 s, then 104 s of three real conversations."""
    music, rate = sf.read(
        shared_data / "music" / "ina_musanmix_MUSAN_music-hd-0048_0-22.4s.wav", dtype="float32"
    )
    talks = [
        sf.read(clip, dtype="float32")[0]
        for clip in (
            sample_wav,
            shared_data / "conversations" / "azure_katiesteve.wav",
            shared_data / "multispeaker" / "pyaa_diarizationExample.wav",
        )
    ]
    speech = np.concatenate(talks)
    speech = np.concatenate([speech, np.zeros(104 * rate - speech.size, np.float32)])
    sf.write(path, np.concatenate([np.resize(0.5 * music, 284 * rate), speech]), rate, subtype="PCM_16")
    return path


@pytest.mark.slow
def test_json_logs_report_the_progress_of_the_long_stages(
    tmp_path: Path, sample_wav: Path, shared_data: Path
) -> None:
    """A scheduled job's JSON log shows each long stage moving, even with --quiet."""
    (tmp_path / "in").mkdir()
    _hold_then_talk(tmp_path / "in" / "hold.wav", sample_wav, shared_data)
    proc = speechpipe("batch", tmp_path / "in", "-o", tmp_path / "out", "--log-format", "json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    events = [
        event
        for line in proc.stderr.splitlines()
        if line.startswith("{") and (event := json.loads(line)).get("event") == "progress"
    ]
    moving = {
        stage: [e["done"] for e in events if e["stage"] == stage and e["done"] > 0]
        for stage in {"diarization", "hold_music"}
    }
    for stage, done in moving.items():
        assert len(done) >= 3, (stage, events)
        assert done == sorted(done), (stage, done)
