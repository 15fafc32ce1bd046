"""Interviews with a quiet host and calls of like voices, made from many real LibriSpeech voices.

The hard case of the product: a guest holds the floor while the host, with a few
percent of the talk or less, opens, asks short questions and murmurs assent. Every
word of the host must stay on the host's label, and the two voices are chosen to be
alike: each pair is two readers of the same sex whose CAM++ voice averages are among
the most alike of 261 LibriSpeech readers (``bench/voices/README.md`` says how they
were chosen, and credits them).

* :func:`quiet_host_interview`: an opening remark by the host, then the guest's
  sentences (collages of the guest's real speech, so nothing loops) with the host's
  questions (1.5-6 s, some starting over the guest's last words: interruptions) and
  murmurs (0.2-0.8 s, in the pauses or over a sentence's end), to a drawn share of
  the talk; optionally behind a looping hold track, as the mission's recording opens.
* :func:`like_voice_call`: a two-party call of a like-voiced pair, built as
  :func:`evaluation.conversations.phone_calls` builds its calls.

Everything is seeded; the voices are read from a voice bank given by path (the
checkout's ``bench/voices``, or another folder laid out the same way:
``<reader id>/*.flac``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from evaluation.conversations import call_events, call_reference
from evaluation.mixing import Event, cycled, draw_samples, jitter, mix, reference_turns, write_flac
from evaluation.references import Reference, speech_spans
from evaluation.signals import at_level, repeat_loop
from evaluation.sources import HOLD_TRACK, hold_track, read_clip
from evaluation.telephone import telephone
from evaluation.voices import Voice, collages, speech_runs
from pipeline.io.audio import SAMPLE_RATE


@dataclass(frozen=True)
class VoicePair:
    """Two LibriSpeech readers of one sex: the guest (plenty of speech) and the host.

    Attributes
    ----------
    guest, host : str
        Reader ids, folders of the voice bank (the checkout's ``bench/voices``: LibriSpeech
        readers, one folder of FLAC utterances each; ``README.md`` there: sources, sexes).
    sex : str
        ``"F"`` or ``"M"``.
    similarity : float
        Cosine of their CAM++ voice averages (same voice ~0.67, different ~0.36).
    """

    guest: str
    host: str
    sex: str
    similarity: float

    @property
    def name(self) -> str:
        return f"{self.sex}{self.guest}-{self.host}"


INTERVIEW_PAIRS: tuple[VoicePair, ...] = (
    VoicePair("2609", "233", "M", 0.411),
    VoicePair("3005", "625", "M", 0.408),
    VoicePair("2033", "2414", "M", 0.351),
    VoicePair("533", "7794", "F", 0.378),
    VoicePair("2414", "911", "M", 0.377),
    VoicePair("1998", "5163", "F", 0.374),
    VoicePair("3331", "8014", "F", 0.358),
)
"""Quiet-host pairs, most alike first: each guest with the most alike reader of its sex."""

CALL_PAIRS: tuple[VoicePair, ...] = (
    VoicePair("2033", "2414", "M", 0.351),
    VoicePair("533", "367", "F", 0.314),
    VoicePair("3005", "2033", "M", 0.301),
    VoicePair("3080", "533", "F", 0.274),
)
"""Like-voiced call pairs, most alike of each sex among readers with minutes of speech."""

_QUESTION = (1.5, 6.0)  # seconds: a host's question
_MURMUR = (0.2, 0.8)  # seconds: a backchannel
_OPENING = (3.0, 8.0)  # seconds: the host's opening remark (one or two runs of speech)
_INTERRUPTION_P = 0.3  # chance that a question starts over the guest's last words


@dataclass(frozen=True)
class QuietHostInterview:
    """A guest's long talk with a quiet host's opening, questions and murmurs.

    Attributes
    ----------
    reference : Reference
        The recording and its turns (kind ``"quiet-host"``); music is the hold loop, if any.
    pair : VoicePair
        Whose voices.
    host, guest : str
        Speaker labels in the turns.
    opening, questions, backchannels : tuple of (float, float)
        The host's opening remark, questions (interruptions included) and murmurs, seconds.
    interruptions : tuple of (float, float)
        Those questions that start before the guest's sentence ends, seconds.
    monologue : tuple of (float, float)
        The guest's sentences, seconds.
    """

    reference: Reference
    pair: VoicePair
    host: str
    guest: str
    opening: tuple[tuple[float, float], ...]
    questions: tuple[tuple[float, float], ...]
    backchannels: tuple[tuple[float, float], ...]
    interruptions: tuple[tuple[float, float], ...]
    monologue: tuple[tuple[float, float], ...]

    @property
    def host_share(self) -> float:
        """The host's fraction of all speaker time (sum of turn lengths)."""
        host = sum(b - a for a, b in self.opening + self.questions + self.backchannels)
        return host / (host + sum(b - a for a, b in self.monologue))


@cache
def bank_voice(reader: str, bank: Path) -> Voice:
    """Reader ``reader`` of ``bank``: sentences of 1.5-6 s (questions), murmurs of 0.2-0.8 s.

    Read speech hardly pauses, so both are cut at the short dips between words
    (quiet runs of 40 ms or more): a murmur is one word, a sentence the run of words
    from each word on until it is long enough (overlapping pieces of the same speech).

    Raises
    ------
    FileNotFoundError
        The reader's folder has no FLAC file.
    """
    paths = sorted((bank / reader).glob("*.flac"))
    if not paths:
        raise FileNotFoundError(f"{bank / reader}: no LibriSpeech utterances; see bench/voices/README.md")
    sentences: list[np.ndarray] = []
    murmurs: list[np.ndarray] = []
    shortest, longest = (round(s * SAMPLE_RATE) for s in _QUESTION)
    for clip in (read_clip(p) for p in paths):
        words = speech_runs(clip, min_pause=0.04, min_speech=0.15)
        murmurs += [
            clip[a:b] for a, b in words if _MURMUR[0] * SAMPLE_RATE <= b - a <= _MURMUR[1] * SAMPLE_RATE
        ]
        for i, (a, _) in enumerate(words):
            ends = [b for _, b in words[i:] if shortest <= b - a <= longest]
            if ends:
                sentences.append(clip[a : ends[0]])
    rms = float(np.sqrt(np.mean(np.square(np.concatenate(sentences), dtype=np.float64))))
    return Voice(reader, tuple(sentences), tuple(murmurs), rms)


def _host_events(
    rng: np.random.Generator, guest: Voice, host: Voice, *, seconds: float, host_share: float, start: int
) -> tuple[list[Event], ...]:
    """``(opening, guest sentences, questions, murmurs, interruptions)`` from sample ``start``.

    The host opens (3-8 s), then the guest talks for about ``seconds``; the host's
    questions (2/3 of its share) fall at evenly spread, jittered times and its murmurs
    (the rest, at least 5) at random ones, each at the first sentence end past its time.
    """
    guest_gain = 10 ** (rng.uniform(-24.0, -20.0) / 20) / guest.rms
    host_gain = 10 ** (rng.uniform(-26.0, -20.0) / 20) / host.rms
    host_seconds = host_share / (1.0 - host_share) * seconds
    questions = max(3, round(host_seconds * 2 / 3 / np.mean(_QUESTION)))
    murmurs = max(5, round((host_seconds - questions * np.mean(_QUESTION)) / np.mean(_MURMUR)))
    ask_at = (
        start + (np.linspace(0.1, 0.95, questions) * seconds + rng.uniform(-5, 5, questions)) * SAMPLE_RATE
    )
    murmur_at = start + np.sort(rng.uniform(0.05, 0.98, murmurs)) * seconds * SAMPLE_RATE
    question_order = iter(cycled(rng, len(host.sentences), questions + 2))
    murmur_order = iter(cycled(rng, len(host.murmurs), murmurs))
    sentence_order = iter(cycled(rng, len(guest.sentences), 1_000_000))

    def host_piece(pool: tuple[np.ndarray, ...], order) -> np.ndarray:  # type: ignore[no-untyped-def]
        return pool[next(order)] * np.float32(host_gain * jitter(rng))

    opening = [
        Event(start + draw_samples(rng, 0.3, 1.0), host_piece(host.sentences, question_order), host.name)
    ]
    if (opening[0].audio.size / SAMPLE_RATE) < _OPENING[0]:
        second = host_piece(host.sentences, question_order)
        opening.append(Event(opening[0].end + draw_samples(rng, 0.2, 0.5), second, host.name))
    said: list[Event] = []
    asked: list[Event] = []
    murmured: list[Event] = []
    interrupting: list[Event] = []
    q = m = 0
    t = opening[-1].end + draw_samples(rng, 0.3, 0.9)
    while t < start + seconds * SAMPLE_RATE:
        piece = guest.sentences[next(sentence_order)] * np.float32(guest_gain * jitter(rng))
        said.append(Event(t, piece, guest.name))
        end = t + piece.size
        gap = draw_samples(rng, 1.0, 2.0) if rng.random() < 0.15 else draw_samples(rng, 0.3, 0.9)
        if q < questions and end >= ask_at[q]:
            question = host_piece(host.sentences, question_order)
            if rng.random() < _INTERRUPTION_P and piece.size > SAMPLE_RATE:
                at = end - draw_samples(rng, 0.2, 0.8)
                interrupting.append(Event(at, question, host.name))
            else:
                at = end + draw_samples(rng, 0.3, 0.8)
            asked.append(Event(at, question, host.name))
            t = at + question.size + draw_samples(rng, 0.2, 0.7)
            q += 1
            m = int(np.searchsorted(murmur_at, t))  # murmurs due while the host asked are skipped
            continue
        if m < murmurs and end >= murmur_at[m]:
            murmur = host_piece(host.murmurs, murmur_order)
            overlap = min(0.5, piece.size / SAMPLE_RATE - 0.3)
            at = (
                end - draw_samples(rng, 0.1, overlap)
                if m % 2 and overlap > 0.1
                else end + draw_samples(rng, 0.15, 0.4)
            )
            murmured.append(Event(at, murmur, host.name))
            t = max(end + gap, at + murmur.size + draw_samples(rng, 0.15, 0.5))
            m += 1
            continue
        t = end + gap
    return opening, said, asked, murmured, interrupting


def quiet_host_interview(
    folder: Path,
    pair: VoicePair,
    *,
    minutes: float,
    host_share: float,
    bank: Path,
    data: Path,
    hold_minutes: float = 0.0,
    seed: int = 0,
) -> QuietHostInterview:
    """An interview of ``pair`` (the host at about ``host_share`` of the talk), written to ``folder``.

    Parameters
    ----------
    folder
        Where ``quiet-host-<pair>-<minutes>min.flac`` is written.
    pair
        The voices.
    minutes
        Minutes of talk after the opening (and after the hold loop).
    host_share
        The host's share of the talk, fraction (0.005-0.06 in the bench).
    bank
        Folder of the voices.
    data
        Folder of the real clips (the hold track is read from its ``music/``).
    hold_minutes
        Minutes of the lounge hold track looping first (-24 dBFS), 0 for none.
    seed
        Seed of every draw.

    Raises
    ------
    FileNotFoundError
        A hold loop is asked for and the hold track is absent from ``data``.
    """
    rng = np.random.default_rng([seed, round(minutes * 600), round(host_share * 10_000), 0x9E57])
    guest = bank_voice(pair.guest, bank)
    host = bank_voice(pair.host, bank)
    guest = collages(rng, guest, math.ceil(minutes * 60.0 / 0.6) + 1)
    hold = np.zeros(0, dtype=np.float32)
    if hold_minutes > 0:
        track = hold_track(data)
        if track is None:
            raise FileNotFoundError(f"{data / 'music' / HOLD_TRACK}: the hold track is absent")
        period = track.audio[: round(30.0 * SAMPLE_RATE)]
        hold = at_level(repeat_loop(period, hold_minutes * 60 * SAMPLE_RATE / period.size), -24.0)
    opening, said, asked, murmured, interrupting = _host_events(
        rng, guest, host, seconds=minutes * 60.0, host_share=host_share, start=hold.size
    )
    events = opening + said + asked + murmured
    length = max(e.end for e in events) + draw_samples(rng, 0.5, 1.5)
    audio = mix(events, length, rng)
    audio[: hold.size] += hold
    turns = reference_turns(events)
    del events
    name = f"quiet-host-{pair.name}-{minutes:g}min" + (f"-hold{hold_minutes:g}" if hold_minutes else "")
    speech = speech_spans(turns)
    reference = Reference(
        name=name,
        path=write_flac(folder / f"{name}.flac", audio),
        duration=length / SAMPLE_RATE,
        turns=turns,
        music=((0.0, hold.size / SAMPLE_RATE),) if hold.size else (),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="quiet-host",
        tags=("wideband", f"guest:{pair.guest}", f"host:{pair.host}", f"sex:{pair.sex}"),
    )

    def spans(placed: list[Event]) -> tuple[tuple[float, float], ...]:
        return tuple(sorted((e.start / SAMPLE_RATE, e.end / SAMPLE_RATE) for e in placed))

    return QuietHostInterview(
        reference,
        pair,
        host=host.name,
        guest=guest.name,
        opening=spans(opening),
        questions=spans(asked),
        backchannels=spans(murmured),
        interruptions=spans(interrupting),
        monologue=spans(said),
    )


def like_voice_call(index: int, pair: VoicePair, folder: Path, *, bank: Path, seed: int = 0) -> Reference:
    """A 50-88 s two-party call of ``pair`` (both voices talk), wideband for even ``index``, phone for odd.

    Built as :func:`evaluation.conversations.phone_call` builds its calls
    (turns of 1-3 sentences, gaps of -0.3 to 1.0 s, backchannels), from collages of
    each reader's speech.
    """
    rng = np.random.default_rng([seed, index, 0x11CE])
    voices = tuple(collages(rng, bank_voice(r, bank), 200) for r in (pair.guest, pair.host))
    events = call_events(rng, (voices[0], voices[1]), float(rng.uniform(50.0, 88.0)))
    length = max(e.end for e in events) + draw_samples(rng, 0.5, 1.5)
    audio = mix(events, length, rng)
    band = "phone" if index % 2 else "wideband"
    if band == "phone":
        audio = telephone(audio)
    tags = (band, f"voice:{pair.guest}", f"voice:{pair.host}", f"sex:{pair.sex}")
    return call_reference(folder / f"like-call-{pair.name}-{band}.flac", events, audio, tags)


def voices_present(pairs: tuple[VoicePair, ...], bank: Path) -> tuple[VoicePair, ...]:
    """The pairs whose two readers are both in ``bank``."""
    return tuple(p for p in pairs if all(any((bank / r).glob("*.flac")) for r in (p.guest, p.host)))


__all__ = [
    "CALL_PAIRS",
    "INTERVIEW_PAIRS",
    "QuietHostInterview",
    "VoicePair",
    "bank_voice",
    "like_voice_call",
    "quiet_host_interview",
    "voices_present",
]
