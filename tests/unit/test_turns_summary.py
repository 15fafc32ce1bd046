"""turns.csv / turns.parquet an analyst loads with pandas, and the terminal summary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from pipeline.core.timefmt import clock
from pipeline.report import get_writer
from pipeline.report.summary import print_summary


def test_turns_csv_loads_with_pandas(tmp_path: Path, hand_built_result):
    pandas = pytest.importorskip("pandas")
    path = get_writer("turns_csv")(hand_built_result, tmp_path)
    table = pandas.read_csv(path)
    assert len(table) == 10  # 11 lines; the host's two touching lines are one turn
    assert list(table["kind"].value_counts().sort_index().items()) == [
        ("backchannel", 2), ("interjection", 1), ("turn", 7),
    ]  # fmt: skip
    interruption = table[table["interrupted"].notna()]
    assert interruption[["speaker", "interrupted", "start"]].values.tolist() == [["Guest", "Host", 214.0]]
    assert (table["start"] <= table["end"]).all() and (table["end"] <= hand_built_result.duration).all()
    assert table.groupby("speaker")["words"].sum().to_dict() == {
        s.speaker: s.words for s in hand_built_result.speakers
    }


def test_turns_parquet_matches_csv(tmp_path: Path, hand_built_result):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    csv_table = pandas.read_csv(get_writer("turns_csv")(hand_built_result, tmp_path))
    table = pandas.read_parquet(get_writer("turns_parquet")(hand_built_result, tmp_path))
    assert list(table.columns) == list(csv_table.columns)
    assert table["takes_floor"].dtype == bool
    assert table["duration"].round(3).tolist() == csv_table["duration"].tolist()


def test_clock():
    assert (clock(0), clock(59.6), clock(61), clock(3723)) == ("0:00", "1:00", "1:01", "1:02:03")


def test_print_summary_shows_every_speaker_and_no_markup():
    from conftest import build_hand_result

    buffer = io.StringIO()
    print_summary(build_hand_result(host="[bold]Boss[/bold]"), Console(file=buffer, width=160))
    text = buffer.getvalue()
    assert "[bold]Boss[/bold]" in text  # a name is text, not rich markup
    assert "Guest" in text and "Caller" in text
    assert "hold music 2:00" in text and "3 speakers" in text
