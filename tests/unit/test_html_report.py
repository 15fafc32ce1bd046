"""report.html: everything from the recording is escaped; the page is whole and offline."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import build_hand_result

from pipeline.core.types import ConversationStats, RecordingResult
from pipeline.report import get_writer, writer_names
from pipeline.report.html import render_html, speaker_colors, turn_length_figure

HOSTILE = '<script>alert("x")</script> O\'Brien & "Co" <img src=x onerror=alert(1)>'


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def hostile_result() -> RecordingResult:
    result = build_hand_result(guest=HOSTILE)
    lines = tuple(replace(s, text=HOSTILE) if i == 1 else s for i, s in enumerate(result.segments))
    return replace(result, source=f"talks/{HOSTILE}.wav", segments=lines)


def test_html_writer_is_registered(tmp_path: Path, hand_built_result):
    assert {"html", "turns_csv", "turns_parquet"} <= set(writer_names())
    path = get_writer("html")(hand_built_result, tmp_path)
    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_hostile_names_and_transcript_render_as_text():
    page = render_html(hostile_result())
    tags = parse(page)
    assert not [t for t, _ in tags if t == "script"]
    # The only images are the two charts, and no element grew an event handler.
    assert [a["src"][:22] for t, a in tags if t == "img"] == ["data:image/png;base64,"] * 2
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#x27;Brien &amp; &quot;Co&quot;" in page
    assert "<script" not in page.lower()


def test_page_is_self_contained():
    page = render_html(build_hand_result())
    tags = parse(page)
    csp = next(
        a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in (csp or "")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert not [t for t, _ in tags if t in ("link", "iframe", "object", "embed")]


def test_structure_sections_lanes_and_music_band():
    result = build_hand_result()
    page = render_html(result)
    for heading in ("Speakers", "Timeline", "Talk share and turn lengths", "Interruptions",
                    "Longest monologues", "Transcript"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    lane_labels = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
    assert lane_labels == ["Host", "Guest", "Caller"]
    assert "hold music 0:00–2:00 (loop)" in svg
    # One rectangle per turn (the host's two touching lines are one turn) plus the music band.
    assert svg.count("<rect") == (len(result.overlapped_turns) - 1) + 1
    # Interruption matrix: Guest interrupted Host once.
    matrix = page[page.index("<h2>Interruptions</h2>") : page.index("<h2>Longest monologues</h2>")]
    assert re.search(r"Guest</td><td>1</td><td>–</td><td>0</td>", matrix)
    # The host's 81.5 s monologue, with the guest's two murmurs and the caller's cut-in.
    monologue = page[page.index("<h2>Longest monologues</h2>") : page.index("<h2>Transcript</h2>")]
    assert "<td>1:22</td><td>2:14–3:35</td><td>2</td><td>1</td>" in monologue
    transcript = page[page.index("<h2>Transcript</h2>") :]
    assert transcript.index("hold music until 2:00") < transcript.index("Welcome everyone")
    assert transcript.count('class="seg"') == len(result.segments)


def test_dollar_signs_in_names_do_not_break_the_charts():
    # matplotlib would read "$...$" as mathtext and a lone "$" as an error.
    page = render_html(build_hand_result(host="$ave $money", guest="50$"))
    assert page.count("data:image/png;base64,") == 2


def test_empty_recording_still_renders():
    empty = RecordingResult(
        source="silence.wav", duration=0.0, content_sha256="0" * 64, music=(), stripped=(), segments=(),
        turns=(), overlapped_turns=(), speakers=(), conversation=ConversationStats(0.0, 0.0, 0.0, 0),
        language="en",
    )  # fmt: skip
    page = render_html(empty)
    assert page.count("No speech found.") >= 2 and "No transcript." in page
    assert "<img" not in page


@pytest.mark.parametrize(
    ("shortest", "longest"),
    [(0.3, 2.0), (0.5, 8.0), (3.0, 40.0), (0.2, 60.0), (0.05, 1800.0), (0.1, 7200.0), (1.0, 1.5)],
)
def test_turn_length_axis_labels_do_not_overlap(shortest: float, longest: float) -> None:
    """The log axis of the turn-length chart, drawn: its visible tick labels stand apart."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    result = build_hand_result()
    speaker = result.speakers[0].speaker
    turns = [
        replace(result.floor_turns[0], speaker=speaker, start=0.0, end=float(length))
        for length in np.geomspace(shortest, longest, 25)
    ]
    figure = turn_length_figure(result, turns, speaker_colors(result))
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    axes = figure.axes[0]
    low, high = axes.get_xlim()
    labels = [
        label
        for label in axes.get_xticklabels(minor=False) + axes.get_xticklabels(minor=True)
        if label.get_visible() and label.get_text() and low <= label.get_position()[0] <= high
    ]
    boxes = [label.get_window_extent(canvas.get_renderer()) for label in labels]
    assert labels and all(not a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
