"""Conversation metrics: who talked, how long, how often, over whom.

Pure functions on the typed result. Speech comes from the regular diarization
(overlaps allowed), so talk over another speaker counts for both; words come from
the speaker-attributed segments. docs/metrics.md states every definition, formula
and threshold used here.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from pipeline.core.config import MetricsConfig
from pipeline.core.types import ConversationStats, RecordingResult, Region, Segment, SpeakerStats, Turn, Word

logger = logging.getLogger(__name__)

Interval = tuple[float, float]
TurnKind = Literal["turn", "backchannel", "interjection"]

_TERMINAL = (".", "?", "!")
_CLOSERS = "\"')]}»”’"
# Keeps letters, digits, apostrophes and inner hyphens: "Mm-hmm," -> "mm-hmm", "[Laughter]" -> "laughter".
_TOKEN_STRIP = re.compile(r"^[^\w']+|[^\w']+$")


@dataclass(frozen=True)
class FloorTurn:
    """One speaker's turn with its role in the conversation (a row of turns.csv).

    Attributes
    ----------
    speaker : str
    start, end : float
        Seconds on the original recording; the span includes pauses shorter than
        ``merge_pause``.
    speech : float
        Seconds actually spoken inside the span.
    words : tuple of Word
        The speaker's words in this turn.
    kind : {"turn", "backchannel", "interjection"}
        ``"turn"`` for a long turn, and for a short one with nobody else holding the
        floor around it; other short turns are backchannels or interjections.
    takes_floor : bool
        False for a short turn when another speaker's long turn is under way at its
        end or starts within ``floor_gap`` after it; True otherwise.
    interrupted : str or None
        The speaker this turn interrupted, if it is an interruption.
    response_latency : float or None
        Seconds from the end of the previous speaker's turn to this turn's start
        (negative: started in overlap); None when this turn is not a floor transfer.
    questions : int
        Questions asked in this turn.
    monologue : bool
        Part of a monologue (see ``monologues``).
    """

    speaker: str
    start: float
    end: float
    speech: float
    words: tuple[Word, ...]
    kind: TurnKind
    takes_floor: bool
    interrupted: str | None = None
    response_latency: float | None = None
    questions: int = 0
    monologue: bool = False

    @property
    def duration(self) -> float:
        """Span length in seconds."""
        return self.end - self.start

    @property
    def text(self) -> str:
        """The turn's words as one string."""
        return "".join(w.text for w in self.words).strip()


def compute_metrics(
    *,
    duration: float,
    turns: Sequence[Turn],
    overlapped_turns: Sequence[Turn],
    segments: Sequence[Segment],
    hold_music: Sequence[Region],
    config: MetricsConfig,
) -> tuple[tuple[SpeakerStats, ...], ConversationStats]:
    """Per-speaker and whole-recording metrics.

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
    """
    activity = speech_activity(
        duration=duration, turns=turns, overlapped_turns=overlapped_turns, hold_music=hold_music
    )
    floor = floor_turns(activity=activity, segments=segments, config=config)
    words_by_speaker = _words_by_speaker(segments)
    speakers = sorted(set(activity) | set(words_by_speaker))
    talk = {s: _measure(activity.get(s, [])) for s in speakers}
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
            words=words_by_speaker.get(speaker, []),
            overlap_time=overlap_by_speaker[speaker],
            interrupted=sum(n for (_, victim), n in matrix.items() if victim == speaker),
            config=config,
        )
        for speaker in speakers
    ]
    stats.sort(key=lambda s: (-s.talk_time, s.first_speech, s.speaker))

    music = _union((max(0.0, r.start), min(duration, r.end)) for r in hold_music)
    hold_time = _measure(music)
    speech_time = _measure(_union(iv for ivs in activity.values() for iv in ivs))
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
    return tuple(_rounded(s) for s in stats), _rounded(conversation)


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
    music = _union((r.start, r.end) for r in hold_music)
    raw: dict[str, list[Interval]] = defaultdict(list)
    for turn in source:
        start, end = max(0.0, float(turn.start)), min(float(duration), float(turn.end))
        if end > start:
            raw[turn.speaker].append((start, end))
    activity = {speaker: _subtract(_union(ivs), music) for speaker, ivs in raw.items()}
    return {speaker: ivs for speaker, ivs in activity.items() if ivs}


def floor_turns(
    *,
    activity: Mapping[str, Sequence[Interval]],
    segments: Sequence[Segment],
    config: MetricsConfig,
) -> tuple[FloorTurn, ...]:
    """Turns of every speaker, classified, in time order.

    Parameters
    ----------
    activity
        Speech per speaker, from ``speech_activity``.
    segments
        Speaker-attributed utterances; each word joins the turn of its speaker that
        contains its midpoint, else the nearest one.
    config
        ``merge_pause``, short-turn limits, ``floor_gap``, ``interruption_min_overlap``,
        the monologue thresholds, the backchannel lexicon and question openers.
    """
    spans = {s: _merge_gaps(ivs, config.merge_pause) for s, ivs in activity.items()}
    words = _assign_words(spans, _words_by_speaker(segments))
    lexicon = _phrases(config.backchannel_lexicon)
    openers = _phrases(config.question_openers)

    drafts: list[tuple[str, float, float, float, tuple[Word, ...], bool]] = []
    for speaker, speaker_spans in spans.items():
        for index, (start, end, speech) in enumerate(speaker_spans):
            turn_words = tuple(words[speaker][index])
            short = (
                end - start <= config.short_turn_max_duration
                or 1 <= len(turn_words) <= config.short_turn_max_words
            )
            drafts.append((speaker, start, end, speech, turn_words, short))
    drafts.sort(key=lambda d: (d[1], d[2], d[0]))

    long_lanes = _Lanes([(d[0], d[1], d[2]) for d in drafts if not d[5]])
    classified: list[FloorTurn] = []
    for speaker, start, end, speech, turn_words, short in drafts:
        kind: TurnKind = "turn"
        takes_floor = True
        if short:
            following = long_lanes.next_after(end)
            preceding = long_lanes.latest_ending_before(start)
            if following and following[0] != speaker and following[1] <= end + config.floor_gap:
                # Another speaker's long turn carries on through it or resumes soon after.
                takes_floor = False
                kind = "backchannel" if _covered(_tokens(turn_words), lexicon) else "interjection"
            elif (preceding is None or preceding[0] == speaker) and (
                following is None or following[0] == speaker
            ):
                # Nobody else holds the floor around it: the speaker's own pause-split speech.
                kind = "turn"
            else:
                kind = "interjection"
        classified.append(FloorTurn(speaker, start, end, speech, turn_words, kind, takes_floor))

    annotated = _annotate(classified, openers, config)
    in_monologue = {id(t) for chain in _monologue_chains(annotated, config) for t in chain}
    return tuple(replace(t, monologue=id(t) in in_monologue) for t in annotated)


def monologues(turns: Sequence[FloorTurn], config: MetricsConfig) -> tuple[tuple[str, float, float], ...]:
    """``(speaker, start, end)`` of every monologue, in time order.

    A monologue is a run of one speaker's turns with pauses of at most
    ``monologue_max_pause`` seconds between them and no other speaker taking the
    floor in between (backchannels and interjections that leave the floor do not
    break it), lasting at least ``monologue_min_duration`` seconds.
    """
    chains = _monologue_chains(turns, config)
    return tuple(sorted((c[0].speaker, c[0].start, c[-1].end) for c in chains))


def _monologue_chains(turns: Sequence[FloorTurn], config: MetricsConfig) -> list[list[FloorTurn]]:
    floor_starts = sorted((t.start, t.speaker) for t in turns if t.takes_floor)
    keys = [start for start, _ in floor_starts]
    lanes: dict[str, list[FloorTurn]] = defaultdict(list)
    for turn in sorted(turns, key=lambda t: t.start):
        lanes[turn.speaker].append(turn)
    chains: list[list[FloorTurn]] = []
    for speaker, lane in lanes.items():
        chain = [lane[0]]
        for turn in lane[1:]:
            between = floor_starts[
                bisect.bisect_right(keys, chain[-1].start) : bisect.bisect_left(keys, turn.start)
            ]
            if turn.start - chain[-1].end <= config.monologue_max_pause and all(
                s == speaker for _, s in between
            ):
                chain.append(turn)
            else:
                chains.append(chain)
                chain = [turn]
        chains.append(chain)
    return [c for c in chains if c[-1].end - c[0].start >= config.monologue_min_duration]


class _Lanes:
    """Turns per speaker (disjoint within a speaker), searchable by time in O(log n)."""

    def __init__(self, turns: Iterable[tuple[str, float, float]]) -> None:
        ordered = sorted(turns, key=lambda t: (t[1], t[2]))
        self.lanes: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for speaker, start, end in ordered:
            self.lanes[speaker].append((start, end))
        self.starts = {s: [iv[0] for iv in lane] for s, lane in self.lanes.items()}
        self.ends = {s: [iv[1] for iv in lane] for s, lane in self.lanes.items()}
        # Prefix maximum by (end, start) over turns sorted by start: the latest-ending
        # turn among all those starting before a time, in one bisect.
        self.all_starts = [t[1] for t in ordered]
        self.latest: list[tuple[float, float, str]] = []
        for speaker, start, end in ordered:
            latest = (end, start, speaker)
            self.latest.append(max(latest, self.latest[-1]) if self.latest else latest)

    def next_after(self, time: float) -> tuple[str, float] | None:
        """``(speaker, max(start, time))`` of the turn under way at ``time`` or starting soonest after."""
        best: tuple[float, str] | None = None
        for speaker, lane in self.lanes.items():
            index = bisect.bisect_right(self.ends[speaker], time)
            if index < len(lane):
                candidate = (max(lane[index][0], time), speaker)
                best = candidate if best is None or candidate < best else best
        return (best[1], best[0]) if best else None

    def latest_ending_before(self, time: float) -> tuple[str, float, float] | None:
        """``(speaker, start, end)`` of the latest-ending turn among those starting before ``time``."""
        count = bisect.bisect_left(self.all_starts, time)
        if not count:
            return None
        end, start, speaker = self.latest[count - 1]
        return speaker, start, end

    def last_started_before(self, speaker: str, time: float) -> tuple[float, float] | None:
        """``speaker``'s latest turn starting strictly before ``time``."""
        index = bisect.bisect_left(self.starts.get(speaker, []), time) - 1
        return self.lanes[speaker][index] if index >= 0 else None


def _annotate(
    turns: list[FloorTurn], openers: list[tuple[str, ...]], config: MetricsConfig
) -> list[FloorTurn]:
    """Add interruptions, response latency and questions."""
    # Turns that leave the floor where it was (backchannels, most interjections) neither
    # interrupt, respond nor get interrupted.
    lanes = _Lanes((t.speaker, t.start, t.end) for t in turns if t.takes_floor)
    out = []
    for turn in turns:
        interrupted = latency = None
        if turn.takes_floor:
            # Within a speaker turns are disjoint, so only another speaker's latest turn
            # starting before this one can be under way when it starts.
            victims = []
            for other in lanes.lanes:
                under_way = lanes.last_started_before(other, turn.start) if other != turn.speaker else None
                if (
                    under_way
                    and turn.start <= under_way[1] - config.interruption_min_overlap
                    and under_way[1] < turn.end
                ):
                    victims.append((under_way[0], other))
            if victims:
                interrupted = min(victims)[1]
            previous = lanes.latest_ending_before(turn.start)
            if previous and previous[0] != turn.speaker and previous[2] <= turn.end:
                latency = turn.start - previous[2]
        questions = sum(_is_question(sentence, openers) for sentence in _sentences(turn.words))
        out.append(replace(turn, interrupted=interrupted, response_latency=latency, questions=questions))
    return out


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
    tokens = [_token(w.text) for w in words]
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
            (topic, _count_phrases(tokens, _phrases(terms))) for topic, terms in config.keywords.items()
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


# --- intervals ---------------------------------------------------------------------


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _subtract(intervals: Sequence[Interval], remove: Sequence[Interval]) -> list[Interval]:
    """``intervals`` minus ``remove``; both sorted and disjoint."""
    out: list[Interval] = []
    j = 0
    for start, end in intervals:
        while j < len(remove) and remove[j][1] <= start:
            j += 1
        k, cursor = j, start
        while k < len(remove) and remove[k][0] < end:
            if remove[k][0] > cursor:
                out.append((cursor, remove[k][0]))
            cursor = max(cursor, remove[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def _measure(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def _merge_gaps(intervals: Sequence[Interval], pause: float) -> list[tuple[float, float, float]]:
    """Join intervals separated by less than ``pause`` s: ``(start, end, seconds spoken)``."""
    spans: list[tuple[float, float, float]] = []
    for start, end in intervals:
        if spans and start - spans[-1][1] < pause:
            s, _, spoken = spans[-1]
            spans[-1] = (s, end, spoken + end - start)
        else:
            spans.append((start, end, end - start))
    return spans


def _overlap_with_others(speaker: str, activity: Mapping[str, Sequence[Interval]]) -> float:
    others = _union(iv for s, ivs in activity.items() if s != speaker for iv in ivs)
    own = activity.get(speaker, [])
    return _measure(own) - _measure(_subtract(own, others))


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
        others = _union(iv for s, ivs in activity.items() if s != speaker for iv in ivs)
        for start, end in _subtract(sorted(speaker_spans), others):
            if best is None or end - start > best[2] - best[1]:
                best = (speaker, start, end)
    return best


def _balance(talk_times: Sequence[float]) -> float | None:
    """Shannon entropy of talk shares over its maximum ``ln N``; None under two speakers."""
    shares = [t / sum(talk_times) for t in talk_times if t > 0] if sum(talk_times) > 0 else []
    if len(shares) < 2:
        return None
    return -sum(p * math.log(p) for p in shares) / math.log(len(shares))


# --- words -------------------------------------------------------------------------


def _words_by_speaker(segments: Sequence[Segment]) -> dict[str, list[Word]]:
    out: dict[str, list[Word]] = defaultdict(list)
    for segment in segments:
        for word in segment.words:
            speaker = word.speaker or segment.speaker
            if speaker is not None:
                out[speaker].append(word)
    for words in out.values():
        words.sort(key=lambda w: (w.start, w.end))
    return dict(out)


def _assign_words(
    spans: Mapping[str, Sequence[tuple[float, float, float]]], words: Mapping[str, Sequence[Word]]
) -> dict[str, list[list[Word]]]:
    """Each speaker's words per turn: the turn holding the word's midpoint, else the nearest."""
    out: dict[str, list[list[Word]]] = {s: [[] for _ in ss] for s, ss in spans.items()}
    for speaker, speaker_words in words.items():
        speaker_spans = spans.get(speaker, [])
        if not speaker_spans:
            continue
        starts = [s for s, _, _ in speaker_spans]
        for word in speaker_words:
            mid = (word.start + word.end) / 2
            index = bisect.bisect_right(starts, mid) - 1
            candidates = [i for i in (index, index + 1) if 0 <= i < len(speaker_spans)]
            best = min(
                candidates, key=lambda i: max(speaker_spans[i][0] - mid, mid - speaker_spans[i][1], 0.0)
            )
            out[speaker][best].append(word)
    return out


def _token(text: str) -> str:
    return _TOKEN_STRIP.sub("", text.strip().lower())


def _tokens(words: Sequence[Word]) -> list[str]:
    return [t for t in (_token(w.text) for w in words) if t]


def _phrases(entries: Iterable[str]) -> list[tuple[str, ...]]:
    """Lexicon entries as token tuples, longest first (so "of course" beats "of")."""
    phrases = {tuple(t for t in (_token(p) for p in entry.split()) if t) for entry in entries}
    return sorted((p for p in phrases if p), key=len, reverse=True)


def _covered(tokens: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> bool:
    """Whether ``tokens`` is a sequence of lexicon phrases (greedy, longest first)."""
    i = 0
    while i < len(tokens):
        match = next((p for p in phrases if tuple(tokens[i : i + len(p)]) == p), None)
        if match is None:
            return False
        i += len(match)
    return True


def _count_phrases(tokens: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> int:
    """Non-overlapping occurrences of any phrase in ``tokens``."""
    count, i = 0, 0
    while i < len(tokens):
        match = next((p for p in phrases if tuple(tokens[i : i + len(p)]) == p), None)
        if match is None:
            i += 1
        else:
            count += 1
            i += len(match)
    return count


def _sentences(words: Sequence[Word]) -> list[list[str]]:
    """Raw word texts split after sentence-final punctuation (and at the turn's end)."""
    sentences: list[list[str]] = [[]]
    for word in words:
        text = word.text.strip()
        if not text:
            continue
        sentences[-1].append(text)
        if text.rstrip(_CLOSERS).endswith(_TERMINAL):
            sentences.append([])
    return [s for s in sentences if s]


def _is_question(sentence: Sequence[str], openers: Sequence[tuple[str, ...]]) -> bool:
    """Ends in "?", or has no final punctuation and starts with a question opener."""
    last = sentence[-1].rstrip(_CLOSERS)
    if last.endswith("?"):
        return True
    if last.endswith(_TERMINAL):
        return False
    tokens = [t for t in (_token(w) for w in sentence) if t]
    return any(tuple(tokens[: len(p)]) == p for p in openers)


def result_floor_turns(result: RecordingResult) -> tuple[FloorTurn, ...]:
    """The classified turns of a finished result (for turns.csv and report.html).

    Uses the metrics section of the result's resolved config, so the table agrees
    with the result's SpeakerStats; a config from another version falls back to
    the defaults (logged).
    """
    try:
        config = MetricsConfig.model_validate(result.config.get("metrics", {}))
    except ValidationError as err:
        logger.warning(
            "%s: metrics config not understood (%s); using defaults", result.source, err.errors()[0]["msg"]
        )
        config = MetricsConfig.model_validate({})
    activity = speech_activity(
        duration=result.duration,
        turns=result.turns,
        overlapped_turns=result.overlapped_turns,
        hold_music=result.stripped,
    )
    return floor_turns(activity=activity, segments=result.segments, config=config)
