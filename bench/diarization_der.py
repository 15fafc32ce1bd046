"""Who spoke when, measured: the diarizer on real and real-voice recordings with speaker truth.

Cases (each skipped when its data is absent):

- **real**: pyannote.audio's ``sample.wav`` and the data folder's ``multispeaker/`` with their
  RTTMs (the ``vad_derived`` ones are approximate);
- **conversation**: the two real two-party recordings of the data folder's ``conversations/``
  with the derived references of ``bench/references/``;
- **call**: two-party calls built from real single-speaker clips, wideband and through a
  telephone channel (8 kHz, G.711, AMR-NB) (``evaluation.conversations``);
- **interview**: a guest's long monologue, a host with another voice who only asks
  short things and murmurs assent;
- **quiet-host**: interviews of like voices (two readers of one sex whose CAM++ voice
  averages are among the most alike of 261 LibriSpeech readers, ``bench/voices``): the
  host opens, then has 0.5-6 % of the talk in questions (1.5-6 s, some interrupting) and
  murmurs (0.2-0.8 s) (``evaluation.quiet_host``); ``--long-quiet-minutes``
  adds one of hours with the host under 1 %;
- **like-call**: two-party calls of like-voiced readers, wideband and phone;
- **single**: the data folder's ``singlespeaker/`` (the right answer is one speaker).

The data folder is ``--data`` (default ``../shared/data`` beside the checkout).

Figures: DER and JER (pyannote.metrics, overlap scored, whole file; a group pools both
from their summed components, ``evaluation.diarization.pooled_rates``) with no collar and
with 0.25 s each side of every reference boundary; speakers found against the truth;
talk-share error (the product's own metrics on reference vs found turns, speakers
matched optimally); for the interview, the monologue's share on its main label and
the host's backchannels (count) attributed to the host; for every recording with two
or more speakers the minority speaker's figures (``evaluation.minority``:
recall on its own label, turns mostly on it, backchannels and questions attributed to
it, naming by first speech right); real-time factor (wall and CPU, 2 cores) and the
process's peak RSS.

``--senko`` runs the peer diarizer senko 0.2.2 on every case, side by side, in an
environment of its own (``bench/senko_env.sh`` makes it; the product never imports it).

``--rttm-dir DIR`` scores another diarizer's output beside ours (``DIR/<case>.rttm``,
e.g. written by another checkout), so both are compared on the same cases in one run.

Usage::

    .venv/bin/python bench/diarization_der.py
    .venv/bin/python bench/diarization_der.py --interview-minutes 15 --calls 6
    .venv/bin/python bench/diarization_der.py --senko --long-quiet-minutes 120
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the evaluation package beside bench/

if TYPE_CHECKING:
    from evaluation.diarization import DiarizationScore
    from evaluation.minority import MinorityScore
    from evaluation.quiet_host import QuietHostInterview

RESULTS = REPO / "bench" / "results" / "diarization.json"
DATA = REPO.parent / "shared" / "data"
VOICES = REPO / "bench" / "voices"
REFERENCES = REPO / "bench" / "references"
SENKO_PYTHON = REPO / "bench" / ".senko-venv" / "bin" / "python"
QUIET_HOST_SHARES = (0.06, 0.04, 0.02, 0.01, 0.005, 0.03, 0.05)
"""The host's drawn share of the talk in quiet-host interview ``i`` (at least 3 questions,
5 murmurs and the opening are always there, so short interviews end up at 2-6 %)."""
_AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


@dataclass(frozen=True)
class Case:
    """One recording with speaker truth.

    Attributes
    ----------
    name, group : str
        Unique name; the table it is pooled in.
    path : Path
        Audio, any format the product decodes.
    turns : tuple of Turn
        Reference turns, seconds (empty for single-speaker clips: count only).
    true_speakers : int
        Speakers in the recording.
    host_turns, guest_turns : tuple of (float, float)
        Interviews only: the host's backchannels and the guest's sentences, seconds.
    questions : tuple of (float, float)
        Quiet-host interviews only: the host's opening and questions, seconds.
    """

    name: str
    group: str
    path: Path
    turns: tuple
    true_speakers: int
    host_turns: tuple[tuple[float, float], ...] = ()
    guest_turns: tuple[tuple[float, float], ...] = ()
    questions: tuple[tuple[float, float], ...] = ()


@dataclass
class Outcome:
    """One diarizer's answer on one case, scored."""

    case: Case
    system: str
    found: int
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    duration: float = 0.0
    scores: dict[float, DiarizationScore] = field(default_factory=dict)  # by collar
    share_error: float | None = None
    monologue_share: float | None = None
    backchannels_to_host: float | None = None
    minority: MinorityScore | None = None

    @property
    def der(self) -> dict[float, float]:
        """DER by collar (empty without reference turns)."""
        return {collar: score.der for collar, score in self.scores.items()}

    @property
    def jer(self) -> dict[float, float]:
        """JER by collar (empty without reference turns)."""
        return {collar: score.jer for collar, score in self.scores.items()}


def cases(
    folder: Path,
    *,
    data: Path,
    voices: Path,
    references: Path,
    calls: int,
    interview_minutes: float,
    quiet_minutes: float,
    long_quiet_minutes: float,
) -> Iterator[Case]:
    """Every case whose data is present (see the module docstring).

    ``data``: the real clips; ``voices``: the LibriSpeech voice bank; ``references``: the
    derived RTTMs of the real conversations.
    """
    from evaluation.conversations import conversation_references, phone_calls
    from evaluation.interview import interview
    from evaluation.quiet_host import (
        CALL_PAIRS,
        INTERVIEW_PAIRS,
        like_voice_call,
        quiet_host_interview,
        voices_present,
    )
    from evaluation.references import read_rttm
    from evaluation.sources import pyannote_sample_path

    sample = pyannote_sample_path()
    if sample is not None:
        yield _case("pyannote_sample", "real", sample, read_rttm(sample.with_suffix(".rttm")))
    for wav in sorted((data / "multispeaker").glob("*.wav")):
        rttms = sorted(wav.parent.glob(f"{wav.stem}*.rttm"))
        if rttms:
            yield _case(wav.stem, "real", wav, read_rttm(rttms[0]))
    for reference in conversation_references(shared_data=data, references_dir=references):
        yield _case(reference.name.removeprefix("real:"), "conversation", reference.path, reference.turns)
    for reference in phone_calls(folder, shared_data=data, count=calls):
        yield _case(reference.name, "call", reference.path, reference.turns)
    if interview_minutes > 0:
        talk = interview(folder, shared_data=data, minutes=interview_minutes)
        yield Case(
            talk.reference.name,
            "interview",
            talk.reference.path,
            talk.reference.turns,
            2,
            host_turns=talk.backchannels,
            guest_turns=talk.monologue,
        )
    pairs = voices_present(INTERVIEW_PAIRS, voices)
    for i, pair in enumerate(pairs if quiet_minutes > 0 else ()):
        share = QUIET_HOST_SHARES[i % len(QUIET_HOST_SHARES)]
        talk = quiet_host_interview(
            folder, pair, bank=voices, data=data, minutes=quiet_minutes, host_share=share
        )
        yield _quiet_case(talk)
    if long_quiet_minutes > 0 and pairs:
        talk = quiet_host_interview(
            folder, pairs[0], bank=voices, data=data, minutes=long_quiet_minutes, host_share=0.004
        )
        yield replace(_quiet_case(talk), group="quiet-host-long")
    for i, pair in enumerate(voices_present(CALL_PAIRS, voices)):
        reference = like_voice_call(i, pair, folder, bank=voices)
        yield _case(reference.name, "like-call", reference.path, reference.turns)
    for path in sorted((data / "singlespeaker").glob("*")):
        if path.suffix in _AUDIO_SUFFIXES:
            yield Case(path.stem, "single", path, (), 1)


def _quiet_case(talk: QuietHostInterview) -> Case:
    return Case(
        talk.reference.name,
        "quiet-host",
        talk.reference.path,
        talk.reference.turns,
        2,
        host_turns=talk.backchannels,
        guest_turns=talk.monologue,
        questions=talk.opening + talk.questions,
    )


def _case(name: str, group: str, path: Path, turns: tuple) -> Case:
    return Case(name, group, path, turns, len({t.speaker for t in turns}))


def score(case: Case, system: str, regular: tuple, exclusive: tuple, duration: float) -> Outcome:
    """Score one diarization (turns in seconds; ``regular`` may overlap) of ``case``."""
    from evaluation.diarization import optimal_mapping, score_diarization
    from evaluation.minority import minority_score
    from evaluation.speakers import reference_stats, speaker_errors
    from pipeline.stages.metrics.settings import MetricsConfig

    outcome = Outcome(case, system, found=len({t.speaker for t in regular}), duration=duration)
    if not case.turns:
        return outcome
    whole = ((0.0, duration),)
    for s in score_diarization(case.turns, regular, uem=whole):
        outcome.scores[s.collar] = s
    metrics = MetricsConfig()
    mapping = optimal_mapping(case.turns, regular, uem=whole)
    expected = reference_stats(case.turns, duration=duration, config=metrics)
    found = reference_stats(regular, duration=duration, config=metrics)
    errors = speaker_errors(expected, found, mapping)
    outcome.share_error = errors.share_error_mean if errors else None
    if case.host_turns:
        outcome.monologue_share, outcome.backchannels_to_host = interview_scores(case, exclusive)
    outcome.minority = minority_score(
        case.turns,
        regular,
        exclusive,
        duration=duration,
        backchannels=case.host_turns,
        questions=case.questions,
    )
    return outcome


def interview_scores(case: Case, exclusive: Sequence) -> tuple[float, float]:
    """``(monologue share on its main label, fraction of backchannels on another label)``.

    A backchannel counts as the host's when most of its time in the exclusive
    diarization is on a label other than the guest's main one.
    """
    guest_time: dict[str, float] = {}
    for a, b in case.guest_turns:
        for label, seconds in _overlaps(exclusive, a, b).items():
            guest_time[label] = guest_time.get(label, 0.0) + seconds
    if not guest_time:
        return 0.0, 0.0
    main = max(guest_time, key=guest_time.__getitem__)
    caught = 0
    for a, b in case.host_turns:
        time_on = _overlaps(exclusive, a, b)
        other = sum(v for label, v in time_on.items() if label != main)
        caught += other > time_on.get(main, 0.0)
    return guest_time[main] / sum(guest_time.values()), caught / max(len(case.host_turns), 1)


def _overlaps(turns: Sequence, start: float, end: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in turns:
        seconds = min(t.end, end) - max(t.start, start)
        if seconds > 0:
            out[t.speaker] = out.get(t.speaker, 0.0) + seconds
    return out


def run_ours(all_cases: list[Case], *, device: str) -> list[Outcome]:
    """The product's diarizer (default config) on every case, timed."""
    from pipeline.core.timeline import KeptTimeline
    from pipeline.io.audio import SAMPLE_RATE, load_audio
    from pipeline.run.config import load_config
    from pipeline.stages.diarization.stage import create_diarizer, diarize

    config = load_config("default", **{"diarization.device": device})
    diarizer = create_diarizer(config.diarization, models_dir=config.models_dir)
    diarizer.diarize(load_audio(all_cases[0].path)[: 10 * SAMPLE_RATE])  # warm-up: first-call costs
    outcomes = []
    for case in all_cases:
        audio = load_audio(case.path)
        duration = audio.size / SAMPLE_RATE
        timeline = KeptTimeline.from_stripped(duration, ())
        wall, cpu = time.perf_counter(), time.process_time()
        exclusive, regular = diarize(diarizer, audio, timeline, config.diarization)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        outcome = score(case, "ours", regular, exclusive, duration)
        outcome.seconds, outcome.cpu_seconds = wall, cpu
        outcomes.append(outcome)
        _print_row(outcome)
    return outcomes


def score_rttm_dir(all_cases: list[Case], folder: Path, *, system: str | None = None) -> list[Outcome]:
    """Another diarizer's ``<case>.rttm`` files scored like ours (cases without one are skipped).

    Wall and CPU seconds are taken from ``timings.jsonl`` beside them when it has the
    case (``{"name", "seconds", "cpu_seconds"}`` a line, as ``bench/senko_diarize.py`` writes).
    """
    from evaluation.references import read_rttm
    from pipeline.io.audio import SAMPLE_RATE, load_audio

    timings_file = folder / "timings.jsonl"
    lines = timings_file.read_text(encoding="utf-8").splitlines() if timings_file.is_file() else []
    timings = {row["name"]: row for row in map(json.loads, lines)}
    outcomes = []
    for case in all_cases:
        rttm = folder / f"{case.name}.rttm"
        if rttm.is_file():
            turns = read_rttm(rttm)
            duration = load_audio(case.path).size / SAMPLE_RATE
            outcome = score(case, system or folder.name, turns, turns, duration)
            timing = timings.get(case.name, {})
            outcome.seconds, outcome.cpu_seconds = timing.get("seconds", 0.0), timing.get("cpu_seconds", 0.0)
            outcomes.append(outcome)
            _print_row(outcome)
    return outcomes


def run_senko(all_cases: list[Case], folder: Path) -> list[Outcome]:
    """The peer senko 0.2.2 on every case (in its own environment, made on first use), scored like ours."""
    subprocess.run(["bash", str(REPO / "bench" / "senko_env.sh")], check=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timings.jsonl").unlink(missing_ok=True)
    command = [str(SENKO_PYTHON), str(REPO / "bench" / "senko_diarize.py"), "--out", str(folder)]
    subprocess.run(command + [str(c.path) for c in all_cases], check=True)
    return score_rttm_dir(all_cases, folder, system="senko")


def _print_row(o: Outcome) -> None:
    der = f"{100 * o.der[0.5]:6.1f} {100 * o.der[0.0]:6.1f}" if o.der else f"{'':6s} {'':6s}"
    jer = f"{100 * o.jer[0.5]:6.1f}" if o.jer else f"{'':6s}"
    share = f"{o.share_error:6.3f}" if o.share_error is not None else f"{'':6s}"
    rtf = f"{o.seconds / o.duration:7.4f}" if o.seconds else f"{'':7s}"
    extra = (
        f"  minority recall {o.minority.recall:.2f}, named {'right' if o.minority.named_first else 'WRONG'}"
        if o.minority
        else ""
    )
    if o.minority and o.minority.backchannels is not None:
        extra += f", backchannels {100 * o.minority.backchannels:.0f} %"
    if o.minority and o.minority.questions is not None:
        extra += f", questions {100 * o.minority.questions:.0f} %"
    print(
        f"{o.system:10s} {o.case.group:12s} {o.case.name[:32]:32s} {o.duration:7.1f} {der} {jer} "
        f"{o.found:>3d}/{o.case.true_speakers:<3d} {share} {rtf}{extra}",
        flush=True,
    )


def summary(outcomes: list[Outcome]) -> dict:
    """Per system and group: DER/JER pooled from summed components, count error, share error, RTF."""
    from evaluation.diarization import pooled_rates

    out: dict = {}
    for system in dict.fromkeys(o.system for o in outcomes):
        mine = [o for o in outcomes if o.system == system]
        groups: dict = {}
        for group in dict.fromkeys(o.case.group for o in mine):
            rows = [o for o in mine if o.case.group == group]
            entry: dict = {
                "recordings": len(rows),
                "audio_seconds": sum(o.duration for o in rows),
                "speaker_count_error": float(np.mean([abs(o.found - o.case.true_speakers) for o in rows])),
                "right_count": sum(o.found == o.case.true_speakers for o in rows),
            }
            scored = [o for o in rows if o.scores]
            for collar in (0.0, 0.5) if scored else ():
                der, jer = pooled_rates(o.scores[collar] for o in scored)
                entry[f"der_pooled_collar_{collar:g}"] = der
                entry[f"jer_pooled_collar_{collar:g}"] = jer
            entry.update(_minority_summary(rows))
            shares = [o.share_error for o in rows if o.share_error is not None]
            if shares:
                entry["share_error_mean"] = float(np.mean(shares))
            timed = [o for o in rows if o.seconds]
            if timed:
                entry["rtf_wall"] = sum(o.seconds for o in timed) / sum(o.duration for o in timed)
                entry["rtf_cpu"] = sum(o.cpu_seconds for o in timed) / sum(o.duration for o in timed)
            groups[group] = entry
        out[system] = groups
    return out


def _minority_summary(rows: list[Outcome]) -> dict:
    """Pooled minority figures of a group: recall weighted by the minority's speech, turns by count."""
    scored = [o for o in rows if o.minority is not None]
    if not scored:
        return {}
    seconds = [o.minority.seconds for o in scored]  # type: ignore[union-attr]
    out: dict = {
        "minority_recall_pooled": sum(o.minority.recall * s for o, s in zip(scored, seconds, strict=True))  # type: ignore[union-attr]
        / sum(seconds),
        "minority_recall_worst": min(o.minority.recall for o in scored),  # type: ignore[union-attr]
        "minority_turns_on_label_mean": float(np.mean([o.minority.turns_on_label for o in scored])),  # type: ignore[union-attr]
        "named_first_right": sum(o.minority.named_first for o in scored),  # type: ignore[union-attr]
    }
    for kind, spans in (("backchannels", lambda c: c.host_turns), ("questions", lambda c: c.questions)):
        pairs = [
            (getattr(o.minority, kind), len(spans(o.case)))
            for o in scored
            if getattr(o.minority, kind) is not None
        ]
        if pairs:
            out[f"minority_{kind}_attributed"] = sum(f * n for f, n in pairs) / sum(n for _, n in pairs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=6, help="generated two-party calls (default: %(default)s)"
    )
    parser.add_argument(
        "--interview-minutes", type=float, default=6.0, help="interview length, minutes (0: skip)"
    )
    parser.add_argument(
        "--quiet-minutes", type=float, default=8.0, help="quiet-host interview length, minutes (0: skip)"
    )
    parser.add_argument(
        "--long-quiet-minutes",
        type=float,
        default=0.0,
        help="minutes of the long quiet-host interview (0: none)",
    )
    parser.add_argument(
        "--groups", help="only these case groups, comma-separated (e.g. quiet-host,like-call)"
    )
    parser.add_argument("--senko", action="store_true", help="also run senko 0.2.2 side by side")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument(
        "--rttm-dir", type=Path, help="also score DIR/<case>.rttm (another diarizer's output)"
    )
    parser.add_argument("--cases", type=Path, help="keep the generated recordings in this folder")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results (default: %(default)s)")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder of the real clips (default: ../shared/data)"
    )
    parser.add_argument(
        "--voices", type=Path, default=VOICES, help="LibriSpeech voice bank (default: bench/voices)"
    )
    parser.add_argument(
        "--references",
        type=Path,
        default=REFERENCES,
        help="derived RTTMs of the real conversations (default: bench/references)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.cases or Path(tmp)
        all_cases = list(
            cases(
                folder,
                data=args.data,
                voices=args.voices,
                references=args.references,
                calls=args.calls,
                interview_minutes=args.interview_minutes,
                quiet_minutes=args.quiet_minutes,
                long_quiet_minutes=args.long_quiet_minutes,
            )
        )
        if args.groups:
            all_cases = [c for c in all_cases if c.group in args.groups.split(",")]
        print(
            f"{'system':10s} {'group':12s} {'case':32s} {'dur s':>7s} {'DER.25':>6s} {'DER0':>6s} "
            f"{'JER.25':>6s} {'spk':>7s} {'share':>6s} {'RTF':>7s}"
        )
        outcomes = run_ours(all_cases, device=args.device)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if args.rttm_dir:
            outcomes += score_rttm_dir(all_cases, args.rttm_dir)
        if args.senko:
            outcomes += run_senko(all_cases, folder / "senko")
    from evaluation.results import write_json

    results = {"summary": summary(outcomes), "peak_rss_mib": peak_mib, "cases": [_row(o) for o in outcomes]}
    print(json.dumps(results["summary"], indent=1))
    print(f"peak RSS of this process (models + largest case): {peak_mib:.0f} MiB")
    write_json(args.output, results)
    print(f"wrote {args.output}")


def _row(o: Outcome) -> dict:
    return {
        "system": o.system,
        "group": o.case.group,
        "case": o.case.name,
        "duration": o.duration,
        "speakers_found": o.found,
        "speakers_true": o.case.true_speakers,
        "der": {f"collar_{k:g}": v for k, v in o.der.items()},
        "jer": {f"collar_{k:g}": v for k, v in o.jer.items()},
        "share_error": o.share_error,
        "monologue_share": o.monologue_share,
        "backchannels_to_host": o.backchannels_to_host,
        "minority": asdict(o.minority) if o.minority else None,
        "seconds": o.seconds,
        "cpu_seconds": o.cpu_seconds,
    }


if __name__ == "__main__":
    main()
