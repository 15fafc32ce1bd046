"""Bench results on disk, the one writer: JSON for every bench, and the evaluation's Markdown tables.

``write_json`` puts down any bench's figures (``bench/results/*.json``); ``write_results``
the evaluation's ``eval.json`` (everything) and ``README.md`` (the tables).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.io.atomic import atomic_write_text

logger = logging.getLogger(__name__)

# (figure key, label, how to print it); the order is the table's.
_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("rtf", "real-time factor, wall (processing s / audio s)", "{:.3f}"),
    ("cpu_rtf", "real-time factor, CPU (all threads)", "{:.3f}"),
    ("rtf_hold_music", "  hold music stage RTF", "{:.4f}"),
    ("rtf_asr", "  ASR stage RTF", "{:.3f}"),
    ("rtf_diarization", "  diarization stage RTF", "{:.3f}"),
    ("der_c0", "DER, collar 0", "{:.1%}"),
    ("der_c0.5", "DER, 0.25 s each side", "{:.1%}"),
    ("jer_c0", "JER, collar 0", "{:.1%}"),
    ("jer_c0.5", "JER, 0.25 s each side", "{:.1%}"),
    ("wer", "WER (Whisper-normalised)", "{:.1%}"),
    ("words_in_music", "words inside hold music", "{:d}"),
    ("music_f1", "hold-music frame F1", "{:.3f}"),
    ("speech_lost", "speech lost (stripped)", "{:.2%}"),
    ("share_error", "talk-share abs. error (mean)", "{:.3f}"),
    ("turn_error", "turn-count abs. error (mean)", "{:.2f}"),
    ("count_error", "speaker-count abs. error", "{:.2f}"),
    ("minority_recall", "quietest speaker's speech on its own label", "{:.2f}"),
    ("minority_named", "first speaker named right (share of recordings)", "{:.2f}"),
)
_SYSTEM_LABELS = {"ours": "ours", "keep-music": "filter off", "plain-whisper": "plain faster-whisper"}


def write_json(path: Path, results: Mapping[str, Any]) -> Path:
    """Write ``results`` to ``path`` as indented JSON, atomically (folders made); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(results, indent=1, default=str) + "\n")
    return path


def write_results(results: Mapping[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write ``folder/eval.json`` and ``folder/README.md`` atomically; returns both paths."""
    json_path, md_path = write_json(folder / "eval.json", results), folder / "README.md"
    atomic_write_text(md_path, markdown(results))
    return json_path, md_path


def markdown(results: Mapping[str, Any]) -> str:
    """The results as Markdown tables: accuracy and speed side by side, per recording, scaling."""
    machine = results["machine"]
    lines = [
        "# Evaluation: speechpipe vs the baselines",
        "",
        f"Written by `python -m evaluation` on {results['created']} ({machine['cpus']} CPUs, "
        f"{machine['platform']}, load average {_load(machine['load_average_before'])} before, "
        f"{_load(machine['load_average_after'])} after; total {results['total_seconds']:.0f} s). "
        "Raw numbers: [`eval.json`](eval.json).",
        "",
        _code_line(results.get("code", {})),
        "",
        "Systems: **ours** = `speechpipe run` (config `{}`); **filter off** = the same with "
        "`--keep-music`; **plain faster-whisper** = `WhisperModel(tiny.en).transcribe(path, "
        "word_timestamps=True)` over the whole file, same model files. Ratio = ours / baseline "
        "(under 1 is better for every figure except F1).".format(results["plan"]["config"]),
        "",
    ]
    for kind, systems in results["summary"].items():
        lines += _summary_table(kind, systems, results["ratios"][kind])
    lines += _resources_table(results)
    lines += _recordings_table(results["recordings"], results["scores"])
    if results["scaling"]:
        lines += _scaling_table(results["scaling"])
    if results.get("talk_scaling"):
        lines += _talk_table(results["talk_scaling"])
    lines += _notes(results)
    return "\n".join(lines) + "\n"


def _summary_table(kind: str, systems: Mapping[str, Mapping], ratios: Mapping[str, Mapping]) -> list[str]:
    ours = systems["ours"]
    title = {
        "live-room": "Live rooms (generated, exact truth)",
        "call": "Two-party calls of real voices (generated, exact truth; half through a telephone channel)",
        "interview": "Interview: a guest's monologue, a host's questions and backchannels (real voices)",
        "real": "Real recordings as they are",
        "all": "All recordings",
    }.get(kind, kind)
    lines = [
        f"## {title}: {ours['recordings']} recordings, {ours['audio_seconds'] / 60:.1f} min of audio",
        "",
        "| figure | ours | filter off | plain faster-whisper | ours / filter off | ours / plain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label, fmt in _FIGURES:
        values = [systems[s].get(key) for s in ("ours", "keep-music", "plain-whisper")]
        if all(v is None for v in values):
            continue
        cells = [_fmt(v, fmt) for v in values]
        cells += [_fmt(ratios[b].get(key), "{:.2f}") for b in ("keep-music", "plain-whisper")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _resources_table(results: Mapping[str, Any]) -> list[str]:
    lines = [
        "## Time and memory per system (one child process each, whole accuracy set)",
        "",
        "| system | processing s | model load s | warm-up s | child wall s | child CPU s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for system, run in results["systems"].items():
        processing = sum(s["seconds"] for s in results["scores"] if s["system"] == system)
        lines.append(
            f"| {_SYSTEM_LABELS[system]} | {processing:.1f} | {run['load_seconds']:.1f} | "
            f"{_fmt(run['warmup_seconds'], '{:.1f}')} | {run['wall_seconds']:.1f} | "
            f"{run['cpu_seconds']:.1f} | {run['peak_rss_mb']:.0f} |"
        )
    return [*lines, "", f"An empty child process peaks at {results['memory_floor_mb']:.0f} MiB.", ""]


def _recordings_table(recordings: Sequence[Mapping], scores: Sequence[Mapping]) -> list[str]:
    lines = [
        "## Per recording",
        "",
        "| recording | min | speakers | music s | system | RTF | CPU RTF | DER 0.25 | WER "
        "| words in music | F1 | speech lost |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    described = {r["name"]: r for r in recordings}
    for score in scores:
        r, f = described[score["recording"]], score["figures"]
        cells = [
            f"{r['name']} ({', '.join(r['tags']) or r['kind']})",
            f"{r['duration'] / 60:.1f}",
            str(r["speakers"]),
            f"{r['music_seconds']:.0f}",
            _SYSTEM_LABELS[score["system"]],
            _fmt(f["rtf"], "{:.3f}"),
            _fmt(f["cpu_rtf"], "{:.3f}"),
            _fmt(f["der_c0.5"], "{:.1%}"),
            _fmt(f["wer"], "{:.1%}"),
            _fmt(f["words_in_music"], "{:d}"),
            _fmt(f["music_f1"], "{:.3f}"),
            _fmt(f["speech_lost"], "{:.2%}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _scaling_table(rows: Sequence[Mapping]) -> list[str]:
    stages = list(dict.fromkeys(k for row in rows for k in row["stage_rtf"]))
    first = rows[0]
    lines = [
        "## Scaling (ours): mostly hold music, a little speech",
        "",
        "| audio | speech s | wall s | RTF | CPU RTF | "
        + " | ".join(f"{s} RTF" for s in stages)
        + " | wall s per audio hour | CPU RTF vs shortest | peak RSS MiB | music F1 | speech lost |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(stages) + "---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [
            f"{row['minutes']:g} min",
            f"{row['speech_seconds']:.0f}",
            f"{row['seconds']:.1f}",
            f"{row['rtf']:.4f}",
            f"{row['cpu_rtf']:.4f}",
            *(f"{row['stage_rtf'].get(s, 0.0):.4f}" for s in stages),
            f"{row['rtf'] * 3600:.0f}",
            f"{row['cpu_rtf'] / first['cpu_rtf']:.2f}x",
            f"{row['peak_rss_mb']:.0f}",
            _fmt(row["music_f1"], "{:.3f}"),
            _fmt(row["speech_lost"], "{:.2%}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [
        *lines,
        "",
        'Linear cost means a flat CPU RTF column ("CPU RTF vs shortest" near 1.00x); '
        "stage RTFs are wall clock.",
        "",
    ]


def _talk_table(rows: Sequence[Mapping]) -> list[str]:
    lines = [
        "## Long talk (ours): a looping hold track, then two people talking",
        "",
        "| hold + talk | wall s | RTF | CPU RTF | ASR RTF per talk s | diarization RTF per talk s "
        "| peak RSS MiB | speakers found / true | DER 0.25 | confusion per hour | speakers per hour |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        hours = row["hourly"]
        cells = [
            f"{row['hold_minutes']:g} + {row['talk_minutes']:g} min",
            f"{row['seconds']:.0f}",
            f"{row['rtf']:.4f}",
            f"{row['cpu_rtf']:.4f}",
            _fmt(row["talk_stage_rtf"].get("asr"), "{:.4f}"),
            _fmt(row["talk_stage_rtf"].get("diarization"), "{:.4f}"),
            f"{row['peak_rss_mb']:.0f}",
            f"{row['speakers_found']} / {row['speakers_true']}",
            _fmt(row["der_c0.5"], "{:.1%}"),
            " ".join(f"{h['confusion']:.1%}" for h in hours if h["speech_seconds"] > 0),
            " ".join(str(h["speakers"]) for h in hours if h["speech_seconds"] > 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [
        *lines,
        "",
        "Confusion per hour: reference speech of each hour not on its own speaker's label, under one "
        "speaker mapping for the whole recording (`hourly_confusion`): identities that drift or a "
        "speaker invented late would make it rise. Stage RTFs per talk second: the hold music is "
        "stripped before ASR and diarization, so only the talk costs them.",
        "",
    ]


_NOTES = """\
## How it was measured

- Live rooms: an opening hold loop (45-90 s, synthesized or cut from a real clip), silence,
  pyannote's sample (2 speakers, transcript), a real multi-speaker clip from `shared/data`
  (3-6 speakers, RTTM), a music break, silence, the sample again 6 % faster over a music bed
  10-20 dB under it (speech over music: must be kept), the whole room through mp3 or AAC
  (`evaluation/recordings.py`, built from `evaluation/scenarios.py` parts, seed {seed}).
- Calls: two real voices from `shared/data/singlespeaker` (LibriSpeech, CMU ARCTIC, OSR,
  VCTK) taking turns of 1-3 sentences with gaps of -0.3 to 1 s and backchannels; odd calls
  through a telephone channel (300-3400 Hz, 8 kHz, G.711 mu-law, some AMR-NB). Interview: a
  reader's monologue with another voice's short phrases and murmurs, 3.5-4.5 % of the talk
  (`evaluation/conversations.py`, `evaluation/interview.py`).
- Real recordings as they are: pyannote's sample (`sample.rttm`, `sample.stm`), the
  `shared/data/multispeaker` clips with source RTTMs, and the two real two-party
  conversations of `shared/data/conversations` with derived references (`bench/references/`).
- DER/JER: pyannote.metrics over the whole recording (music and silence count), overlap scored;
  collars 0 and 0.5 ({collars}).
- WER: jiwer on Whisper-normalised text; speech without a reference transcript (the
  multi-speaker clips) is left out on both sides; words in music and silence count as insertions.
- Words inside hold music: recognised words whose midpoint lies in music that should be stripped.
- Talk share and turns: the product's own `compute_metrics` on the reference turns vs the
  output's, speakers matched by pyannote.metrics' optimal mapping; a missed speaker has share 0.
- Time: wall clock and CPU time (all threads), model loading excluded (reported apart), after
  one warm-up clip (ours builds its diarizer at its first recording: that is in the warm-up
  time, not the model load); stage cache off. On the real recordings (no music) ours and filter off do
  the same work, so their time ratio there is an A/A check: it shows this run's timing noise
  (the machine may be shared: see the load averages above). Peak RSS: `resource.getrusage` in
  a fresh child process per measurement (forked from a small fork server, so the harness's own
  memory is not inherited).
- Scaling: `scenarios.long_recording`, {loop:.0%} of each recording one looping synthesized
  track and the rest real speech, so hours fit the time budget; ours only (the baselines would
  spend ~0.2 x real time decoding every hour of music). Long talk:
  `conversations.long_talk`, the lounge hold track looped, then a wideband call of two real
  voices (their sentences repeat, so it measures speed, memory and identity stability, not
  accuracy).
"""


def _notes(results: Mapping[str, Any]) -> list[str]:
    plan = results["plan"]
    return _NOTES.format(
        seed=plan["seed"], collars=results["collars"]["convention"], loop=plan["loop_fraction"]
    ).splitlines()


def _code_line(code: Mapping[str, Any]) -> str:
    commit = code.get("commit")
    line = f"Code measured: commit `{commit[:10]}`" if commit else "Code measured: not a git checkout"
    changed = code.get("uncommitted", [])
    return line + (f", with uncommitted changes to {', '.join(changed)}." if changed else ", clean.")


def _fmt(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    return fmt.format(int(value)) if fmt == "{:d}" else fmt.format(value)


def _load(load: Sequence[float]) -> str:
    return "/".join(f"{x:.1f}" for x in load)
