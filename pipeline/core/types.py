"""Typed results shared by every stage.

All times are seconds on the ORIGINAL recording, whatever audio a stage saw.
The dataclasses are frozen: a stage returns new values instead of editing old ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MusicKind = Literal["loop", "music"]
TurnKind = Literal["turn", "backchannel", "interjection"]
LanguageAction = Literal["none", "warn", "switch"]


@dataclass(frozen=True)
class Region:
    """A stretch of music found by the hold-music stage.

    Attributes
    ----------
    start, end : float
        Seconds on the original recording, ``start <= end``.
    kind : {"loop", "music"}
        ``"loop"`` when the same audio repeats, ``"music"`` otherwise.
    period : float or None
        Loop period in seconds (loops only).
    repeats : float or None
        How many times the loop plays in the region (loops only; may be fractional
        when the region is cut mid-loop).
    confidence : float
        Detector confidence in [0, 1].
    """

    start: float
    end: float
    kind: MusicKind = "music"
    period: float | None = None
    repeats: float | None = None
    confidence: float = 1.0

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    """One recognised word, with its speaker once aligned."""

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True)
class Segment:
    """An utterance: consecutive words of one speaker.

    ASR segments are split at speaker changes by the alignment stage, so every
    word of a segment has the segment's speaker.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one speaker (a diarization track)."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class FloorTurn:
    """One speaker's turn with its role in the conversation (a row of turns.csv).

    Built once by the metrics stage (``pipeline.stages.metrics.floor``); docs/metrics.md
    defines every field.

    Attributes
    ----------
    speaker : str
    start, end : float
        Seconds on the original recording; the span includes pauses shorter than
        ``merge_pause``.
    speech : float
        Seconds actually spoken inside the span.
    kind : {"turn", "backchannel", "interjection"}
        ``"turn"`` for a long turn, and for a short one with nobody else holding the
        floor around it; other short turns are backchannels or interjections.
    takes_floor : bool
        False for a short turn when another speaker's long turn is under way at its
        end or starts within ``floor_gap`` after it; True otherwise.
    word_count : int
        The speaker's words in this turn.
    text : str
        Those words as one string.
    interrupted : str or None
        The speaker this turn interrupted, if it is an interruption.
    response_latency : float or None
        Seconds from the end of the previous speaker's turn to this turn's start
        (negative: started in overlap); None when this turn is not a floor transfer.
    questions : int
        Questions asked in this turn.
    monologue : bool
        Part of a monologue.
    """

    speaker: str
    start: float
    end: float
    speech: float
    kind: TurnKind
    takes_floor: bool
    word_count: int = 0
    text: str = ""
    interrupted: str | None = None
    response_latency: float | None = None
    questions: int = 0
    monologue: bool = False

    @property
    def duration(self) -> float:
        """Span length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class ModelIdentity:
    """Which model produced a result: enough to reproduce it."""

    role: str  # "asr", "diarization", "vad", "speaker-embedding", ...
    name: str
    source: str
    sha256: str | None = None


@dataclass(frozen=True)
class SpeakerStats:
    """One speaker's metrics; docs/metrics.md gives every formula and threshold.

    Times are seconds on the original recording; durations are seconds.
    """

    speaker: str
    talk_time: float  # union of the speaker's speech, music excluded
    share: float  # talk_time over the sum of all speakers' talk times, in [0, 1]
    turns: int  # the speaker's speech with gaps under merge_pause joined
    words: int
    words_per_minute: float  # words over talk_time in minutes; 0 without talk time
    longest_turn: float
    longest_turn_start: float
    longest_turn_end: float
    first_speech: float = 0.0  # start of the first turn (or word): orders speakers for naming
    mean_turn: float = 0.0
    median_turn: float = 0.0
    monologue_count: int = 0  # turns of at least monologue_min_duration
    monologues: tuple[tuple[float, float], ...] = ()  # (start, end) of each, in time order
    backchannels: int = 0  # short turns of assent that leave the floor where it was
    interjections: int = 0  # every other short turn
    interruptions: int = 0  # turns started over another speaker, who then stopped first
    interrupted: int = 0  # times another speaker did that to this one
    overlap_time: float = 0.0  # speaking while someone else speaks
    questions: int = 0
    median_response_latency: float | None = None  # floor-transfer offset; negative: started in overlap
    fillers: int = 0
    keywords: tuple[tuple[str, int], ...] = ()  # (topic, mentions), topics in config order


@dataclass(frozen=True)
class ConversationStats:
    """Whole-recording metrics; docs/metrics.md gives every formula and threshold.

    Times are seconds on the original recording; durations are seconds.
    """

    duration: float  # original recording
    hold_music_time: float  # stripped music
    speech_time: float  # union of all speakers' speech
    num_speakers: int
    silence_time: float = 0.0  # neither speech nor stripped music
    overlap_time: float = 0.0  # two or more speakers at once
    balance: float | None = None  # normalised entropy of talk shares in [0, 1]; None under two speakers
    longest_stretch: float = 0.0  # longest speech by one speaker with nobody else speaking
    longest_stretch_start: float = 0.0
    longest_stretch_end: float = 0.0
    longest_stretch_speaker: str | None = None
    interruptions: tuple[tuple[str, str, int], ...] = ()  # (interrupter, interrupted, count), count > 0


@dataclass(frozen=True)
class LanguageDetection:
    """The spoken language as a multilingual Whisper heard it (``asr.language_check``).

    Attributes
    ----------
    language : str
        Whisper's language code, e.g. ``"fr"``.
    probability : float
        Its probability in [0, 1], averaged over the windows heard.
    windows : int
        Speech windows of at most 30 s heard; 0 when the ASR model's own detection
        (its first 30 s) is reported.
    model : str
        Registry name of the model that heard them.
    action : {"none", "warn", "switch"}
        What the ASR stage did: nothing (the expected language, or not sure enough),
        warned, or transcribed with ``model`` in ``language``.
    """

    language: str
    probability: float
    windows: int
    model: str
    action: LanguageAction = "none"


@dataclass(frozen=True)
class RecordingResult:
    """Everything the pipeline knows about one recording.

    Attributes
    ----------
    source : str
        Input path as given.
    duration : float
        Length of the original recording in seconds.
    content_sha256 : str
        Hash of the input file's bytes (cache and ledger key).
    music : tuple of Region
        Music found, stripped or not.
    stripped : tuple of Region
        Regions removed before ASR and diarization (a subset of ``music``).
    segments : tuple of Segment
        Speaker-attributed utterances, in time order.
    turns : tuple of Turn
        Exclusive diarization (one speaker at a time), in time order.
    overlapped_turns : tuple of Turn
        Regular diarization, overlaps allowed.
    speakers : tuple of SpeakerStats
        Per-speaker metrics, most talk time first.
    conversation : ConversationStats
        Whole-recording metrics.
    language : str
        Language of the transcript.
    floor_turns : tuple of FloorTurn
        Every speaker's turns, classified (turn, backchannel, interjection), in time order.
    language_detected : LanguageDetection or None
        The spoken language as heard before transcribing (``asr.language_check``), or
        a multilingual model's own detection when it was left to detect; None when no
        model listened (the check off, or too little speech).
    audio_stream : int
        Index of the audio stream analysed among the file's audio streams, 0-based.
    audio_streams : int
        How many audio streams the file has.
    config : dict
        Resolved configuration the run used.
    models : tuple of ModelIdentity
        Models the run used.
    timings : dict
        Wall-clock seconds per stage.
    """

    source: str
    duration: float
    content_sha256: str
    music: tuple[Region, ...]
    stripped: tuple[Region, ...]
    segments: tuple[Segment, ...]
    turns: tuple[Turn, ...]
    overlapped_turns: tuple[Turn, ...]
    speakers: tuple[SpeakerStats, ...]
    conversation: ConversationStats
    language: str
    floor_turns: tuple[FloorTurn, ...] = ()
    language_detected: LanguageDetection | None = None
    audio_stream: int = 0
    audio_streams: int = 1
    config: dict = field(default_factory=dict)
    models: tuple[ModelIdentity, ...] = ()
    timings: dict = field(default_factory=dict)

    @property
    def words(self) -> tuple[Word, ...]:
        """All words in time order."""
        return tuple(w for s in self.segments for w in s.words)
