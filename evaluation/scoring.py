"""One system's output against one reference, then a set pooled, then ours over each baseline.

Pooling follows each metric's own rule: DER, JER and WER from summed components
(seconds, speakers, words), music F1 and speech lost from summed 10 ms frames, the
per-speaker errors as means over recordings, time as total seconds over total audio.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

from evaluation.diarization import (
    COLLARS,
    DiarizationScore,
    optimal_mapping,
    pooled_rates,
    score_diarization,
)
from evaluation.minority import MinorityScore, minority_score
from evaluation.music import MusicCounts, music_counts
from evaluation.references import Reference
from evaluation.speakers import SpeakerErrors, reference_stats, speaker_errors
from evaluation.systems import SystemOutput
from evaluation.transcript import WordErrors, scored_text, word_errors, words_inside
from pipeline.stages.metrics.settings import MetricsConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordingScore:
    """Every figure of one system on one recording (None: not applicable).

    Attributes
    ----------
    recording, system, kind : str
        Which recording, which system, and the recording's kind.
    duration, seconds, cpu_seconds : float
        Audio length, processing wall time and its CPU time (all threads), seconds.
    stage_seconds : dict
        Seconds per stage.
    diarization : tuple of DiarizationScore
        One per collar; empty without reference turns or for plain whisper.
    words : WordErrors or None
        None without a reference transcript.
    words_in_music : int or None
        Recognised words whose midpoint lies in music the filter should strip; None without such music.
    music : MusicCounts
        Stripped vs reference music, 10 ms frames.
    speakers : SpeakerErrors or None
        None without reference turns or for plain whisper.
    minority : MinorityScore or None
        The quietest reference speaker's figures; None as ``speakers``, or with one speaker.
    """

    recording: str
    system: str
    kind: str
    duration: float
    seconds: float
    cpu_seconds: float
    stage_seconds: dict[str, float]
    diarization: tuple[DiarizationScore, ...]
    words: WordErrors | None
    words_in_music: int | None
    music: MusicCounts
    speakers: SpeakerErrors | None
    minority: MinorityScore | None = None


def score_output(reference: Reference, output: SystemOutput, *, metrics: MetricsConfig) -> RecordingScore:
    """Score ``output`` against ``reference`` (see ``RecordingScore``)."""
    diarizes = bool(reference.turns) and output.diarized
    whole = ((0.0, reference.duration),)
    diarization: tuple[DiarizationScore, ...] = ()
    speakers = None
    minority = None
    if diarizes:
        diarization = score_diarization(reference.turns, output.turns, uem=whole)
        mapping = optimal_mapping(reference.turns, output.turns, uem=whole)
        expected = reference_stats(reference.turns, duration=reference.duration, config=metrics)
        speakers = speaker_errors(expected, output.speakers, mapping)
        minority = minority_score(reference.turns, output.turns, output.turns, duration=reference.duration)
    words = None
    if reference.text is not None:
        words = word_errors(reference.text, scored_text(output.words, untranscribed=reference.untranscribed))
    return RecordingScore(
        recording=reference.name,
        system=output.system,
        kind=reference.kind,
        duration=reference.duration,
        seconds=output.seconds,
        cpu_seconds=output.cpu_seconds,
        stage_seconds=dict(output.timings),
        diarization=diarization,
        words=words,
        words_in_music=len(words_inside(output.words, reference.music)) if reference.music else None,
        music=music_counts(reference.music, output.stripped, reference.speech, duration=reference.duration),
        speakers=speakers,
        minority=minority,
    )


def summarise(scores: Sequence[RecordingScore]) -> dict[str, float | int | None]:
    """Pool one system's scores over a set: a flat ``{figure: value}`` (None: not applicable).

    Figures: ``seconds``, ``audio_seconds``, ``rtf``, ``cpu_seconds``, ``cpu_rtf``, ``rtf_<stage>``,
    ``der_c<collar>``, ``jer_c<collar>``, ``wer``, ``words_in_music``, ``music_f1``, ``speech_lost``,
    ``share_error``, ``turn_error``, ``count_error``, ``minority_recall`` (pooled by the minority's
    speech), ``minority_named`` (share of recordings whose first speaker is named right).
    """
    audio = sum(s.duration for s in scores)
    seconds = sum(s.seconds for s in scores)
    out: dict[str, float | int | None] = {
        "recordings": len(scores),
        "audio_seconds": audio,
        "seconds": seconds,
        "rtf": seconds / audio if audio else None,
    }
    cpu = sum(s.cpu_seconds for s in scores)
    out["cpu_seconds"], out["cpu_rtf"] = cpu, cpu / audio if audio else None
    for stage in dict.fromkeys(k for s in scores for k in s.stage_seconds):
        out[f"rtf_{stage}"] = sum(s.stage_seconds.get(stage, 0.0) for s in scores) / audio if audio else None
    for collar in COLLARS:
        der, jer = pooled_rates(d for s in scores for d in s.diarization if d.collar == collar)
        out[f"der_c{collar:g}"], out[f"jer_c{collar:g}"] = der, jer
    word_errors = [s.words for s in scores if s.words is not None]
    out["wer"] = reduce(lambda a, b: a + b, word_errors).wer if word_errors else None
    in_music = [s.words_in_music for s in scores if s.words_in_music is not None]
    out["words_in_music"] = sum(in_music) if in_music else None
    music = reduce(lambda a, b: a + b, (s.music for s in scores))
    out["music_f1"] = music.f1
    out["speech_lost"] = music.speech_lost_share
    speakers = [s.speakers for s in scores if s.speakers is not None]
    out["share_error"] = _mean(e.share_error_mean for e in speakers)
    out["turn_error"] = _mean(e.turn_error_mean for e in speakers)
    out["count_error"] = _mean(e.count_error for e in speakers)
    minorities = [s.minority for s in scores if s.minority is not None]
    heard = sum(m.seconds for m in minorities)
    out["minority_recall"] = sum(m.recall * m.seconds for m in minorities) / heard if heard else None
    out["minority_named"] = _mean(float(m.named_first) for m in minorities)
    return out


def ratios(
    ours: Mapping[str, float | int | None], baseline: Mapping[str, float | int | None]
) -> dict[str, float | None]:
    """``ours / baseline`` for every figure both have; None where the baseline is 0 or missing."""
    out: dict[str, float | None] = {}
    for key, value in ours.items():
        if key in ("recordings", "audio_seconds"):
            continue
        other = baseline.get(key)
        out[key] = value / other if value is not None and other else None
    return out


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None
