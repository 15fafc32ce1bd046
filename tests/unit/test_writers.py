"""Writers, result.json schema and serialisation on a hand-built result."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.core.errors import ConfigError, OutputError
from pipeline.core.serialize import result_from_dict
from pipeline.core.types import (
    ConversationStats,
    FloorTurn,
    LanguageDetection,
    RecordingResult,
    Region,
    Segment,
    SpeakerStats,
    Turn,
    Word,
)
from pipeline.report import get_writer, writer_names
from pipeline.report.jsonfile import validate_result
from pipeline.report.text import music_line
from pipeline.run import outputs
from pipeline.run.outputs import write_outputs


def small_result(source: str = "talk.wav") -> RecordingResult:
    loop = Region(0.0, 2697.0, "loop", period=133.0, repeats=20.3, confidence=0.97)
    words = (Word(2700.0, 2700.4, " Hello", 0.9, "A"), Word(2700.5, 2701.0, " there?", 0.8, "A"))
    segments = (
        Segment(2700.0, 2701.0, "Hello there?", words, "A"),
        Segment(2702.0, 2703.5, "Yes.", (Word(2702.0, 2703.5, " Yes.", 0.95, "B"),), "B"),
    )
    turns = (Turn(2699.8, 2701.2, "A"), Turn(2701.9, 2703.6, "B"))
    speakers = (
        SpeakerStats("A", 1.4, 0.4516, 1, 2, 85.7, 1.4, 2699.8, 2701.2),
        SpeakerStats("B", 1.7, 0.5484, 1, 1, 35.3, 1.7, 2701.9, 2703.6),
    )
    return RecordingResult(
        source=source,
        duration=2710.0,
        content_sha256="0" * 64,
        music=(loop,),
        stripped=(loop,),
        segments=segments,
        turns=turns,
        overlapped_turns=turns,
        speakers=speakers,
        conversation=ConversationStats(2710.0, 2697.0, 3.1, 2),
        language="en",
        floor_turns=(
            FloorTurn("A", 2699.8, 2701.2, 1.4, "turn", True, 2, "Hello there?", questions=1),
            FloorTurn("B", 2701.9, 2703.6, 1.7, "turn", True, 1, "Yes.", response_latency=0.7),
        ),
        config={"asr": {"model": "tiny.en"}},
        timings={"asr": 1.5},
    )


def test_music_line_matches_the_documented_form() -> None:
    assert music_line(Region(0, 2697, "loop", 133, 20.3)) == "[hold music 00:00:00–00:44:57, loop 2:13 x 20]"
    assert music_line(Region(60, 90, "music")) == "[hold music 00:01:00–00:01:30]"


def test_every_writer_writes_its_file(tmp_path: Path) -> None:
    formats = ("json", "speakers_csv", "music_csv", "txt", "rttm", "srt", "vtt")
    paths = write_outputs(small_result(), tmp_path, formats)
    assert sorted(p.name for p in paths) == sorted(
        [
            "result.json",
            "speakers.csv",
            "music.csv",
            "transcript.txt",
            "diarization.rttm",
            "transcript.srt",
            "transcript.vtt",
        ]
    )
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_transcript_srt_vtt_rttm_content(tmp_path: Path) -> None:
    result = small_result()
    write_outputs(result, tmp_path, ("txt", "srt", "vtt", "rttm", "music_csv"))
    assert (tmp_path / "transcript.txt").read_text().splitlines() == [
        "[hold music 00:00:00–00:44:57, loop 2:13 x 20]",
        "[00:45:00] A: Hello there?",
        "[00:45:02] B: Yes.",
    ]
    srt = (tmp_path / "transcript.srt").read_text()
    assert srt.startswith("1\n00:45:00,000 --> 00:45:01,000\nA: Hello there?\n")
    vtt = (tmp_path / "transcript.vtt").read_text()
    assert vtt.startswith("WEBVTT\n") and "00:45:02.000 --> 00:45:03.500\n<v B>Yes." in vtt
    rttm = (tmp_path / "diarization.rttm").read_text().splitlines()
    assert rttm[0] == "SPEAKER talk 1 2699.800 1.400 <NA> <NA> A <NA> <NA>"
    rows = list(csv.reader((tmp_path / "music.csv").open()))
    assert rows == [
        ["start", "end", "kind", "period", "repeats", "confidence"],
        ["0.0", "2697.0", "loop", "133.0", "20.3", "0.97"],
    ]


def test_result_json_validates_and_round_trips(tmp_path: Path) -> None:
    result = small_result()
    get_writer("json")(result, tmp_path)
    data = json.loads((tmp_path / "result.json").read_text())
    validate_result(data)
    assert data["schema_version"] == "1.2"
    assert result_from_dict(data) == result


def test_speakers_csv_has_a_row_per_speaker(tmp_path: Path) -> None:
    get_writer("speakers_csv")(small_result(), tmp_path)
    rows = list(csv.DictReader((tmp_path / "speakers.csv").open()))
    assert [r["speaker"] for r in rows] == ["A", "B"]
    assert float(rows[0]["talk_time"]) == 1.4


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="unknown format 'docx'"):
        get_writer("docx")
    assert {"json", "srt", "vtt", "rttm", "txt"} <= set(writer_names())


def test_schema_lists_every_field_of_the_result_types() -> None:
    import dataclasses

    from pipeline.report.jsonfile import result_schema

    defs = result_schema()["$defs"]
    for name, cls in (
        ("speaker", SpeakerStats),
        ("conversation", ConversationStats),
        ("turn", Turn),
        ("word", Word),
        ("segment", Segment),
        ("region", Region),
        ("floor_turn", FloorTurn),
        ("language_detection", LanguageDetection),
    ):
        assert set(defs[name]["properties"]) == {f.name for f in dataclasses.fields(cls)}, name


def test_a_failed_rewrite_leaves_the_previous_complete_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "meeting"
    write_outputs(small_result(), out, ("json", "txt"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(result, folder):  # the second writer fails (disk full, say)
        raise OutputError(f"{folder}/transcript.txt: cannot write (disk full)")

    real_get_writer = outputs.get_writer
    monkeypatch.setattr(
        outputs, "get_writer", lambda name: broken if name == "txt" else real_get_writer(name)
    )
    with pytest.raises(OutputError):
        write_outputs(small_result(), out, ("json", "txt"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["meeting"]  # no staging folder left


def test_a_killed_runs_partial_folder_is_named_so_and_removed_by_the_next_write(tmp_path: Path) -> None:
    leftover = tmp_path / ".meeting.partial-0123abcd"
    leftover.mkdir()
    (leftover / ".result.json.x1.tmp").write_text("half")
    write_outputs(small_result(), tmp_path / "meeting", ("json",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meeting"]


# Speaker names and text as users and models produce them: spaces (``--speaker-names``),
# two names that differ only in spacing, line breaks and tabs, markup, an empty-ish
# name, Unicode, spreadsheet formulas, CSV metacharacters.
HOSTILE_NAMES = (
    "Dr Ada Lovelace",
    "Dr Ada  Lovelace",
    "Tab\there\nnewline",
    "<v>&",
    " ",
    "Zoë 李\u2028x",
    '=HYPERLINK("http://x")',
    'Smith, "Jo"',
)
HOSTILE_TEXTS = (
    "a --> b",
    "line one\n\nline two",
    "<b>bold</b> & <v X>co",
    "@SUM(1)",
    '-1 or +1, "quoted"',
    "tab\tand\rreturn",
    "plain",
    "\n",
)


def hostile_result() -> RecordingResult:
    """One segment, turn and floor turn per hostile name, 2 s apart, with a hostile text each."""
    segments, turns, floor, speakers = [], [], [], []
    for i, (name, text) in enumerate(zip(HOSTILE_NAMES, HOSTILE_TEXTS, strict=True)):
        start, end = 2.0 * i, 2.0 * i + 1.5
        segments.append(Segment(start, end, text, (Word(start, end, text, 0.9, name),), name))
        turns.append(Turn(start, end, name))
        floor.append(FloorTurn(name, start, end, 1.5, "turn", True, 1, text))
        speakers.append(SpeakerStats(name, 1.5, 1 / len(HOSTILE_NAMES), 1, 1, 40.0, 1.5, start, end))
    return replace(
        small_result(source="calls/Team call\t03 <x>.wav"),
        music=(),
        stripped=(),
        segments=tuple(segments),
        turns=tuple(turns),
        overlapped_turns=tuple(turns),
        speakers=tuple(speakers),
        floor_turns=tuple(floor),
    )


def test_rttm_has_ten_fields_per_line_and_one_speaker_per_name(tmp_path: Path) -> None:
    from pyannote.database.util import load_rttm

    result = hostile_result()
    path = get_writer("rttm")(result, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(HOSTILE_NAMES)
    fields = [line.split(" ") for line in lines]
    assert all(len(f) == 10 and all(f) for f in fields), lines
    assert {f[1] for f in fields} == {"Team_call_03_<x>"}
    assert fields[0][7] == "Dr_Ada_Lovelace"
    assert len({f[7] for f in fields}) == len(HOSTILE_NAMES), "two speakers collapsed into one"
    # pyannote's own reader (whitespace-separated) sees the same turns and speakers.
    (annotation,) = load_rttm(str(path)).values()
    assert len(annotation) == len(HOSTILE_NAMES)
    assert len(annotation.labels()) == len(HOSTILE_NAMES)


def _vtt_cues(text: str) -> list[list[str]]:
    """The cue blocks of a WebVTT file (blank-line separated), header block dropped."""
    blocks = [block.split("\n") for block in text.rstrip("\n").split("\n\n")]
    assert blocks[0] == ["WEBVTT"]
    return blocks[1:]


def test_vtt_keeps_its_grammar_for_any_name_or_text(tmp_path: Path) -> None:
    import html
    import re

    result = hostile_result()
    cues = _vtt_cues(get_writer("vtt")(result, tmp_path).read_text(encoding="utf-8"))
    assert len(cues) == len(result.segments), "a line break ended a cue early"
    voice = re.compile(r"(?:<v ([^>\n]+)>)?(.*)")  # no voice tag for a blank name
    for cue, segment in zip(cues, result.segments, strict=True):
        assert len(cue) == 2 and " --> " in cue[0]
        payload = cue[1]
        assert "-->" not in payload
        match = voice.fullmatch(payload)
        assert match is not None, payload
        name, text = match.group(1) or "", match.group(2)
        # Nothing but the voice tag is markup: every other <, > and & is a character reference.
        assert not re.search(r"[<>]", name + text)
        assert not re.search(r"&(?!amp;|lt;|gt;)", name + text)
        assert html.unescape(text) == " ".join(segment.text.split())
    assert html.unescape(voice.fullmatch(cues[3][1]).group(1)) == "<v>&"  # type: ignore[union-attr]


def test_srt_and_txt_hold_one_line_per_segment(tmp_path: Path) -> None:
    result = hostile_result()
    srt = get_writer("srt")(result, tmp_path).read_text(encoding="utf-8")
    cues = [block.split("\n") for block in srt.rstrip("\n").split("\n\n") if block.strip()]
    assert [c[0] for c in cues] == [str(i) for i in range(1, len(result.segments) + 1)]
    assert all(len(c) == 3 for c in cues), cues
    assert cues[0][2] == "Dr Ada Lovelace: a --> b"
    lines = get_writer("txt")(result, tmp_path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(result.segments)
    assert lines[2] == "[00:00:04] Tab here newline: <b>bold</b> & <v X>co"


def test_csv_cells_read_back_and_never_start_a_formula(tmp_path: Path) -> None:
    result = hostile_result()
    for fmt, name in (("speakers_csv", "speakers.csv"), ("turns_csv", "turns.csv")):
        get_writer(fmt)(result, tmp_path)
        with (tmp_path / name).open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == len(HOSTILE_NAMES), fmt
        for row, speaker in zip(rows, HOSTILE_NAMES, strict=True):
            assert row["speaker"] == ("'" + speaker if speaker[0] in "=+-@" else speaker)
            assert not any(str(v).startswith(("=", "+", "-", "@")) for v in row.values()), row
    assert rows[4]["text"] == '\'-1 or +1, "quoted"'
    assert rows[1]["text"] == "line one\n\nline two"
    assert rows[5]["text"] == "tab\tand\nreturn"


def test_parquet_keeps_names_and_text_as_they_are(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = hostile_result()
    table = pq.read_table(get_writer("turns_parquet")(result, tmp_path))
    assert table.column("speaker").to_pylist() == list(HOSTILE_NAMES)
    assert table.column("text").to_pylist() == list(HOSTILE_TEXTS)
