"""Every file of the bad-input corpus gets its documented outcome (docs/reliability.md).

Errors: one line naming the file, exit 2, nothing written. Awkward but valid audio:
a result that passes the schema and every invariant. The sensible-result cases run
in one `speechpipe batch` so the models load once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import speechpipe
from corpus import Expected, build_corpus

from pipeline.core.serialize import result_from_dict
from pipeline.core.validate import invariant_violations
from pipeline.report.jsonfile import validate_result

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, sample_wav: Path) -> tuple[Path, dict[str, Expected]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build_corpus(folder, sample_wav, silence_hours=3.0)


def test_errors_are_one_line_exit_2_and_write_nothing(
    corpus: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    folder, cases = corpus
    for name, expected in cases.items():
        if expected.exit_code == 0:
            continue
        out = tmp_path / name
        proc = speechpipe("run", folder / name, "-o", out, "--quiet")
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == expected.exit_code, (name, proc.stderr)
        assert len(lines) == 1 and name in lines[0] and expected.message in lines[0], (name, proc.stderr)
        assert not out.exists(), name


def test_awkward_audio_gets_a_sensible_result(
    corpus: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    folder, cases = corpus
    good = tmp_path / "good"
    good.mkdir()
    for name, expected in cases.items():
        if expected.exit_code == 0:
            (good / name).symlink_to(folder / name)
    proc = speechpipe("batch", good, "-o", tmp_path / "out", "--quiet")
    assert proc.returncode == 0, proc.stderr
    for name, expected in cases.items():
        if expected.exit_code != 0:
            continue
        data = json.loads((tmp_path / "out" / Path(name).stem / "result.json").read_text())
        validate_result(data)
        result = result_from_dict(data)
        assert invariant_violations(result) == [], name
        assert len(result.speakers) in expected.speakers, (name, len(result.speakers))
        if name == "pure_music.wav":
            assert result.stripped and not result.words
        if name.startswith("silence"):
            assert result.duration == pytest.approx(3 * 3600, abs=1) and not result.words
        if name in {
            "dc_offset.wav",
            "clipped.wav",
            "nan_inf.wav",
            "telephone_8k.wav",
            "six_channel_48k.wav",
            "mp3_named.wav",
            "damaged_middle.mp3",
            "channels_17.wav",
            "float_1e30.wav",
        }:
            assert len(result.words) > 40, name  # the speech is still understood


def test_a_symlink_loop_is_bad_input_exit_2(tmp_path: Path) -> None:
    """A link that points at itself is bad input like a missing file, not an internal error."""
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    proc = speechpipe("run", loop, "-o", tmp_path / "out", "--quiet")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "loop.wav" in lines[0] and "symbolic link that loops" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()
