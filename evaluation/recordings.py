"""Recordings to evaluate, built from the scenarios' parts, with speaker references.

``evaluation.scenarios`` knows where music and speech are, but not who spoke or what
was said. A *live room* here is laid out from the same parts (``make_loop``,
``loop_region``, ``reencode``, real clips read with ``read_clip``) while keeping each
clip's RTTM turns and transcript:

    opening hold loop (45-90 s) | silence (people failing to connect) |
    pyannote's sample (2 speakers, with transcript) | a multi-speaker clip from
    the data folder (3-6 speakers, turns only) | music break (25-45 s) | silence |
    pyannote's sample again, 6 % faster (so it is not a repeat), over a music bed
    10-20 dB under it | the whole room through mp3 or AAC

The bed is speech over music: it must be kept, so it is speech in the reference and
not music. Long recordings for the scaling table are ``scenarios.long_recording``
(one synthesized loop, then real speech): they have music and speech truth only.
Audio is written losslessly (FLAC) after any codec round trip, so the reference
times stay exact (``reencode`` re-aligns the encoder's priming delay).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from evaluation.mixing import write_flac
from evaluation.music_parts import loop_region, make_loop
from evaluation.references import Reference, read_rttm, read_stm_text, speech_spans
from evaluation.scenarios import long_recording
from evaluation.signals import NOISE_FLOOR_DB, Codec, at_level, noise_floor, reencode
from evaluation.sources import HOLD_TRACK, music_clips, pyannote_sample_path, read_clip
from pipeline.core.types import Turn
from pipeline.io.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

_SPEECH_DB = -22.0  # speech level, dBFS RMS
_SPEEDUP = 1.06  # the sample's second play: faster, so the loop detector does not see a repeat
_GUESTS = ("pv_falcon_test", "pyaa_diarizationExample", "pyaa_diarizationExample2")  # 3, 4, 6 speakers
_CODECS: tuple[Codec | None, ...] = ("mp3", "aac", None)


@dataclass(frozen=True)
class LabelledClip:
    """Real speech with its speakers and (when known) its words.

    Attributes
    ----------
    name : str
        Source file stem; speaker labels are prefixed with it, so clips never share a speaker.
    audio : np.ndarray
        Shape ``(samples,)``, float32, 16 kHz.
    turns : tuple of Turn
        Seconds from the clip's start.
    text : str or None
        Transcript, None when the source has none.
    """

    name: str
    audio: np.ndarray
    turns: tuple[Turn, ...]
    text: str | None


def sample_clip() -> LabelledClip:
    """pyannote's 30 s sample with its RTTM turns and STM transcript."""
    path = pyannote_sample_path()
    if path is None:
        raise FileNotFoundError("pyannote.audio's sample.wav not found: install pyannote.audio")
    turns = tuple(replace(t, speaker=f"sample:{t.speaker}") for t in read_rttm(path.with_suffix(".rttm")))
    return LabelledClip("sample", read_clip(path), turns, read_stm_text(path.with_suffix(".stm")))


def guest_clips(shared_data: Path) -> tuple[LabelledClip, ...]:
    """Multi-speaker clips with source RTTMs from ``shared_data`` (empty when absent)."""
    clips = []
    for stem in _GUESTS:
        wav = shared_data / "multispeaker" / f"{stem}.wav"
        if wav.is_file() and wav.with_suffix(".rttm").is_file():
            rttm = read_rttm(wav.with_suffix(".rttm"))
            turns = tuple(replace(t, speaker=f"{stem}:{t.speaker}") for t in rttm)
            clips.append(LabelledClip(stem, read_clip(wav), turns, None))
    return tuple(clips)


def sped_up(clip: LabelledClip, factor: float) -> LabelledClip:
    """``clip`` played ``factor`` times faster (pitch rises too); turns scaled, same words."""
    audio = resample_poly(clip.audio, 100, round(100 * factor)).astype(np.float32)
    turns = tuple(Turn(t.start / factor, t.end / factor, t.speaker) for t in clip.turns)
    return LabelledClip(f"{clip.name}~x{factor:g}", audio, turns, clip.text)


class _Room:
    """Lays parts end to end, keeping each part's truth."""

    def __init__(self, rng: np.random.Generator, data: Path) -> None:
        self.rng = rng
        self.data = data
        self.parts: list[np.ndarray] = []
        self.length = 0
        self.turns: list[Turn] = []
        self.music: list[tuple[float, float]] = []
        self.texts: list[str] = []
        self.untranscribed: list[tuple[float, float]] = []

    @property
    def now(self) -> float:
        return self.length / SAMPLE_RATE

    def add(self, audio: np.ndarray) -> None:
        self.parts.append(audio.astype(np.float32))
        self.length += audio.size

    def silence(self, low: float, high: float) -> None:
        self.add(np.zeros(int(self.rng.uniform(low, high) * SAMPLE_RATE), np.float32))

    def speech(self, clip: LabelledClip, *, bed: np.ndarray | None = None) -> None:
        t0 = self.now
        self.turns.extend(Turn(t0 + t.start, t0 + t.end, t.speaker) for t in clip.turns)
        if clip.text is None:
            self.untranscribed.append((t0, t0 + clip.audio.size / SAMPLE_RATE))
        else:
            self.texts.append(clip.text)
        voice = at_level(clip.audio, _SPEECH_DB)
        self.add(voice if bed is None else voice + bed[: voice.size])

    def loop(
        self, *, real: bool, min_seconds: float, max_seconds: float, faded: bool, track: str | None = None
    ) -> None:
        loop = (
            _track_loop(self.rng, self.data, track, max_period=min(30.0, max_seconds / 2)) if track else None
        )
        if loop is None:
            loop, _ = make_loop(self.rng, real=real, data=self.data, max_period=min(30.0, max_seconds / 2))
        region, _ = loop_region(
            self.rng, loop, min_seconds=min_seconds, max_seconds=max_seconds, faded=faded, cut=True
        )
        self.music.append((self.now, self.now + region.size / SAMPLE_RATE))
        self.add(at_level(region, _SPEECH_DB + float(self.rng.uniform(-6.0, 3.0))))

    def bed_for(self, clip: LabelledClip, *, real: bool) -> np.ndarray:
        loop, _ = make_loop(self.rng, real=real, data=self.data, max_period=clip.audio.size / SAMPLE_RATE / 2)
        index = np.arange(clip.audio.size) % loop.size
        return at_level(loop[index], _SPEECH_DB - float(self.rng.uniform(10.0, 20.0)))

    def audio(self) -> np.ndarray:
        audio = np.concatenate(self.parts)
        return audio + noise_floor(self.rng, audio.size, NOISE_FLOOR_DB)


def _track_loop(rng: np.random.Generator, data: Path, name: str, *, max_period: float) -> np.ndarray | None:
    """A loop cut from the named real clip (None when the shared data is absent)."""
    clip = next((c for c in music_clips(data) if c.name == name), None)
    if clip is None:
        return None
    period = min(max_period, clip.audio.size / SAMPLE_RATE)
    offset = rng.uniform(0.0, clip.audio.size / SAMPLE_RATE - period)
    start = int(offset * SAMPLE_RATE)
    return clip.audio[start : start + int(period * SAMPLE_RATE)].copy()


def live_room(index: int, folder: Path, *, data: Path, seed: int = 0, short: bool = False) -> Reference:
    """Build live room ``index`` (see the module docstring), write it to ``folder``, return its reference.

    Parameters
    ----------
    index
        Which room of the seeded set: picks the guest clip, real or synthesized
        loops, the fade and the codec (mp3, AAC, none in turn).
    folder
        Where ``live-room-<index>.flac`` is written.
    data
        Folder of the real clips (``evaluation.sources``).
    seed
        The same seed and index give the same room.
    short
        A ~60 s room for quick checks: a ~25 s loop, then the sample, nothing else.
    """
    rng = np.random.default_rng([seed, index])
    real = index % 2 == 1
    codec = _CODECS[index % len(_CODECS)]
    room = _Room(rng, data)
    sample = sample_clip()
    if short:
        room.loop(real=real, min_seconds=22.0, max_seconds=30.0, faded=False)
        room.silence(1.0, 3.0)
        room.speech(sample)
    else:
        guests = guest_clips(data)
        # Real rooms open with the lounge track a real room would loop (Silero VAD passes about
        # 5 % of it to Whisper when the filter is off; bench/holdmusic_speedup.py).
        room.loop(
            real=real,
            min_seconds=45.0,
            max_seconds=90.0,
            faded=index % 2 == 0,
            track=HOLD_TRACK if real else None,
        )
        room.silence(2.0, 6.0)
        room.speech(sample)
        if guests:
            room.silence(0.3, 1.5)
            room.speech(guests[index % len(guests)])
        room.silence(0.3, 1.5)
        room.loop(real=not real, min_seconds=25.0, max_seconds=45.0, faded=True)
        room.silence(3.0, 8.0)
        second = sped_up(sample, _SPEEDUP)
        room.speech(second, bed=room.bed_for(second, real=real))
        room.silence(1.0, 3.0)
    audio = room.audio()
    if codec is not None:
        audio = reencode(audio, codec, bitrate=int(rng.choice([48_000, 64_000, 96_000])))
    name = f"live-room-{index}" + ("-short" if short else "")
    path = write_flac(folder / f"{name}.flac", audio)
    tags = tuple(t for t in (codec, "real-loop" if real else "synth-loop", "bed" if not short else None) if t)
    return Reference(
        name=name,
        path=path,
        duration=audio.size / SAMPLE_RATE,
        turns=tuple(room.turns),
        music=tuple(room.music),
        speech=speech_spans(tuple(room.turns)),
        text=" ".join(room.texts),
        untranscribed=tuple(room.untranscribed),
        kind="live-room",
        tags=tags,
    )


def long_reference(
    minutes: float, folder: Path, *, data: Path, seed: int = 0, loop_fraction: float = 0.99
) -> Reference:
    """``scenarios.long_recording`` written to ``folder``: music and speech truth, no speakers or words.

    Parameters
    ----------
    minutes
        Length, minutes.
    data
        Folder of the real speech clips.
    loop_fraction
        Share of the recording that is the opening loop; the rest is real speech.
    """
    scenario = long_recording(
        np.random.default_rng([seed, int(minutes * 60)]), data, minutes=minutes, loop_fraction=loop_fraction
    )
    path = write_flac(folder / f"long-{minutes:g}min.flac", scenario.audio)
    return Reference(
        name=f"long-{minutes:g}min",
        path=path,
        duration=scenario.duration,
        turns=(),
        music=tuple((m.start, m.end) for m in scenario.strippable),
        speech=scenario.speech,
        text=None,
        untranscribed=scenario.speech,
        kind="long",
        tags=("synth-loop",),
    )


def write_warmup_clip(folder: Path, *, seconds: float = 4.0) -> Path:
    """Write the first ``seconds`` of speech of pyannote's sample to ``folder/warm-up.flac``.

    Systems process it before the measured recordings, so one-off first-call
    costs are not charged to the first recording.
    """
    clip = sample_clip()
    start = int(min(t.start for t in clip.turns) * SAMPLE_RATE)
    return write_flac(folder / "warm-up.flac", clip.audio[start : start + int(seconds * SAMPLE_RATE)])
