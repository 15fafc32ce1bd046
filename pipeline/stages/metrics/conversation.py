"""Conversation metrics: who talked, how long, how often, over whom.

Pure functions on the typed result. Speech comes from the regular diarization
(overlaps allowed), so talk over another speaker counts for both; words come from
the speaker-attributed segments; turns are classified in ``floor``. docs/metrics.md
states every definition, formula and threshold used here.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any, TypeVar

from pipeline.core.types import ConversationStats, FloorTurn, Region, Segment, SpeakerStats, Turn, Word
from pipeline.stages.metrics.floor import floor_turns, monologues
from pipeline.stages.metrics.intervals import Interval, measure, subtract, union
from pipeline.stages.metrics.settings import MetricsConfig
from pipeline.stages.metrics.words import count_phrases, phrases, token, words_by_speaker

logger = logging.getLogger(__name__)


def compute_metrics(
    *,
    duration: float,
    turns: Sequence[Turn],
    overlapped_turns: Sequence[Turn],
    segments: Sequence[Segment],
    hold_music: Sequence[Region],
    config: MetricsConfig,
) -> tuple[tuple[SpeakerStats, ...], ConversationStats, tuple[FloorTurn, ...]]:
    """Per-speaker and whole-recording metrics, and the classified turns they count.

    Parameters
    ----------
    duration
        Length of the original recording, seconds.
    turns
        Exclusive diarization; used only when ``overlapped_turns`` is empty.
    overlapped_turns
        Regular diarization (overlaps allowed): the speech of each speaker.
    segments
        Speaker-attributed utterances with words (words without a speaker are ignored).
    hold_music
        Stripped music regions; their time is never speech.
    config
        Thresholds and lexicons.

    Returns
    -------
    speakers : tuple of SpeakerStats
        Most talk time first (ties: first to speak first).
    conversation : ConversationStats
    floor_turns : tuple of FloorTurn
        Every speaker's turns, classified, in time order (``floor.floor_turns``).
    """
    activity = speech_activity(
        duration=duration, turns=turns, overlapped_turns=overlapped_turns, hold_music=hold_music
    )
    floor = floor_turns(activity=activity, segments=segments, config=config)
    spoken = words_by_speaker(segments)
    speakers = sorted(set(activity) | set(spoken))
    talk = {s: measure(activity.get(s, [])) for s in speakers}
    total_talk = sum(talk.values())
    turns_of: dict[str, list[FloorTurn]] = defaultdict(list)
    for turn in floor:
        turns_of[turn.speaker].append(turn)
    matrix: Counter[tuple[str, str]] = Counter()
    for turn in floor:
        if turn.interrupted is not None:
            matrix[turn.speaker, turn.interrupted] += 1
    overlap_by_speaker = {s: _overlap_with_others(s, activity) for s in speakers}
    monologue_spans: dict[str, list[Interval]] = defaultdict(list)
    for speaker, start, end in monologues(floor, config):
        monologue_spans[speaker].append((start, end))

    stats = [
        _speaker_stats(
            speaker,
            talk_time=talk[speaker],
            share=talk[speaker] / total_talk if total_talk > 0 else 0.0,
            turns=turns_of[speaker],
            monologue_spans=monologue_spans[speaker],
            words=spoken.get(speaker, []),
            overlap_time=overlap_by_speaker[speaker],
            interrupted=sum(n for (_, victim), n in matrix.items() if victim == speaker),
            config=config,
        )
        for speaker in speakers
    ]
    stats.sort(key=lambda s: (-s.talk_time, s.first_speech, s.speaker))

    music = union((max(0.0, r.start), min(duration, r.end)) for r in hold_music)
    hold_time = measure(music)
    speech_time = measure(union(iv for ivs in activity.values() for iv in ivs))
    stretch = _longest_stretch(floor, activity)
    conversation = ConversationStats(
        duration=duration,
        hold_music_time=hold_time,
        speech_time=speech_time,
        num_speakers=len(stats),
        silence_time=max(0.0, duration - hold_time - speech_time),
        overlap_time=_multi_speaker_time(activity),
        balance=_balance([s.talk_time for s in stats]),
        longest_stretch=stretch[2] - stretch[1] if stretch else 0.0,
        longest_stretch_start=stretch[1] if stretch else 0.0,
        longest_stretch_end=stretch[2] if stretch else 0.0,
        longest_stretch_speaker=stretch[0] if stretch else None,
        interruptions=tuple(sorted((a, b, n) for (a, b), n in matrix.items())),
    )
    logger.debug("metrics: %d speakers, %d turns", len(stats), len(floor))
    return tuple(_rounded(s) for s in stats), _rounded(conversation), floor


def speech_activity(
    *,
    duration: float,
    turns: Sequence[Turn],
    overlapped_turns: Sequence[Turn],
    hold_music: Sequence[Region],
) -> dict[str, list[Interval]]:
    """Each speaker's speech as sorted disjoint ``(start, end)`` intervals, seconds.

    Regular diarization when there is any (else the exclusive turns), clipped to
    ``[0, duration]``, with the stripped music removed.
    """
    source = overlapped_turns or turns
    music = union((r.start, r.end) for r in hold_music)
    raw: dict[str, list[Interval]] = defaultdict(list)
    for turn in source:
        start, end = max(0.0, float(turn.start)), min(float(duration), float(turn.end))
        if end > start:
            raw[turn.speaker].append((start, end))
    activity = {speaker: subtract(union(ivs), music) for speaker, ivs in raw.items()}
    return {speaker: ivs for speaker, ivs in activity.items() if ivs}


def _speaker_stats(
    speaker: str,
    *,
    talk_time: float,
    share: float,
    turns: list[FloorTurn],
    monologue_spans: list[Interval],
    words: list[Word],
    overlap_time: float,
    interrupted: int,
    config: MetricsConfig,
) -> SpeakerStats:
    durations = [t.duration for t in turns]
    longest = max(turns, key=lambda t: (t.duration, -t.start), default=None)
    latencies = [t.response_latency for t in turns if t.response_latency is not None]
    tokens = [token(w.text) for w in words]
    fillers = set(config.filler_words)
    starts = [t.start for t in turns] + [w.start for w in words]
    return SpeakerStats(
        speaker=speaker,
        talk_time=talk_time,
        share=share,
        turns=len(turns),
        words=len(words),
        words_per_minute=len(words) / (talk_time / 60.0) if talk_time > 0 else 0.0,
        longest_turn=longest.duration if longest else 0.0,
        longest_turn_start=longest.start if longest else 0.0,
        longest_turn_end=longest.end if longest else 0.0,
        first_speech=min(starts, default=0.0),
        mean_turn=statistics.fmean(durations) if durations else 0.0,
        median_turn=statistics.median(durations) if durations else 0.0,
        monologue_count=len(monologue_spans),
        monologues=tuple(monologue_spans),
        backchannels=sum(t.kind == "backchannel" for t in turns),
        interjections=sum(t.kind == "interjection" for t in turns),
        interruptions=sum(t.interrupted is not None for t in turns),
        interrupted=interrupted,
        overlap_time=overlap_time,
        questions=sum(t.questions for t in turns),
        median_response_latency=statistics.median(latencies) if latencies else None,
        fillers=sum(t in fillers for t in tokens),
        keywords=tuple(
            (topic, count_phrases(tokens, phrases(terms))) for topic, terms in config.keywords.items()
        ),
    )


_T = TypeVar("_T", SpeakerStats, ConversationStats)


def _rounded(stats: _T) -> _T:
    """Floats rounded to microseconds: sums of interval lengths leave float noise (3.4000000000000057)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, tuple):
            return tuple(clean(v) for v in value)
        return value

    return replace(stats, **{f.name: clean(getattr(stats, f.name)) for f in fields(stats)})


# --- time ------------------------------------------------------------------------------


def _overlap_with_others(speaker: str, activity: Mapping[str, Sequence[Interval]]) -> float:
    others = union(iv for s, ivs in activity.items() if s != speaker for iv in ivs)
    own = activity.get(speaker, [])
    return measure(own) - measure(subtract(own, others))


def _multi_speaker_time(activity: Mapping[str, Sequence[Interval]]) -> float:
    """Seconds during which two or more speakers speak (sweep over boundaries)."""
    events = sorted((t, delta) for ivs in activity.values() for s, e in ivs for t, delta in ((s, 1), (e, -1)))
    total, active, previous = 0.0, 0, 0.0
    for time, delta in events:
        if active >= 2:
            total += time - previous
        active += delta
        previous = time
    return total


def _longest_stretch(
    turns: Sequence[FloorTurn], activity: Mapping[str, Sequence[Interval]]
) -> tuple[str, float, float] | None:
    """Longest piece of a turn during which no other speaker makes a sound."""
    best: tuple[str, float, float] | None = None
    spans: dict[str, list[Interval]] = defaultdict(list)
    for turn in turns:
        spans[turn.speaker].append((turn.start, turn.end))
    for speaker, speaker_spans in spans.items():
        others = union(iv for s, ivs in activity.items() if s != speaker for iv in ivs)
        for start, end in subtract(sorted(speaker_spans), others):
            if best is None or end - start > best[2] - best[1]:
                best = (speaker, start, end)
    return best


def _balance(talk_times: Sequence[float]) -> float | None:
    """Shannon entropy of talk shares over its maximum ``ln N``; None under two speakers."""
    shares = [t / sum(talk_times) for t in talk_times if t > 0] if sum(talk_times) > 0 else []
    if len(shares) < 2:
        return None
    return -sum(p * math.log(p) for p in shares) / math.log(len(shares))
