"""The batch ledger: rows, runs, and what a rerun skips or redoes (with a fake processor)."""

from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path

import pytest

from pipeline.core.errors import AudioError
from pipeline.core.types import ConversationStats, ModelIdentity, RecordingResult
from pipeline.io.hashing import file_sha256
from pipeline.run.batch.driver import run_batch
from pipeline.run.batch.execute import LocalExecutor
from pipeline.run.config import load_config
from pipeline.run.ledger import Ledger
from pipeline.run.options import RunOptions
from pipeline.run.runner import config_sha256
from pipeline.stages.naming import SpeakerNaming

MODELS = (ModelIdentity("asr", "fake", "test", "abc"),)


# -- the ledger itself -------------------------------------------------------------------


def test_rows_go_running_done_failed_and_count_attempts(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.mark_running("/a.wav", "cfg", size=3, mtime=1.5, output_dir="a", run_id="r1")
        entry = ledger.get("/a.wav", "cfg")
        assert (entry.status, entry.attempts, entry.finished_at) == ("running", 1, None)
        ledger.mark_failed("/a.wav", "cfg", error="a.wav: not audio", exit_code=2, content_sha256=None)
        entry = ledger.get("/a.wav", "cfg")
        assert (entry.status, entry.error, entry.exit_code) == ("failed", "a.wav: not audio", 2)
        ledger.mark_running("/a.wav", "cfg", size=4, mtime=2.5, output_dir="a", run_id="r2")
        ledger.mark_done("/a.wav", "cfg", content_sha256="f00", timings={"asr": 1.25}, models=MODELS)
        entry = ledger.get("/a.wav", "cfg")
        assert entry.status == "done" and entry.error is None and entry.exit_code is None
        assert (entry.attempts, entry.run_id, entry.size, entry.mtime) == (2, "r2", 4, 2.5)
        assert entry.timings == {"asr": 1.25} and entry.models == MODELS
        assert entry.finished_at >= entry.started_at
        assert ledger.get("/a.wav", "other") is None


def test_ledger_survives_reopening(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.mark_running("/a.wav", "cfg", size=3, mtime=1.5, output_dir="a", run_id="r1")
    with Ledger.in_folder(tmp_path) as ledger:
        assert [e.uri for e in ledger.entries()] == ["/a.wav"]


def test_worker_is_the_ray_node_of_the_last_attempt(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.mark_running("/a.wav", "cfg", size=3, mtime=1.5, output_dir="a", run_id="r1", worker="node-a")
        assert ledger.get("/a.wav", "cfg").worker == "node-a"
        ledger.mark_failed("/a.wav", "cfg", error="lost", exit_code=4, content_sha256=None, worker="node-a")
        ledger.mark_running("/a.wav", "cfg", size=3, mtime=1.5, output_dir="a", run_id="r2")
        assert ledger.get("/a.wav", "cfg").worker is None  # the local executor runs it now
        ledger.mark_done("/a.wav", "cfg", content_sha256="f00", timings={}, models=(), worker="node-b")
        assert ledger.get("/a.wav", "cfg").worker == "node-b"


def test_a_ledger_from_before_the_worker_column_gains_it(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.mark_running("/a.wav", "cfg", size=3, mtime=1.5, output_dir="a", run_id="r1")
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE recordings DROP COLUMN worker")
    db.commit()
    db.close()
    with Ledger(path) as ledger:
        assert ledger.get("/a.wav", "cfg").worker is None
        ledger.mark_done("/a.wav", "cfg", content_sha256="f00", timings={}, models=(), worker="node-a")
        assert ledger.get("/a.wav", "cfg").worker == "node-a"


def test_update_without_a_running_row_is_a_bug(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger, pytest.raises(KeyError, match="mark_running"):
        ledger.mark_done("/a.wav", "cfg", content_sha256="f00", timings={}, models=())


def test_last_run_start_ignores_runs_cut_off(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.last_run_start() is None
        ledger.start_run("r1", "cfg", "local", started_at="2024-05-01T00:00:00+00:00")
        ledger.finish_run("r1", done=1, failed=0, skipped=0)
        ledger.start_run("r2", "cfg", "local", started_at="2024-05-02T00:00:00+00:00")  # killed
        assert ledger.last_run_start().isoformat() == "2024-05-01T00:00:00+00:00"


def config_hash(naming: SpeakerNaming | None = None, **overrides: object) -> str:
    return config_sha256(RunOptions(load_config("default", **overrides), naming or SpeakerNaming()))


def test_config_hash_is_the_stages_keys_not_how_and_where_a_batch_runs(tmp_path):
    base = config_hash()
    assert base == config_hash(**{"batch.executor": "ray", "asr.cpu_threads": 2, "models_dir": str(tmp_path)})
    assert base != config_hash(**{"asr.beam_size": 1})
    assert base != config_hash(**{"hold_music.strip": "off"})  # the strip stage's key
    assert base != config_hash(**{"output.formats": ["json"]})
    assert base != config_hash(SpeakerNaming(names=("Host", "Guest")))  # names change the outputs
    assert base == config_hash(**{"diarization.pyannote.token": "hf_secret"})  # secrets never reach it


# -- what a rerun does -------------------------------------------------------------------


class FakeProcessor:
    """Stands in for the models: a result from the file's bytes; ``bad`` files fail."""

    def __init__(self) -> None:
        self.loads = 0
        self.calls: list[str] = []

    def load(self, options, cache_root):
        self.loads += 1
        self.options = options
        return self.process

    def process(self, path: Path, progress) -> RecordingResult:
        self.calls.append(path.name)
        data = path.read_bytes()
        if data.startswith(b"bad"):
            raise AudioError(f"{path}: not an audio file; check the file")
        return RecordingResult(
            source=str(path),
            duration=float(len(data)),
            content_sha256=file_sha256(path),
            music=(),
            stripped=(),
            segments=(),
            turns=(),
            overlapped_turns=(),
            speakers=(),
            conversation=ConversationStats(
                duration=float(len(data)), hold_music_time=0.0, speech_time=0.0, num_speakers=0
            ),
            language="en",
            models=MODELS,
            timings={"asr": 0.5},
        )


@pytest.fixture
def batch(tmp_path):
    """``run(**overrides)`` runs a batch over tmp_path/in into tmp_path/out with a fake processor."""
    (tmp_path / "in").mkdir()
    fake = FakeProcessor()

    def run(*, since=None, naming=None, **overrides):
        config = load_config("default", **{"output.formats": ["json"], **overrides})
        options = RunOptions(config, naming or SpeakerNaming())
        executor = functools.partial(LocalExecutor, make_processor=fake.load)
        return run_batch([str(tmp_path / "in")], options, tmp_path / "out", since=since, executor=executor)

    run.fake = fake
    run.inp = tmp_path / "in"
    run.out = tmp_path / "out"
    return run


def statuses(report):
    return {Path(row.uri).name: row.status for row in report.rows}


def test_failure_does_not_stop_the_batch_and_rerun_redoes_only_it(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    (batch.inp / "b.wav").write_bytes(b"bad!")
    (batch.inp / "c.wav").write_bytes(b"cc")
    report = batch()
    assert statuses(report) == {"a.wav": "done", "b.wav": "failed", "c.wav": "done"}
    assert report.exit_code == 1
    assert "not an audio file" in report.rows[1].error
    assert (batch.out / "a" / "result.json").is_file() and not (batch.out / "b").exists()
    with Ledger.in_folder(batch.out) as ledger:
        failed = ledger.get(str(batch.inp / "b.wav"), ledger.entries()[0].config_sha256)
        assert failed.status == "failed" and failed.exit_code == 2

    (batch.inp / "b.wav").write_bytes(b"bbbbbb")  # fixed
    batch.fake.calls.clear()
    report = batch()
    assert statuses(report) == {"a.wav": "skipped", "b.wav": "done", "c.wav": "skipped"}
    assert batch.fake.calls == ["b.wav"] and report.exit_code == 0


def test_nothing_to_do_loads_no_models(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    batch()
    batch()
    assert batch.fake.loads == 1 and batch.fake.calls == ["a.wav"]


def test_changed_bytes_are_redone_and_touched_bytes_are_not(batch):
    a, c = batch.inp / "a.wav", batch.inp / "c.wav"
    a.write_bytes(b"aaaa")
    c.write_bytes(b"cc")
    batch()
    a.write_bytes(b"aaaa, edited")
    os.utime(c, (1e9, 1e9))  # same bytes, new time (copied again, restored from backup)
    batch.fake.calls.clear()
    report = batch()
    assert batch.fake.calls == ["a.wav"]
    assert statuses(report) == {"a.wav": "done", "c.wav": "skipped"}
    batch.fake.calls.clear()
    assert statuses(batch()) == {"a.wav": "skipped", "c.wav": "skipped"}
    assert batch.fake.calls == []  # the new time was recorded: not even hashed again


def test_other_config_redoes_everything_into_the_same_folders(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    batch()
    report = batch(**{"asr.beam_size": 1})
    assert statuses(report) == {"a.wav": "done"} and report.rows[0].output_dir == "a"
    with Ledger.in_folder(batch.out) as ledger:
        assert len(ledger.entries()) == 2


def test_a_recording_cut_off_by_a_crash_is_redone(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    batch()
    with sqlite3.connect(batch.out / "ledger.sqlite") as db:  # what SIGKILL mid-recording leaves
        db.execute("UPDATE recordings SET status = 'running', finished_at = NULL")
    assert statuses(batch()) == {"a.wav": "done"}


def test_deleted_outputs_are_redone(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    batch()
    (batch.out / "a" / "result.json").unlink()
    (batch.out / "a").rmdir()
    assert statuses(batch()) == {"a.wav": "done"}
    assert (batch.out / "a" / "result.json").is_file()


def test_since_last_takes_only_what_arrived_after_the_previous_run(batch):
    old = batch.inp / "old.wav"
    old.write_bytes(b"old")
    os.utime(old, (1e9, 1e9))
    assert statuses(batch(since="last")) == {"old.wav": "done"}  # first run: everything
    (batch.inp / "new.wav").write_bytes(b"new")
    report = batch(since="last")
    assert statuses(report) == {"new.wav": "done"}  # old.wav is not even listed


def test_result_source_is_the_recording_uri(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    batch()
    text = (batch.out / "a" / "result.json").read_text()
    assert f'"source": "{batch.inp / "a.wav"}"' in text


def test_speaker_names_reach_the_workers_and_redo_what_was_named_otherwise(batch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    batch()
    report = batch(naming=SpeakerNaming(names=("Host", "Guest")))
    assert batch.fake.options.naming.names == ("Host", "Guest")
    assert statuses(report) == {"a.wav": "done"}  # other names, other outputs: redone


def test_a_recording_whose_outputs_cannot_be_written_fails_alone_and_a_rerun_goes_on(batch, monkeypatch):
    from pipeline.run.batch import record as record_module

    for name in ("a.wav", "ledger.sqlite.wav", "c.wav"):
        (batch.inp / name).write_bytes(name.encode())
    real_write = record_module.write_outputs

    def write(result, out_dir, formats):  # the second folder cannot be made (a name too long, say)
        if out_dir.name.startswith("ledger.sqlite"):
            raise OSError(36, "File name too long")
        return real_write(result, out_dir, formats)

    monkeypatch.setattr(record_module, "write_outputs", write)
    report = batch()
    assert statuses(report) == {"a.wav": "done", "ledger.sqlite.wav": "failed", "c.wav": "done"}
    (error,) = [row.error for row in report.rows if row.status == "failed"]
    assert "File name too long" in error and "\n" not in error and "Traceback" not in error
    monkeypatch.setattr(record_module, "write_outputs", real_write)
    report = batch()
    assert statuses(report) == {"a.wav": "skipped", "ledger.sqlite.wav": "done", "c.wav": "skipped"}
    assert (batch.out / "ledger.sqlite").is_file()  # the ledger is still the ledger


def test_a_file_that_vanishes_mid_batch_is_a_one_line_exit_2(batch, monkeypatch):
    (batch.inp / "a.wav").write_bytes(b"aaaa")
    (batch.inp / "b.wav").write_bytes(b"bbbb")
    real_process = batch.fake.process

    def vanishing(path, progress):
        if path.name == "a.wav":
            path.unlink()
        return real_process(path, progress)

    monkeypatch.setattr(batch.fake, "process", vanishing)
    report = batch()
    assert statuses(report) == {"a.wav": "failed", "b.wav": "done"}
    assert "cannot read" in report.rows[0].error
    with Ledger.in_folder(batch.out) as ledger:
        (row,) = [e for e in ledger.entries() if e.uri.endswith("a.wav")]
        assert row.exit_code == 2 and "Traceback" not in row.error
