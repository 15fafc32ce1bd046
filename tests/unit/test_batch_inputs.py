"""Batch input discovery: folders, fsspec URLs (memory://), globs, manifests, --since, output names."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import pytest

from pipeline.core.errors import ConfigError
from pipeline.run.batch.discover import InputItem, discover_inputs, parse_since, read_manifest, select_since
from pipeline.run.batch.execute import local_copy
from pipeline.run.batch.plan import plan
from pipeline.run.batch.settings import BatchConfig
from pipeline.run.ledger import Ledger

EXTENSIONS = BatchConfig().extensions


@pytest.fixture
def memfs():
    """A fresh in-memory filesystem: memory:// URLs resolve into it."""
    fs = fsspec.filesystem("memory")
    fs.rm("/", recursive=True)
    yield fs
    fs.rm("/", recursive=True)


def write(path: Path, data: bytes = b"RIFF") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_memory_folder_is_searched_recursively_by_extension(memfs):
    memfs.pipe("/calls/b.wav", b"bb")
    memfs.pipe("/calls/day1/a.FLAC", b"a")
    memfs.pipe("/calls/day1/notes.txt", b"not audio")
    memfs.pipe("/other/c.wav", b"c")
    items = discover_inputs(["memory://calls"], extensions=EXTENSIONS)
    assert [i.uri for i in items] == ["memory:///calls/b.wav", "memory:///calls/day1/a.FLAC"]
    assert [i.size for i in items] == [2, 1]
    assert all(i.mtime is not None and not i.is_local for i in items)
    assert items[1].name == "a.FLAC"


def test_memory_file_is_taken_whatever_its_extension(memfs):
    memfs.pipe("/x/recording.bin", b"x")
    (item,) = discover_inputs(["memory://x/recording.bin"], extensions=EXTENSIONS)
    assert item.uri == "memory:///x/recording.bin"


def test_memory_recording_is_downloaded_under_its_own_name(memfs):
    memfs.pipe("/calls/a.wav", b"audio bytes")
    (item,) = discover_inputs(["memory://calls"], extensions=EXTENSIONS)
    with local_copy(item) as path:
        assert path.name == "a.wav" and path.read_bytes() == b"audio bytes"
    assert not path.exists()  # the temporary copy is gone


def test_local_folder_recursive_absolute_and_without_repeats(tmp_path, monkeypatch):
    write(tmp_path / "in" / "z.mp3")
    write(tmp_path / "in" / "sub" / "deeper" / "a.wav")
    write(tmp_path / "in" / "cover.jpg")
    monkeypatch.chdir(tmp_path)
    items = discover_inputs(["in", str(tmp_path / "in" / "z.mp3")], extensions=EXTENSIONS)
    expected = [tmp_path / "in" / "sub" / "deeper" / "a.wav", tmp_path / "in" / "z.mp3"]
    assert [i.uri for i in items] == [str(p) for p in expected]
    assert all(i.is_local and Path(i.uri).is_absolute() for i in items)
    assert items[1].mtime == pytest.approx(os.stat(tmp_path / "in" / "z.mp3").st_mtime)


def test_glob_takes_matching_files_only(tmp_path):
    write(tmp_path / "a1.wav")
    write(tmp_path / "a2.wav")
    write(tmp_path / "b.wav")
    (tmp_path / "a3.wav").mkdir()
    items = discover_inputs([str(tmp_path / "a*.wav")], extensions=EXTENSIONS)
    assert [Path(i.uri).name for i in items] == ["a1.wav", "a2.wav"]


def test_missing_input_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        discover_inputs([str(tmp_path / "nope")], extensions=EXTENSIONS)


def test_unknown_protocol_is_a_usage_error():
    with pytest.raises(ConfigError, match="cannot open"):
        discover_inputs(["nosuchproto://bucket/a.wav"], extensions=EXTENSIONS)


def test_empty_folder_gives_nothing(tmp_path, caplog):
    assert discover_inputs([str(tmp_path)], extensions=EXTENSIONS) == []
    assert "no audio files" in caplog.text


def test_manifest_paths_are_relative_to_the_manifest(tmp_path, memfs):
    write(tmp_path / "audio" / "one.wav")
    write(tmp_path / "abs.ogg")
    memfs.pipe("/m/remote.wav", b"r")
    manifest = tmp_path / "lists" / "tonight.csv"
    manifest.parent.mkdir()
    manifest.write_text(
        "\ufeffcaller,Path\n"  # BOM from spreadsheet exports, any case of the header
        "alice,../audio/one.wav\n"
        f"bob,{tmp_path / 'abs.ogg'}\n"
        "carol,memory://m/remote.wav\n"
        "dave,\n",
        encoding="utf-8",
    )
    assert read_manifest(manifest) == [
        str(manifest.parent / "../audio/one.wav"),
        str(tmp_path / "abs.ogg"),
        "memory://m/remote.wav",
    ]
    items = discover_inputs([], manifest=manifest, extensions=EXTENSIONS)
    assert [i.uri for i in items] == [
        str(tmp_path / "audio" / "one.wav"),
        str(tmp_path / "abs.ogg"),
        "memory:///m/remote.wav",
    ]


def test_manifest_without_path_column_says_how_to_fix(tmp_path):
    manifest = write(tmp_path / "m.csv", b"file\na.wav\n")
    with pytest.raises(ConfigError, match="'path' column"):
        read_manifest(manifest)
    with pytest.raises(ConfigError, match="cannot read"):
        read_manifest(tmp_path / "missing.csv")


NOW = datetime(2024, 5, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", NOW - timedelta(hours=36)),
        ("7d", NOW - timedelta(days=7)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T06:30+02:00", datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_since_forms(text, expected):
    assert parse_since(text, now=NOW, last_run=None) == expected


def test_since_last_uses_the_previous_run_or_takes_everything():
    previous = datetime(2024, 5, 1, 23, 0, tzinfo=UTC)
    assert parse_since("last", now=NOW, last_run=previous) == previous
    assert parse_since("last", now=NOW, last_run=None) is None
    with pytest.raises(ConfigError, match="36h"):
        parse_since("yesterday", now=NOW, last_run=None)


def test_select_since_keeps_new_and_undated():
    cutoff = datetime(2024, 5, 1, tzinfo=UTC)
    items = [
        InputItem("/old.wav", 1, cutoff.timestamp() - 1),
        InputItem("/new.wav", 1, cutoff.timestamp()),
        InputItem("s3://b/undated.wav", 1, None),
    ]
    assert [i.uri for i in select_since(items, cutoff)] == ["/new.wav", "s3://b/undated.wav"]


def test_same_file_name_in_two_folders_gets_two_stable_output_folders(tmp_path):
    items = [InputItem("/day1/call.wav", 1, 1.0), InputItem("/day2/call.wav", 1, 1.0)]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        tasks, skipped = plan(items, ledger, "cfg", tmp_path)
        assert skipped == []
        first, second = (t.output_dir for t in tasks)
        assert first == "call" and second.startswith("call-") and len(second) == len("call-") + 8
        ledger.mark_running("/day2/call.wav", "cfg", size=1, mtime=1.0, output_dir=second, run_id="r1")
        ledger.mark_running("/day1/call.wav", "cfg", size=1, mtime=1.0, output_dir=first, run_id="r1")
        # Next night only day2's file is listed: it keeps its folder, not day1's,
        # and so it does under another config.
        (task,) = plan(items[1:], ledger, "cfg", tmp_path)[0]
        assert task.output_dir == second
        (task,) = plan(items[1:], ledger, "other-cfg", tmp_path)[0]
        assert task.output_dir == second


def test_a_name_with_glob_characters_is_taken_literally(tmp_path):
    (tmp_path / "call [1].wav").write_bytes(b"x")
    (tmp_path / "call 1.wav").write_bytes(b"y")
    found = discover_inputs([str(tmp_path / "call [1].wav")], extensions=("wav",))
    assert [Path(i.uri).name for i in found] == ["call [1].wav"]
    # A pattern that names no file is still a glob (quoted by the user on purpose).
    found = discover_inputs([str(tmp_path / "call*.wav")], extensions=("wav",))
    assert sorted(Path(i.uri).name for i in found) == ["call 1.wav", "call [1].wav"]


def test_since_further_back_than_any_date_takes_everything():
    now = datetime(2024, 5, 2, tzinfo=UTC)
    assert parse_since("99999999d", now=now, last_run=None) is None


@pytest.mark.parametrize(
    "name", ["ledger.sqlite.wav", "ledger.lock.mp3", "é" * 200 + ".wav", "ﷺ" * 40 + ".wav"]
)
def test_output_folder_never_takes_the_ledgers_name_or_grows_past_255_bytes(tmp_path, name):
    (tmp_path / "ledger.sqlite").write_bytes(b"")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        (task,), _ = plan([InputItem(f"/in/{name}", 1, 1.0)], ledger, "cfg", tmp_path)
    assert task.output_dir not in ("ledger.sqlite", "ledger.lock")
    assert len(f".{task.output_dir}.partial-12345678".encode()) <= 255
    (tmp_path / task.output_dir).mkdir()


def test_an_older_runs_unusable_folder_name_is_replaced(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.mark_running(
            "/in/ledger.sqlite.wav", "cfg", size=1, mtime=1.0, output_dir="ledger.sqlite", run_id="r"
        )
        (task,), _ = plan([InputItem("/in/ledger.sqlite.wav", 1, 1.0)], ledger, "cfg", tmp_path)
    assert task.output_dir.startswith("ledger.sqlite-")


def test_a_second_batch_on_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    from pipeline.core.errors import OutputError
    from pipeline.run.batch.lock import one_batch_at_a_time

    with (
        one_batch_at_a_time(tmp_path),
        pytest.raises(OutputError, match="another speechpipe batch"),
        one_batch_at_a_time(tmp_path),
    ):
        pass
    with one_batch_at_a_time(tmp_path):  # released when the first one ends
        pass
