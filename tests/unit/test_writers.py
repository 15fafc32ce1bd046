"""Writers, result.json schema and serialisation on a hand-built result."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline.core.errors import ConfigError
from pipeline.core.serialize import result_from_dict
from pipeline.core.types import (
    ConversationStats,
    FloorTurn,
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
    ):
        assert set(defs[name]["properties"]) == {f.name for f in dataclasses.fields(cls)}, name
