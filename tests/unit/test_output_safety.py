"""Outputs stay inside the output folder, and a full disk leaves no half files."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.errors import OutputError
from pipeline.io.atomic import atomic_write_text
from pipeline.run import outputs
from pipeline.run.outputs import assign_output_names, check_output_folder, safe_output_name, write_outputs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("talk.wav", "talk"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path/x.mp3", "x"),
        ("..", "recording"),
        (".hidden.wav", "hidden"),
        ("a b&c;rm -rf.m4a", "a_b_c_rm_-rf"),
        ("ｆｕｌｌ.wav", "full"),
        ("名前.wav", "名前"),
        ("x\u202egnp.wav", "x_gnp"),
    ],
)
def test_safe_output_name_examples(name: str, expected: str) -> None:
    assert safe_output_name(Path(name)) == expected


@given(st.text(min_size=0, max_size=80))
def test_safe_output_name_never_escapes(name: str) -> None:
    out = safe_output_name(Path(name.replace("\x00", "")))
    root = Path("/srv/out")
    assert out and "/" not in out and "\\" not in out and not out.startswith(".")
    assert (root / out).resolve().parent == root


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 64 KiB tmpfs (needs root); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_is_a_clear_error_and_leaves_nothing(tiny_disk: Path) -> None:
    (tiny_disk / "result.json").write_text("old complete file")
    with pytest.raises(OutputError, match=r"result\.json: cannot write \(disk full\)"):
        atomic_write_text(tiny_disk / "result.json", "x" * 200_000)
    assert (tiny_disk / "result.json").read_text() == "old complete file"
    assert [p.name for p in tiny_disk.iterdir()] == ["result.json"]


def test_source_has_no_shell_true_and_safe_yaml() -> None:
    package = Path(__file__).resolve().parents[2] / "pipeline"
    text = "\n".join(p.read_text(encoding="utf-8") for p in package.rglob("*.py"))
    assert "shell=True" not in text
    assert "yaml.load(" not in text and "yaml.unsafe_load" not in text
    for line in text.splitlines():
        if "torch.load(" in line:
            assert "weights_only=True" in line, line


def test_same_file_name_twice_in_one_run_gets_two_folders(tmp_path: Path) -> None:
    uris = ["/a/meeting.wav", "/b/meeting.wav", "/c/meeting.mp3"]
    names = assign_output_names(uris, {}, tmp_path)
    assert names[0] == "meeting" and len(set(names)) == 3
    assert assign_output_names(uris, {}, tmp_path) == names  # stable from run to run


@pytest.mark.parametrize("case", ["a file", "/dev/full", "read-only"])
def test_unwritable_output_folder_is_exit_5_before_any_work(tmp_path: Path, case: str) -> None:
    if case == "a file":
        folder = tmp_path / "out.txt"
        folder.write_text("")
    elif case == "/dev/full":
        folder = Path("/dev/full")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        if os.access(folder, os.W_OK):  # root writes anywhere: a read-only bind is not at hand
            pytest.skip("running as root: permissions do not stop writes")
    with pytest.raises(OutputError) as err:
        check_output_folder(folder)
    assert err.value.exit_code == 5 and str(folder) in str(err.value)


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    stale = tmp_path / ".asr-0123.json.k1ll3d.tmp"
    stale.write_text("half")
    os.utime(stale, (0, 0))  # long ago
    fresh = tmp_path / ".asr-0123.json.w0rk1n.tmp"  # another writer, still at work
    fresh.write_text("busy")
    atomic_write_text(tmp_path / "asr-0123.json", "{}")
    assert not stale.exists() and fresh.exists()


def test_names_in_the_batch_summary_are_text_not_markup(capsys) -> None:
    from pipeline.cli.batch_command import print_batch_summary
    from pipeline.run.batch.driver import BatchSummary
    from pipeline.run.batch.record import RecordingRow

    row = RecordingRow("/in/take [final]\nb.wav", "failed", error="/in/take [bold]x[/bold]: bad\nline")
    print_batch_summary(BatchSummary("r1", (row,), 0.1), Path("/out"))
    printed = capsys.readouterr().out
    assert "[final]" in printed and "[bold]x[/bold]" in printed and "\\n" in printed


def test_an_interrupt_at_any_line_of_a_write_leaves_no_temporary(tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM lands between two lines of the writer: the target is old or new, no stray file."""
    import sys

    import pipeline.io.atomic as atomic

    target = tmp_path / "result.json"
    target.write_text("old")
    for stop_at in range(1, 200):
        lines = 0

        def interrupt_at_line(frame, event, arg, stop_at=stop_at):
            nonlocal lines
            if frame.f_code.co_filename != atomic.__file__:
                return interrupt_at_line
            if event == "line":
                lines += 1
                if lines == stop_at:
                    raise KeyboardInterrupt
            return interrupt_at_line

        sys.settrace(interrupt_at_line)
        try:
            atomic.atomic_write_text(target, "new")
            finished = True
        except KeyboardInterrupt:
            finished = False
        finally:
            sys.settrace(None)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"], stop_at
        assert target.read_text() in {"old", "new"}
        if finished:
            break
    assert target.read_text() == "new"


def test_a_rerun_into_a_read_only_recording_folder_leaves_no_old_copy(
    tmp_path: Path, hand_built_result, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() == 0:  # root deletes from read-only folders: refuse as for any other user
        real_rmtree = shutil.rmtree

        def rmtree_as_a_user(path: Path, ignore_errors: bool = False) -> None:
            for folder, folders, files in os.walk(path):
                if (folders or files) and not os.stat(folder).st_mode & stat.S_IWUSR:
                    if ignore_errors:
                        return
                    raise PermissionError(errno.EACCES, "Permission denied", folder)
            real_rmtree(path, ignore_errors=ignore_errors)

        monkeypatch.setattr(outputs.shutil, "rmtree", rmtree_as_a_user)
    out = tmp_path / "meeting"
    write_outputs(hand_built_result, out, ("json",))
    out.chmod(0o555)
    write_outputs(hand_built_result, out, ("json",))
    assert [p.name for p in tmp_path.iterdir()] == ["meeting"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_old_copy_that_cannot_be_removed_is_named_in_one_warning(
    tmp_path: Path, hand_built_result, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "meeting"
    write_outputs(hand_built_result, out, ("json",))

    def refuse(path: Path) -> None:  # what rmtree meets where the folder's files cannot be deleted
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(outputs.shutil, "rmtree", refuse)
    write_outputs(hand_built_result, out, ("json",))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".meeting.old-")]
    assert len(left) == 1 and len(warnings) == 1
    assert str(left[0]) in warnings[0] and "Permission denied" in warnings[0]
