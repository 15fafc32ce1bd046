"""The whole evaluation: build the recordings, run every system, score, compare, scale.

Every heavy step runs in its own child process (``resources.measure``): building a
recording (hours of audio must not swell this process, whose size children would
otherwise inherit), each system over the accuracy set, and each length of the
scaling series. This process only orchestrates and scores.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.conversations import conversation_references, long_talk, phone_calls
from evaluation.diarization import COLLARS, hourly_confusion, score_diarization
from evaluation.interview import interview
from evaluation.music import music_counts
from evaluation.recordings import live_room, long_reference, write_warmup_clip
from evaluation.references import Reference, real_references
from evaluation.resources import floor_mb, measure, start_fork_server
from evaluation.scoring import RecordingScore, ratios, score_output, summarise
from evaluation.systems import SYSTEMS, SystemRun, run_system
from pipeline.run.config import load_config

logger = logging.getLogger(__name__)

SCHEMA = "speechpipe-eval/1"
BASELINES = ("keep-music", "plain-whisper")


@dataclass(frozen=True)
class Plan:
    """What one evaluation run covers.

    Attributes
    ----------
    rooms : int
        Live rooms in the accuracy set (about 3-4 minutes each).
    real : bool
        Add the real recordings as they are.
    quick : bool
        One short (~1 minute) live room, no real recordings, no scaling series, no warm-up.
    calls : int
        Generated two-party calls of real voices (even: wideband, odd: telephone).
    interview_minutes : float
        Length of the host-with-backchannels interview, minutes (0: none).
    scaling_minutes : tuple of float
        Lengths of the scaling series, minutes (ours only: the baselines would need
        hours of decoding music).
    loop_fraction : float
        Share of each scaling recording that is hold music.
    talk_minutes : tuple of float
        Lengths of the long-talk series: two people talking after a looping hold
        track, minutes of talk (ours only).
    talk_hold_minutes : float
        Length of that hold track, minutes.
    seed : int
        The same seed builds the same recordings.
    config : str
        Pipeline config name or path.
    """

    rooms: int = 2
    real: bool = True
    quick: bool = False
    calls: int = 4
    interview_minutes: float = 6.0
    scaling_minutes: tuple[float, ...] = (5.0, 60.0, 180.0)
    loop_fraction: float = 0.99
    talk_minutes: tuple[float, ...] = (20.0,)
    talk_hold_minutes: float = 45.0
    seed: int = 0
    config: str = "default"


@dataclass(frozen=True)
class Inputs:
    """Where the evaluation reads its real material, and which checkout it measures.

    Attributes
    ----------
    data : Path
        Real clips: ``singlespeaker/``, ``multispeaker/``, ``music/``, ``noise/``, ``conversations/``.
    references : Path
        Derived RTTMs of the real conversations (the checkout's ``bench/references``).
    repo : Path or None
        The git checkout whose commit is recorded with the results; None records none.
    """

    data: Path
    references: Path
    repo: Path | None = None


def evaluate(
    plan: Plan, *, inputs: Inputs, work: Path, progress: Callable[[str], None] = logger.info
) -> dict[str, Any]:
    """Run ``plan``; returns the results as a JSON-able dict (see ``results.write_results``).

    Parameters
    ----------
    plan
        What to run.
    inputs
        Real material and the checkout measured.
    work
        Folder for the generated recordings (FLAC); long ones are deleted once measured.
    progress
        Called with a one-line message at each step.
    """
    start_fork_server()
    began = time.perf_counter()
    load_before = os.getloadavg()
    floor = floor_mb()
    progress("building recordings")
    references = measure(_build_set, plan, inputs, work).value
    warmup = None if plan.quick else measure(write_warmup_clip, work).value
    runs: dict[str, dict[str, Any]] = {}
    scores: list[RecordingScore] = []
    metrics = load_config(plan.config).metrics
    by_name = {r.name: r for r in references}
    for system in SYSTEMS:
        progress(f"{system}: {len(references)} recordings")
        measured = measure(
            run_system, system, [(r.name, r.path) for r in references], config_name=plan.config, warmup=warmup
        )
        run: SystemRun = measured.value
        runs[system] = {
            "load_seconds": run.load_seconds,
            "warmup_seconds": run.warmup_seconds,
            "peak_rss_mb": measured.peak_rss_mb,
            "wall_seconds": measured.wall_seconds,
            "cpu_seconds": measured.cpu_seconds,
        }
        scores.extend(score_output(by_name[o.name], o, metrics=metrics) for o in run.outputs)
    summary, compared = _compare(scores, kinds=sorted({r.kind for r in references}))
    scaling = [] if plan.quick else _scaling(plan, inputs, work, warmup, progress)
    talk_scaling = [] if plan.quick else _talk_scaling(plan, inputs, work, warmup, progress)
    return {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_provenance(inputs.repo),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "plan": asdict(plan),
        "collars": {
            "values": list(COLLARS),
            "convention": "pyannote.metrics collar: total width, half each "
            "side of a reference boundary (0.5 = 0.25 s each side)",
        },
        "memory_floor_mb": floor,
        "recordings": [_describe(r) for r in references],
        "systems": runs,
        "scores": [{**asdict(s), "figures": summarise([s])} for s in scores],
        "summary": summary,
        "ratios": compared,
        "scaling": scaling,
        "talk_scaling": talk_scaling,
        "total_seconds": time.perf_counter() - began,
    }


def code_provenance(repo: Path | None) -> dict[str, Any]:
    """The commit of the checkout ``repo`` measured, and its uncommitted code changes.

    With uncommitted changes the numbers are not the commit's. ``repo`` None (or not a git
    checkout): no commit.
    """
    if repo is None:
        return {"commit": None, "uncommitted": []}
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "pipeline", "configs", "models"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "uncommitted": []}
    return {
        "commit": head.stdout.strip() or None,
        "uncommitted": [line[3:] for line in status.stdout.splitlines()],
    }


def _build_set(plan: Plan, inputs: Inputs, work: Path) -> list[Reference]:
    data = inputs.data
    if plan.quick:
        return [live_room(0, work, data=data, seed=plan.seed, short=True)]
    rooms = [live_room(i, work, data=data, seed=plan.seed) for i in range(plan.rooms)]
    talks = phone_calls(work, shared_data=data, seed=plan.seed, count=plan.calls)
    if plan.interview_minutes > 0:
        try:
            talks.append(
                interview(work, shared_data=data, minutes=plan.interview_minutes, seed=plan.seed).reference
            )
        except FileNotFoundError as err:
            logger.info("interview skipped: %s", err)
    real = (
        real_references(shared_data=data)
        + conversation_references(shared_data=data, references_dir=inputs.references)
        if plan.real
        else []
    )
    return rooms + talks + real


def _compare(scores: Sequence[RecordingScore], *, kinds: Sequence[str]) -> tuple[dict, dict]:
    """Per kind (and ``all``): each system's pooled figures, and ours over each baseline."""
    summary: dict[str, dict[str, dict]] = {}
    compared: dict[str, dict[str, dict]] = {}
    for kind in (*kinds, "all") if len(kinds) > 1 else kinds:
        chosen = [s for s in scores if kind in ("all", s.kind)]
        summary[kind] = {system: summarise([s for s in chosen if s.system == system]) for system in SYSTEMS}
        compared[kind] = {b: ratios(summary[kind]["ours"], summary[kind][b]) for b in BASELINES}
    return summary, compared


def _scaling(
    plan: Plan, inputs: Inputs, work: Path, warmup: Path | None, progress: Callable[[str], None]
) -> list[dict]:
    rows = []
    for minutes in plan.scaling_minutes:
        progress(f"scaling: {minutes:g} minutes")
        reference = measure(
            long_reference, minutes, work, data=inputs.data, seed=plan.seed, loop_fraction=plan.loop_fraction
        ).value
        measured = measure(
            run_system, "ours", [(reference.name, reference.path)], config_name=plan.config, warmup=warmup
        )
        output = measured.value.outputs[0]
        counts = music_counts(reference.music, output.stripped, reference.speech, duration=reference.duration)
        rows.append(
            {
                "minutes": minutes,
                "audio_seconds": reference.duration,
                "seconds": output.seconds,
                "rtf": output.seconds / reference.duration,
                "cpu_rtf": output.cpu_seconds / reference.duration,
                "stage_rtf": {k: v / reference.duration for k, v in output.timings.items()},
                "peak_rss_mb": measured.peak_rss_mb,
                "cpu_seconds": measured.cpu_seconds,
                "speech_seconds": sum(e - s for s, e in reference.speech),
                "music_f1": counts.f1,
                "speech_lost": counts.speech_lost_share,
                "load_seconds": measured.value.load_seconds,
            }
        )
        reference.path.unlink(missing_ok=True)  # hours of FLAC: do not leave them behind
    return rows


def _talk_scaling(
    plan: Plan, inputs: Inputs, work: Path, warmup: Path | None, progress: Callable[[str], None]
) -> list[dict]:
    """Long two-person talk after a hold loop: speed, memory, speakers found and their stability."""
    rows = []
    for minutes in plan.talk_minutes:
        progress(f"long talk: {plan.talk_hold_minutes:g} min hold + {minutes:g} min talk")
        reference = measure(
            long_talk,
            work,
            talk_minutes=minutes,
            hold_minutes=plan.talk_hold_minutes,
            shared_data=inputs.data,
            seed=plan.seed,
        ).value
        if reference is None:
            logger.info("long talk skipped: its voices or hold track are not in the shared data")
            continue
        measured = measure(
            run_system, "ours", [(reference.name, reference.path)], config_name=plan.config, warmup=warmup
        )
        output = measured.value.outputs[0]
        whole = ((0.0, reference.duration),)
        collar = {s.collar: s.der for s in score_diarization(reference.turns, output.turns, uem=whole)}
        rows.append(
            {
                "talk_minutes": minutes,
                "hold_minutes": plan.talk_hold_minutes,
                "audio_seconds": reference.duration,
                "seconds": output.seconds,
                "rtf": output.seconds / reference.duration,
                "cpu_rtf": output.cpu_seconds / reference.duration,
                "stage_rtf": {k: v / reference.duration for k, v in output.timings.items()},
                "talk_stage_rtf": {k: v / (minutes * 60) for k, v in output.timings.items()},
                "peak_rss_mb": measured.peak_rss_mb,
                "speakers_true": len({t.speaker for t in reference.turns}),
                "speakers_found": len({t.speaker for t in output.turns}),
                "der_c0.5": collar[0.5],
                "hourly": hourly_confusion(reference.turns, output.turns, uem=whole),
                "load_seconds": measured.value.load_seconds,
            }
        )
        reference.path.unlink(missing_ok=True)
    return rows


def _describe(reference: Reference) -> dict[str, Any]:
    return {
        "name": reference.name,
        "kind": reference.kind,
        "duration": reference.duration,
        "tags": list(reference.tags),
        "speakers": len({t.speaker for t in reference.turns}),
        "music_seconds": sum(e - s for s, e in reference.music),
        "speech_seconds": sum(e - s for s, e in reference.speech),
        "transcribed": reference.text is not None,
    }
