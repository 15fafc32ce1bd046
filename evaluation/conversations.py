"""Two-party calls and long talks with exact speaker truth, made from real voices, and the two real ones.

Diarization needs recordings where who spoke when is known to the sample. The
single-speaker clips of the data folder's ``singlespeaker/`` are one voice each (the
file names and ``SOURCES.md`` say whose), so cutting them at pauses
(``evaluation.voices``) and laying the pieces of two voices on one timeline
(``evaluation.mixing``) gives a conversation whose reference is where the pieces were put:

* :func:`phone_calls`: two distinct voices taking turns like a call (1-3 sentences a
  turn, gaps of -0.3 to 1.0 s, so the next speaker sometimes starts before the other
  ends; now and then the listener's short backchannel under or just after a
  sentence); ``wideband`` (16 kHz as is) or ``phone`` (``evaluation.telephone``: 300-3400 Hz,
  8 kHz, G.711 mu-law, sometimes AMR-NB first, back at 16 kHz in the file).
* :func:`long_talk`: hours of a live room, a looping hold track then two people
  talking (voices made of random collages of their real speech, so nothing loops), for
  speed, memory and identity stability at the seed's size.
* :func:`conversation_references`: the real two-party recordings of the data folder's
  ``conversations/`` with the RTTMs derived in ``bench/references``
  (approximate boundaries; see its README).

The interview (a guest's monologue, a host's questions and murmurs) is
``evaluation.interview``. Everything is seeded: the same seed gives the same audio,
sample for sample. Files are written as 16-bit FLAC (lossless), after any codec round
trip, which is re-aligned to the input so the reference times stay exact.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from evaluation.mixing import Event, cycled, draw_samples, jitter, mix, reference_turns, write_flac
from evaluation.references import Reference, read_rttm, speech_spans
from evaluation.signals import at_level, repeat_loop
from evaluation.sources import hold_track
from evaluation.telephone import amr_nb_available, telephone
from evaluation.voices import Voice, collages, load_voice
from pipeline.io.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

Band = Literal["wideband", "phone"]

REAL_CONVERSATIONS = ("azure_katiesteve", "pca_auto0_call_8k")
"""Stems of the real two-party recordings in the data folder's ``conversations/``."""

CALL_PAIRS: tuple[tuple[str, str], ...] = (
    ("libri-198", "libri-3436"),
    ("osr-0034", "libri-5703"),
    ("arctic-aew", "arctic-axb"),
    ("vctk-p286", "libri-198"),
    ("jfk", "libri-5703"),
    ("arctic-axb", "libri-3436"),
)
"""Voices of call ``i``: even calls are wideband, odd ones phone (the 8 kHz OSR reader is
only in phone calls, where its band is not a give-away)."""

_BACKCHANNEL_P = 0.25  # chance that the listener murmurs at a sentence of a call
_AMR_RATES = (12_200, 7_950, 5_900)  # AMR-NB modes of a mobile leg, bit/s


def call_events(rng: np.random.Generator, voices: tuple[Voice, Voice], seconds: float) -> list[Event]:
    """Turns of two voices from about 0.5 s to about ``seconds``; see :func:`phone_calls`.

    No turn starts after ``seconds - 4`` and none takes another sentence after ``seconds - 2``.
    """
    gains = [10 ** (rng.uniform(-26.0, -20.0) / 20) / v.rms for v in voices]
    decks = [iter(cycled(rng, len(v.sentences), max(1000, round(seconds)))) for v in voices]  # < 1 a second
    events: list[Event] = []
    free = [0, 0]  # sample where each speaker's last piece ends: nobody overlaps themself
    t = draw_samples(rng, 0.3, 1.0)
    who = int(rng.integers(2))
    while t < (seconds - 4.0) * SAMPLE_RATE:
        speaker, listener = voices[who], voices[1 - who]
        t = max(t, free[who] + round(0.15 * SAMPLE_RATE))
        n = int(rng.integers(1, 4))
        for k in range(n):
            piece = speaker.sentences[next(decks[who])] * np.float32(gains[who] * jitter(rng))
            events.append(Event(t, piece, speaker.name))
            end = free[who] = t + piece.size
            last = k == n - 1
            if rng.random() < _BACKCHANNEL_P:
                murmur = listener.murmurs[int(rng.integers(len(listener.murmurs)))]
                murmur = murmur * np.float32(gains[1 - who] * jitter(rng))
                room = piece.size - murmur.size - round(0.4 * SAMPLE_RATE)
                if (last or rng.random() < 0.5) and room > 0:  # under the sentence
                    at = t + round(0.3 * SAMPLE_RATE) + int(rng.integers(room))
                else:  # in the pause after it; the speaker waits for it before going on
                    at = end + draw_samples(rng, -0.2, 0.3)
                if at >= free[1 - who] + round(0.1 * SAMPLE_RATE):
                    events.append(Event(at, murmur, listener.name))
                    free[1 - who] = at + murmur.size
                    if not last:
                        end = max(end, free[1 - who])
            t = end + (draw_samples(rng, 0.15, 0.5) if not last else 0)
            if t > (seconds - 2.0) * SAMPLE_RATE:
                break
        # Negative gaps: the other speaker starts before this one has finished.
        t += draw_samples(rng, -0.3, 1.0)
        who = 1 - who
    return events


def phone_call(index: int, folder: Path, *, shared_data: Path, seed: int = 0) -> Reference | None:
    """Call ``index`` of the seeded set (voices ``CALL_PAIRS[index % 6]``), written to ``folder``.

    Parameters
    ----------
    index
        Even: ``wideband`` (16 kHz as recorded); odd: ``phone`` (:func:`telephone`; every
        second phone call, ``index % 4 == 3``, also through AMR-NB when PyAV can encode it).
    folder
        Where ``call-<index>-<band>.flac`` is written.
    seed
        The same seed and index give the same call, sample for sample.
    shared_data
        Folder of the real clips.

    Returns
    -------
    Reference or None
        None when a voice's clips are absent.
    """
    pair = CALL_PAIRS[index % len(CALL_PAIRS)]
    found = [load_voice(v, shared_data) for v in pair]
    if found[0] is None or found[1] is None:
        return None
    voices = (found[0], found[1])
    rng = np.random.default_rng([seed, index, 0xCA11])
    band: Band = "phone" if index % 2 else "wideband"
    events = call_events(rng, voices, float(rng.uniform(50.0, 88.0)))
    length = max(e.end for e in events) + draw_samples(rng, 0.5, 1.5)
    audio = mix(events, length, rng)
    tags = [band, f"voice:{pair[0]}", f"voice:{pair[1]}"]
    if band == "phone":
        amr = int(rng.choice(_AMR_RATES)) if index % 4 == 3 and amr_nb_available() else None
        audio = telephone(audio, amr_bitrate=amr)
        tags += ["g711-mulaw"] + ([f"amr-nb-{amr}"] if amr else [])
    return call_reference(folder / f"call-{index}-{band}.flac", events, audio, tuple(tags))


def call_reference(path: Path, events: list[Event], audio: np.ndarray, tags: tuple[str, ...]) -> Reference:
    """Write a call's ``audio`` (16 kHz) to ``path``; its reference: kind ``"call"``, the placed turns."""
    turns = reference_turns(events)
    speech = speech_spans(turns)
    return Reference(
        name=path.stem,
        path=write_flac(path, audio),
        duration=audio.size / SAMPLE_RATE,
        turns=turns,
        music=(),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="call",
        tags=tags,
    )


def phone_calls(folder: Path, *, shared_data: Path, seed: int = 0, count: int = 4) -> list[Reference]:
    """Two-party calls of real voices with exact turns, written to ``folder`` as FLAC.

    Each call pairs two distinct voices (:data:`CALL_PAIRS`), each at its own level
    (-26 to -20 dBFS RMS), over a -60 dBFS noise floor, 45-90 s long: turns of 1-3
    sentences (cut at pauses, reused in shuffled rounds, +-3 dB each time), gaps
    between turns of -0.3 to 1.0 s (negative: the next speaker starts first), and in
    a quarter of the sentences a listener's backchannel (< 1 s) under the sentence
    or in the pause after it. Reference turns are the placed pieces (speech from
    40 ms before its first loud frame to 40 ms after its last), overlaps kept.

    Parameters
    ----------
    folder
        Where the FLAC files go.
    seed
        Seed of every draw.
    count
        Calls ``0 .. count-1`` (even wideband, odd phone); at most ``len(CALL_PAIRS)``
        distinct voice pairs, then pairs repeat with other draws.
    shared_data
        Folder of the real clips; absent voices are skipped (an empty list when none).

    Returns
    -------
    list of Reference
        Kind ``"call"``, names ``call-<i>-<band>``, tags: band, both voices, codecs.
    """
    calls = [phone_call(i, folder, seed=seed, shared_data=shared_data) for i in range(count)]
    return [c for c in calls if c is not None]


def long_talk(
    folder: Path, *, talk_minutes: float, hold_minutes: float, shared_data: Path, seed: int = 0
) -> Reference | None:
    """A live room as recorded unedited: a looping hold track, then two people talking, to ``folder``.

    The hold track is a cut of the lounge track (``evaluation.sources.HOLD_TRACK``) looped for
    ``hold_minutes``; the talk is a wideband call of the first voice pair
    (:data:`CALL_PAIRS`) for ``talk_minutes``, built like :func:`phone_calls`' calls from
    ``collages`` of each voice: a few minutes of real speech cannot fill hours without
    repeating, and repeated speech is what the hold-music filter rightly strips. For
    speed, memory and speaker stability on hours of talk; the short calls measure accuracy.

    Returns
    -------
    Reference or None
        Kind ``"long-talk"``; None when the voices or the hold track are absent.
    """
    voices = [load_voice(v, shared_data) for v in CALL_PAIRS[0]]
    track = hold_track(shared_data)
    if voices[0] is None or voices[1] is None or track is None:
        return None
    rng = np.random.default_rng([seed, round(talk_minutes * 60), round(hold_minutes * 60), 0x7A1C])
    period = track.audio[: round(30.0 * SAMPLE_RATE)]
    hold = at_level(repeat_loop(period, hold_minutes * 60 * SAMPLE_RATE / period.size), -24.0)
    count = round(talk_minutes * 60 / 4)  # about one new sentence per speaker every 8 s of talk
    talkers = (collages(rng, voices[0], count), collages(rng, voices[1], count))
    events = [replace(e, start=e.start + hold.size) for e in call_events(rng, talkers, talk_minutes * 60.0)]
    length = max(e.end for e in events) + draw_samples(rng, 0.5, 1.5)
    audio = mix(events, length, rng)
    audio[: hold.size] += hold
    turns = reference_turns(events)
    del events  # an hour of talk is ~230 MB of pieces; the mix is all that is needed now
    name = f"long-talk-{hold_minutes:g}+{talk_minutes:g}min"
    speech = speech_spans(turns)
    return Reference(
        name=name,
        path=write_flac(folder / f"{name}.flac", audio),
        duration=length / SAMPLE_RATE,
        turns=turns,
        music=((0.0, hold.size / SAMPLE_RATE),),
        speech=speech,
        text=None,
        untranscribed=speech,
        kind="long-talk",
        tags=("wideband", f"voice:{CALL_PAIRS[0][0]}", f"voice:{CALL_PAIRS[0][1]}", "lounge-loop"),
    )


def conversation_references(*, shared_data: Path, references_dir: Path) -> list[Reference]:
    """The real two-party recordings with their derived RTTMs (approximate: score with a 0.25 s collar).

    Parameters
    ----------
    shared_data
        Folder holding ``conversations/``; recordings absent there are skipped.
    references_dir
        Folder of the ``<stem>.rttm`` files (``bench/references``).

    Returns
    -------
    list of Reference
        Kind ``"real"``, names ``real:<stem>``, no transcript.
    """
    import soundfile as sf

    references = []
    for stem in REAL_CONVERSATIONS:
        wav = shared_data / "conversations" / f"{stem}.wav"
        rttm = references_dir / f"{stem}.rttm"
        if not wav.is_file() or not rttm.is_file():
            logger.info("real conversation %s or %s not present: skipped", wav, rttm)
            continue
        turns = read_rttm(rttm)
        speech = speech_spans(turns)
        references.append(
            Reference(
                name=f"real:{stem}",
                path=wav,
                duration=sf.info(str(wav)).duration,
                turns=turns,
                music=(),
                speech=speech,
                text=None,
                untranscribed=speech,
                kind="real",
                tags=("derived-rttm",),
            )
        )
    return references
