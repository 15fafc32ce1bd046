"""Text outputs: speaker-labelled transcript, SRT, WebVTT, RTTM.

Speaker names and transcript text can hold anything (``--speaker-names "Dr Ada
Lovelace"``, a tab, ``<v>&``): every writer here puts them into its format's grammar.
One segment is one line of text (a line break inside a cue would end it in SRT and
WebVTT), WebVTT escapes its markup characters, and RTTM fields never hold whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pipeline.core.timefmt import short_duration, stamp, subtitle_stamp
from pipeline.core.types import RecordingResult, Region, Segment
from pipeline.io.atomic import atomic_write_text

_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
"""Runs of whitespace (Unicode line and paragraph separators included) and control characters."""

_VTT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def collapse_whitespace(text: str) -> str:
    """``text`` on one line: each run of whitespace or control characters becomes one space."""
    return _BREAKS.sub(" ", text).strip()


def rttm_field(text: str, *, empty: str) -> str:
    """``text`` as one RTTM field: whitespace and control runs become ``_``; ``empty`` if nothing is left."""
    return _BREAKS.sub("_", text.strip()) or empty


def rttm_speakers(names: Iterable[str]) -> dict[str, str]:
    """Each distinct speaker name -> its RTTM field, distinct names always to distinct fields.

    Names that only differ in their whitespace (``"Ada Lovelace"``, ``"Ada  Lovelace"``)
    would read back as one speaker: the later ones get ``_2``, ``_3``, ... in order of
    first appearance.
    """
    fields: dict[str, str] = {}
    taken: set[str] = set()
    for name in dict.fromkeys(names):
        base = field = rttm_field(name, empty="speaker")
        n = 1
        while field in taken:
            n += 1
            field = f"{base}_{n}"
        fields[name] = field
        taken.add(field)
    return fields


def music_line(region: Region) -> str:
    """``[hold music 00:00:00–00:44:57, loop 2:13 x 20]`` for a stripped region."""
    what = f"[hold music {stamp(region.start)}–{stamp(region.end)}"
    if region.kind == "loop" and region.period and region.repeats:
        what += f", loop {short_duration(region.period)} x {round(region.repeats)}"
    return what + "]"


def write_transcript(result: RecordingResult, out_dir: Path) -> Path:
    """``transcript.txt``: one line per utterance, hold music marked where it was."""
    entries: list[tuple[float, str]] = [(r.start, music_line(r)) for r in result.stripped]
    for s in result.segments:
        speaker = collapse_whitespace(s.speaker or "UNKNOWN")
        entries.append((s.start, f"[{stamp(s.start)}] {speaker}: {collapse_whitespace(s.text)}"))
    lines = [text for _, text in sorted(entries, key=lambda e: e[0])]
    return atomic_write_text(out_dir / "transcript.txt", "\n".join(lines) + "\n" if lines else "")


def _cue_text(segment: Segment) -> str:
    name, text = collapse_whitespace(segment.speaker or ""), collapse_whitespace(segment.text)
    return f"{name}: {text}" if name else text


def write_srt(result: RecordingResult, out_dir: Path) -> Path:
    """``transcript.srt``: numbered subtitle cues, one line of text each."""
    cues = []
    for i, s in enumerate(result.segments, start=1):
        span = f"{subtitle_stamp(s.start, decimal=',')} --> {subtitle_stamp(s.end, decimal=',')}"
        cues.append(f"{i}\n{span}\n{_cue_text(s)}\n")
    return atomic_write_text(out_dir / "transcript.srt", "\n".join(cues))


def vtt_escape(text: str) -> str:
    """``text`` as one line of WebVTT cue text or voice annotation: ``&``, ``<``, ``>`` escaped.

    With ``>`` escaped the text cannot hold ``-->`` either, and on one line it cannot
    hold the blank line that ends a cue.
    """
    return collapse_whitespace(text).translate(_VTT_ESCAPES)


def write_vtt(result: RecordingResult, out_dir: Path) -> Path:
    """``transcript.vtt``: WebVTT with voice tags, names and text escaped."""
    cues = ["WEBVTT\n"]
    for s in result.segments:
        name, text = vtt_escape(s.speaker or ""), vtt_escape(s.text)
        if name:
            text = f"<v {name}>{text}"
        cues.append(
            f"{subtitle_stamp(s.start, decimal='.')} --> {subtitle_stamp(s.end, decimal='.')}\n{text}\n"
        )
    return atomic_write_text(out_dir / "transcript.vtt", "\n".join(cues))


def write_rttm(result: RecordingResult, out_dir: Path) -> Path:
    """``diarization.rttm``: the regular (overlapping) diarization, NIST RTTM (10 space-separated fields)."""
    uri = rttm_field(Path(result.source).stem, empty="recording")
    speakers = rttm_speakers(t.speaker for t in result.overlapped_turns)
    lines = [
        f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {speakers[t.speaker]} <NA> <NA>"
        for t in result.overlapped_turns
    ]
    return atomic_write_text(out_dir / "diarization.rttm", "\n".join(lines) + "\n" if lines else "")
