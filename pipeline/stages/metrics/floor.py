"""Who holds the floor: every speaker's turns, classified, with interruptions, latencies and monologues.

Pure functions on speech intervals and speaker-attributed words; docs/metrics.md
defines each kind of turn and every threshold used here.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from pipeline.core.types import FloorTurn, Segment, TurnKind, Word
from pipeline.stages.metrics.intervals import Interval, merge_gaps
from pipeline.stages.metrics.settings import MetricsConfig
from pipeline.stages.metrics.words import covered, is_question, phrases, sentences, tokens, words_by_speaker


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
    spans = {s: merge_gaps(ivs, config.merge_pause) for s, ivs in activity.items()}
    words = _assign_words(spans, words_by_speaker(segments))
    lexicon = phrases(config.backchannel_lexicon)
    openers = phrases(config.question_openers)

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
                kind = "backchannel" if covered(tokens(turn_words), lexicon) else "interjection"
            elif (preceding is None or preceding[0] == speaker) and (
                following is None or following[0] == speaker
            ):
                # Nobody else holds the floor around it: the speaker's own pause-split speech.
                kind = "turn"
            else:
                kind = "interjection"
        classified.append(
            FloorTurn(
                speaker=speaker,
                start=start,
                end=end,
                speech=speech,
                kind=kind,
                takes_floor=takes_floor,
                word_count=len(turn_words),
                text="".join(w.text for w in turn_words).strip(),
                questions=sum(is_question(sentence, openers) for sentence in sentences(turn_words)),
            )
        )

    annotated = _annotate(classified, config)
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


def _annotate(turns: list[FloorTurn], config: MetricsConfig) -> list[FloorTurn]:
    """Add interruptions and response latency."""
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
        out.append(replace(turn, interrupted=interrupted, response_latency=latency))
    return out


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
