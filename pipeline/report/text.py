"""Text outputs: speaker-labelled transcript, SRT, WebVTT, RTTM."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.timefmt import short_duration, stamp, subtitle_stamp
from pipeline.core.types import RecordingResult, Region, Segment
from pipeline.io.atomic import atomic_write_text


def music_line(region: Region) -> str:
    """``[hold music 00:00:00–00:44:57, loop 2:13 x 20]`` for a stripped region."""
    what = f"[hold music {stamp(region.start)}–{stamp(region.end)}"
    if region.kind == "loop" and region.period and region.repeats:
        what += f", loop {short_duration(region.period)} x {round(region.repeats)}"
    return what + "]"


def write_transcript(result: RecordingResult, out_dir: Path) -> Path:
    """``transcript.txt``: one line per utterance, hold music marked where it was."""
    entries: list[tuple[float, str]] = [(r.start, music_line(r)) for r in result.stripped]
    entries += [(s.start, f"[{stamp(s.start)}] {s.speaker or 'UNKNOWN'}: {s.text}") for s in result.segments]
    lines = [text for _, text in sorted(entries, key=lambda e: e[0])]
    return atomic_write_text(out_dir / "transcript.txt", "\n".join(lines) + "\n" if lines else "")


def _cue_text(segment: Segment) -> str:
    return f"{segment.speaker}: {segment.text}" if segment.speaker else segment.text


def write_srt(result: RecordingResult, out_dir: Path) -> Path:
    """``transcript.srt``: numbered subtitle cues."""
    cues = []
    for i, s in enumerate(result.segments, start=1):
        span = f"{subtitle_stamp(s.start, decimal=',')} --> {subtitle_stamp(s.end, decimal=',')}"
        cues.append(f"{i}\n{span}\n{_cue_text(s)}\n")
    return atomic_write_text(out_dir / "transcript.srt", "\n".join(cues))


def write_vtt(result: RecordingResult, out_dir: Path) -> Path:
    """``transcript.vtt``: WebVTT with voice tags."""
    cues = ["WEBVTT\n"]
    for s in result.segments:
        text = f"<v {s.speaker}>{s.text}" if s.speaker else s.text
        cues.append(
            f"{subtitle_stamp(s.start, decimal='.')} --> {subtitle_stamp(s.end, decimal='.')}\n{text}\n"
        )
    return atomic_write_text(out_dir / "transcript.vtt", "\n".join(cues))


def write_rttm(result: RecordingResult, out_dir: Path) -> Path:
    """``diarization.rttm``: the regular (overlapping) diarization, NIST RTTM."""
    uri = Path(result.source).stem.replace(" ", "_") or "recording"
    lines = [
        f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>"
        for t in result.overlapped_turns
    ]
    return atomic_write_text(out_dir / "diarization.rttm", "\n".join(lines) + "\n" if lines else "")
