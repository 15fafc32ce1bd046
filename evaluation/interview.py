"""An interview with exact speaker truth: a guest's long monologue, a host's short questions and murmurs.

The hard case for counting speakers: one guest talks for minutes, a host with another
voice only asks a few short questions and murmurs, some of it over the guest's sentence
ends; the host holds about 3.5-6 % of the talk. Laid out like the calls of
``evaluation.conversations`` (``evaluation.mixing``), from the voices of
``evaluation.voices``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.mixing import Event, cycled, draw_samples, jitter, mix, reference_turns, write_flac
from evaluation.references import Reference, speech_spans
from evaluation.voices import VOICES, Voice, collages, host_voice, load_voice
from pipeline.io.audio import SAMPLE_RATE

INTERVIEW_GUEST = "osr-0034"
"""The interview's guest: the voice with the most material (35.6 s of Harvard sentences)."""

_SHORTEST_SENTENCE_S = 0.6  # a collage sentence is at least two 0.3 s pieces


@dataclass(frozen=True)
class Interview:
    """A long guest monologue with a host's questions and backchannels.

    Attributes
    ----------
    reference : Reference
        The recording and its turns (kind ``"interview"``).
    guest, host : str
        Speaker labels.
    monologue : tuple of (float, float)
        The guest's sentences, seconds.
    questions : tuple of (float, float)
        The host's 1.5-2.2 s phrases, each in a pause of the guest, seconds.
    backchannels : tuple of (float, float)
        The host's murmurs (< 1 s), in the guest's pauses or over a sentence's end
        (by up to 0.5 s), seconds.
    """

    reference: Reference
    guest: str
    host: str
    monologue: tuple[tuple[float, float], ...]
    questions: tuple[tuple[float, float], ...]
    backchannels: tuple[tuple[float, float], ...]

    @property
    def host_share(self) -> float:
        """The host's fraction of all speaker time (sum of turn lengths)."""
        host = sum(b - a for a, b in self.questions + self.backchannels)
        return host / (host + sum(b - a for a, b in self.monologue))


def _interview_events(
    rng: np.random.Generator, guest: Voice, host: Voice, seconds: float
) -> tuple[list[Event], list[Event], list[Event]]:
    """``(guest sentences, host questions, host murmurs)``; see :func:`interview`."""
    guest_gain = 10 ** (rng.uniform(-24.0, -20.0) / 20) / guest.rms
    host_gain = 10 ** (rng.uniform(-26.0, -20.0) / 20) / host.rms
    share = rng.uniform(0.035, 0.045)  # the host's target share of the talk
    over = int(rng.integers(2))  # murmurs alternate between over a sentence's end and in a pause
    sentence_order = iter(cycled(rng, len(guest.sentences), 100_000))
    question_order = iter(cycled(rng, len(host.sentences), 1000))
    murmur_order = iter(cycled(rng, len(host.murmurs), 10_000))
    said: list[Event] = []
    asked: list[Event] = []
    murmured: list[Event] = []
    talk = host_talk = 0  # samples of speech so far, all and the host's
    next_question = draw_samples(rng, 20.0, 45.0)
    t = draw_samples(rng, 0.5, 1.5)
    while t < seconds * SAMPLE_RATE:
        piece = guest.sentences[next(sentence_order)] * np.float32(guest_gain * jitter(rng))
        said.append(Event(t, piece, guest.name))
        end = t + piece.size
        talk += piece.size
        # Now and then the guest stops to think: most pauses are short, some long.
        gap = draw_samples(rng, 1.0, 2.0) if rng.random() < 0.15 else draw_samples(rng, 0.3, 0.9)
        question = host.sentences[next(question_order)]
        deficit = share * talk - host_talk
        if end >= next_question and host_talk + question.size <= 0.06 * (talk + question.size):
            at = end + draw_samples(rng, 0.3, 0.8)
            asked.append(Event(at, question * np.float32(host_gain * jitter(rng)), host.name))
            talk, host_talk = talk + question.size, host_talk + question.size
            t = at + question.size + draw_samples(rng, 0.2, 0.7)
            next_question = t + draw_samples(rng, 45.0, 120.0)
        elif deficit > rng.uniform(0.0, 1.0) * SAMPLE_RATE:  # the host is behind its share: murmur
            murmur = host.murmurs[next(murmur_order)] * np.float32(host_gain * jitter(rng))
            overlap = min(0.5, piece.size / SAMPLE_RATE - 0.3)
            if (len(murmured) + over) % 2 and overlap > 0.1:  # over the end of the sentence
                at = end - draw_samples(rng, 0.1, overlap)
            else:  # in the pause
                at = end + draw_samples(rng, 0.15, 0.4)
            murmured.append(Event(at, murmur, host.name))
            talk, host_talk = talk + murmur.size, host_talk + murmur.size
            t = max(end + gap, at + murmur.size + draw_samples(rng, 0.15, 0.5))
        else:
            t = end + gap
    return said, asked, murmured


def interview(folder: Path, *, shared_data: Path, minutes: float = 6.0, seed: int = 0) -> Interview:
    """A guest talking for ``minutes`` and a host with another voice, written to ``folder``.

    The guest (:data:`INTERVIEW_GUEST`) talks in collages of its real speech (see
    :func:`collages`: the voice, never a loop), +-3 dB each sentence, with pauses of
    0.3-0.9 s (15 %: 1-2 s). The host (Sheila of pyannote's sample, :data:`HOST_VOICE`)
    asks a phrase (1.5-2.2 s, :data:`HOST_QUESTIONS`) in a pause every 45-120 s (the
    first 20-45 s in) and murmurs (:data:`HOST_MURMURS`) when behind a drawn share of
    3.5-4.5 % of the talk (questions count; none is asked past 6 %): in turn in the
    pause after a sentence and starting 0.1-0.5 s before the sentence ends. A right
    answer has two speakers, the guest on one label.

    Parameters
    ----------
    folder
        Where ``interview-<minutes>min.flac`` is written.
    minutes
        Length, minutes (it stops after the first sentence past it).
    seed
        Seed of every draw.
    shared_data
        Folder of the real clips.

    Returns
    -------
    Interview

    Raises
    ------
    FileNotFoundError
        The guest's clip or pyannote.audio's sample is absent.
    """
    guest = load_voice(INTERVIEW_GUEST, shared_data)
    host = host_voice()
    if guest is None:
        raise FileNotFoundError(
            f"{shared_data / 'singlespeaker' / VOICES[INTERVIEW_GUEST][0]}: the interview's guest; "
            "not found: give the folder of the real clips that holds it"
        )
    if host is None:
        raise FileNotFoundError("pyannote.audio's sample.wav (the interview's host) not found: install it")
    rng = np.random.default_rng([seed, round(minutes * 600), 0x1E7])
    # Collages, not the clip's sentences in rounds: a reader repeating the same few
    # sentences verbatim is a loop, which the hold-music filter rightly strips.
    guest = collages(rng, guest, math.ceil(minutes * 60.0 / _SHORTEST_SENTENCE_S) + 1)
    said, asked, murmured = _interview_events(rng, guest, host, minutes * 60.0)
    events = said + asked + murmured
    length = max(e.end for e in events) + draw_samples(rng, 0.5, 1.5)
    audio = mix(events, length, rng)
    name = f"interview-{minutes:g}min"
    turns = reference_turns(events)
    speech = speech_spans(turns)
    reference = Reference(
        name=name,
        path=write_flac(folder / f"{name}.flac", audio),
        duration=length / SAMPLE_RATE,
        turns=turns,
        music=(),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="interview",
        tags=("narrowband-voices", f"guest:{guest.name}", f"host:{host.name}"),
    )

    def spans(placed: list[Event]) -> tuple[tuple[float, float], ...]:
        return tuple(sorted((e.start / SAMPLE_RATE, e.end / SAMPLE_RATE) for e in placed))

    return Interview(reference, guest.name, host.name, spans(said), spans(asked), spans(murmured))
