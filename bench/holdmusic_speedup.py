"""Whole-pipeline time with the hold-music filter on and off, at 30 % looping hold music.

Issue 3's speed target: with 30 % of a recording looping music, the pipeline with
the filter is at least 25 % faster than with it off. For each hold track below, a
recording opens with the track looped for ``--music-share`` of its length, music
6 dB under the speech; ``--speech-seconds`` of real speech follow
(``evaluation.sources.speech_clips`` in a seeded order):

- ``synth``: a seeded synthesized loop (``evaluation.signals.synth_loop``);
- ``lounge``: 20 s of Kevin MacLeod's *Vibe Ace*, the realistic hold track;
- ``lofi-house``: pygame's low-fidelity house loop;
- ``piano``: a solo piano clip;
- ``jingle``: pyAudioAnalysis' speech-over-music clip, a voiced jingle;
- ``announcement``: a spoken sentence (CMU ARCTIC) over the lounge track, as a
  recorded "please hold" message looped.

Both configurations (``strip: music`` and ``strip: off``) process each recording
in this process, on models loaded once (loading is per batch, not per recording),
stage cache off, in alternating order. Whisper's time on the same speech swings
by up to a quarter with where its 30 s windows fall (a shift of 0.3 s moves them,
and with them the temperature fallbacks), so each of ``--repeats`` rounds plays
the speech in another order: the saving is taken over all rounds (1 - summed
time on / summed time off), with every round's paired saving listed. Also
measured per track, as a yardstick free of that swing: the filter-off pipeline's
time on the hold music alone, as a share of its mean time on the whole recording.

Writes ``bench/results/speedup.json`` and prints a table. Usage::

    python bench/holdmusic_speedup.py [--tracks synth,lounge] [--repeats 4] [--speech-seconds 240]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the evaluation package beside bench/

from evaluation.harness import code_provenance
from evaluation.results import write_json
from evaluation.signals import NOISE_FLOOR_DB, at_level, repeat_loop, synth_loop
from evaluation.sources import HOLD_TRACK, read_clip, speech_clips
from pipeline.core.types import RecordingResult
from pipeline.io.audio import SAMPLE_RATE
from pipeline.run.cache import StageCache
from pipeline.run.config import load_config
from pipeline.run.options import RunOptions
from pipeline.run.runner import Runner

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "speedup.json"
DATA = REPO.parent / "shared" / "data"
"""The real clips (``../shared/data`` beside the checkout)."""
SPEECH_DB = -22.0  # conversation level, dBFS RMS
MUSIC_DB = SPEECH_DB - 6.0  # hold music level, dBFS RMS
ANNOUNCER = "pra_cmu_arctic_us_aew_a0001.wav"  # the voice of the announcement (not in the speech pool)


def _music(name: str) -> np.ndarray:
    return read_clip(DATA / "music" / name)


def _announcement() -> np.ndarray:
    """A spoken sentence over the lounge track, with a second of music either side."""
    voice = at_level(read_clip(DATA / "singlespeaker" / ANNOUNCER), SPEECH_DB)
    bed = at_level(_music(HOLD_TRACK)[10 * SAMPLE_RATE :][: voice.size + 2 * SAMPLE_RATE], MUSIC_DB - 6.0)
    bed[SAMPLE_RATE : SAMPLE_RATE + voice.size] += voice
    return bed


TRACKS: dict[str, tuple[str, Callable[[], np.ndarray]]] = {
    "synth": ("instrumental", lambda: synth_loop(np.random.default_rng(7), bpm=92.0, bars=4)),
    "lounge": ("instrumental", lambda: _music(HOLD_TRACK)[10 * SAMPLE_RATE : 30 * SAMPLE_RATE]),
    "lofi-house": ("instrumental", lambda: _music("pygame_house_lo.wav")),
    "piano": ("instrumental", lambda: _music("max_piano.wav")),
    "jingle": ("voiced", lambda: _music("pyaa_speech_music_sample.wav")),
    "announcement": ("voiced", _announcement),
}
"""Hold tracks: name -> (kind, one period of the loop at 16 kHz)."""


def conversation(seconds: float, *, seed: int) -> np.ndarray:
    """Real speech clips in a seeded order, half a second apart, at one level, ``seconds`` long."""
    clips = speech_clips(DATA)
    parts: list[np.ndarray] = []
    total = 0
    for i in np.random.default_rng(seed).permutation(len(clips)):
        if total >= seconds * SAMPLE_RATE:
            break
        parts += [at_level(clips[i].audio, SPEECH_DB), np.zeros(SAMPLE_RATE // 2, np.float32)]
        total += clips[i].audio.size + SAMPLE_RATE // 2
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


def _write(path: Path, audio: np.ndarray) -> Path:
    floor = np.random.default_rng(0).standard_normal(audio.size) * 10 ** (NOISE_FLOOR_DB / 20)  # line noise
    sf.write(str(path), np.clip(audio + floor, -1, 1).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path


def timed(path: Path, runner: Runner) -> tuple[float, float, RecordingResult]:
    """Wall and CPU seconds (all threads) of one ``Runner.analyse``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = runner.analyse(path, cache=StageCache(None))
    return time.perf_counter() - wall, time.process_time() - cpu, result


def words_before(result: RecordingResult, end: float) -> int:
    """Recognised words whose midpoint lies before ``end`` seconds (inside the opening hold music)."""
    return sum(1 for s in result.segments for w in s.words if (w.start + w.end) / 2 < end)


def measure_track(
    name: str,
    *,
    speech_seconds: float,
    share: float,
    repeats: int,
    work: Path,
    runners: dict[str, Runner],
) -> dict:
    """Filter on vs off on ``repeats`` recordings of one track (conversation order ``seed = round``)."""
    kind, make_period = TRACKS[name]
    samples = int(speech_seconds * SAMPLE_RATE * share / (1 - share))
    period = make_period()
    hold = at_level(repeat_loop(period, samples / period.size)[:samples], MUSIC_DB)
    music_end = samples / SAMPLE_RATE
    runs: dict[str, dict] = {k: {"wall": [], "cpu": [], "words_in_music": [], "stages": []} for k in runners}
    stripped = []
    for round_ in range(repeats):
        path = _write(
            work / f"{name}-{round_}.flac", np.concatenate([hold, conversation(speech_seconds, seed=round_)])
        )
        order = list(runners) if round_ % 2 == 0 else list(runners)[::-1]  # neither always runs first
        for label in order:
            wall, cpu, result = timed(path, runners[label])
            runs[label]["wall"].append(wall)
            runs[label]["cpu"].append(cpu)
            runs[label]["words_in_music"].append(words_before(result, music_end))
            runs[label]["stages"].append(result.timings)
            if label == "on":
                stripped.append(sum(r.end - r.start for r in result.stripped))
    hold_wall, hold_cpu, _ = timed(_write(work / f"{name}-hold-only.flac", hold), runners["off"])
    row: dict = {
        "kind": kind,
        "music_s": music_end,
        "speech_s": speech_seconds,
        "stripped_s": stripped,
        "hold_only_off": {"wall": hold_wall, "cpu": hold_cpu},
    }
    for label, r in runs.items():
        row[label] = {
            **{k: r[k] for k in ("wall", "cpu", "words_in_music")},
            "stages_mean": {s: statistics.fmean(t[s] for t in r["stages"]) for s in r["stages"][0]},
        }
    for what in ("wall", "cpu"):
        on, off = row["on"][what], row["off"][what]
        row[f"savings_{what}"] = [1 - a / b for a, b in zip(on, off, strict=True)]
        row[f"saving_{what}"] = 1 - sum(on) / sum(off)
        row[f"hold_share_{what}"] = row["hold_only_off"][what] / statistics.fmean(off)
    return row


def pooled(rows: Sequence[dict]) -> dict:
    """Savings over several tracks: of the summed times, and the mean of paired savings with its spread."""
    out: dict = {"tracks": len(rows), "recordings": sum(len(r["on"]["wall"]) for r in rows)}
    for what in ("wall", "cpu"):
        pairs = [x for r in rows for x in r[f"savings_{what}"]]
        out[f"saving_{what}"] = 1 - sum(sum(r["on"][what]) for r in rows) / sum(
            sum(r["off"][what]) for r in rows
        )
        out[f"saving_{what}_mean"] = statistics.fmean(pairs)
        out[f"saving_{what}_stderr"] = statistics.stdev(pairs) / len(pairs) ** 0.5 if len(pairs) > 1 else None
        out[f"hold_share_{what}"] = statistics.fmean(r[f"hold_share_{what}"] for r in rows)
    out["words_in_music_on"] = sum(sum(r["on"]["words_in_music"]) for r in rows)
    out["words_in_music_off"] = sum(sum(r["off"]["words_in_music"]) for r in rows)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tracks", default=",".join(TRACKS), help="comma-separated, of: " + ", ".join(TRACKS)
    )
    parser.add_argument(
        "--repeats", type=int, default=4, help="rounds per track, speech in another order each"
    )
    parser.add_argument(
        "--speech-seconds", type=float, default=240.0, help="conversation after the hold music"
    )
    parser.add_argument("--music-share", type=float, default=0.3, help="hold music's share of each recording")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    names = [n for n in args.tracks.split(",") if n]
    unknown = sorted(set(names) - set(TRACKS))
    if unknown:
        parser.error(f"unknown track(s) {', '.join(unknown)}; choose from {', '.join(TRACKS)}")
    began = time.perf_counter()
    load_before = os.getloadavg()
    runners = {
        "on": Runner(RunOptions(load_config("default"))),
        "off": Runner(RunOptions(load_config("default", **{"hold_music.strip": "off"}))),
    }
    rows = {}
    with tempfile.TemporaryDirectory(prefix="speedup-") as tmp:
        warmup = _write(Path(tmp) / "warmup.flac", conversation(10.0, seed=0))
        for runner in runners.values():
            timed(warmup, runner)
        for name in names:
            rows[name] = measure_track(
                name,
                speech_seconds=args.speech_seconds,
                share=args.music_share,
                repeats=args.repeats,
                work=Path(tmp),
                runners=runners,
            )
            print_row(name, rows[name])
    kinds = {}
    for kind in ("instrumental", "voiced"):
        chosen = [row for row in rows.values() if row["kind"] == kind]
        if chosen:
            kinds[kind] = pooled(chosen)
            print_pooled(kind, kinds[kind])
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "code": code_provenance(REPO),
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "tracks": rows,
        "kinds": kinds,
        "total_seconds": time.perf_counter() - began,
    }
    write_json(args.output, result)
    print(f"wrote {args.output} in {result['total_seconds']:.0f} s")
    return 0


def print_row(name: str, row: dict) -> None:
    """One line per track, filter on / off: mean times, saving, hold music's share, words inside it."""
    on, off = row["on"], row["off"]
    pairs = " ".join(f"{x:+.0%}" for x in row["savings_wall"])
    print(
        f"{name:13s} {row['kind']:12s} music {row['music_s']:4.0f} s, cut {min(row['stripped_s']):4.0f} | "
        f"wall {statistics.fmean(on['wall']):5.1f} / {statistics.fmean(off['wall']):5.1f} s, "
        f"saving {row['saving_wall']:+6.1%} (pairs {pairs}) | hold share {row['hold_share_wall']:5.1%} | "
        f"words in music {sum(on['words_in_music'])}/{sum(off['words_in_music'])}",
        flush=True,
    )


def print_pooled(kind: str, summary: dict) -> None:
    """The savings of one kind of hold track, pooled."""
    stderr = summary["saving_wall_stderr"]
    spread = f" +- {stderr:.1%}" if stderr else ""
    print(
        f"{kind}: {summary['recordings']} recordings, saving {summary['saving_wall']:+.1%} wall "
        f"(paired mean {summary['saving_wall_mean']:+.1%}{spread}), {summary['saving_cpu']:+.1%} CPU; "
        f"hold music's share of filter-off time {summary['hold_share_wall']:.1%}; "
        f"words in music {summary['words_in_music_on']} on, {summary['words_in_music_off']} off"
    )


if __name__ == "__main__":
    raise SystemExit(main())
