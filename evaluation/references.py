"""The reference of one recording, and the real recordings that are scored as they are.

Real recordings: pyannote.audio's sample (turns from ``sample.rttm``, words from
``sample.stm``) and the multi-speaker clips of the data folder's ``multispeaker/``
that have an RTTM from their source (skipped when the folder is absent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from evaluation.sources import pyannote_sample_path
from pipeline.core.types import Turn

logger = logging.getLogger(__name__)

# Clips whose RTTM comes from the source's own annotation (the "derived" ones are VAD passes).
_REAL_MULTISPEAKER = ("pyaa_diarizationExample", "pyaa_diarizationExample2", "pv_falcon_test")


@dataclass(frozen=True)
class Reference:
    """Ground truth of one recording.

    Attributes
    ----------
    name : str
        Unique within a run.
    path : Path
        The audio file the systems read.
    duration : float
        Seconds.
    turns : tuple of Turn
        Speaker-labelled reference speech (overlaps allowed), seconds.
    music : tuple of (float, float)
        Music the filter should strip (beds with speech over them excluded), seconds.
    speech : tuple of (float, float)
        Reference speech, seconds (denominator of speech lost).
    text : str or None
        Reference transcript of the transcribed speech, in time order; None: no WER.
    untranscribed : tuple of (float, float)
        Speech whose words ``text`` does not hold, seconds: hypothesis words there
        are left out of the WER.
    kind : str
        ``"live-room"``, ``"real"`` or ``"long"``.
    tags : tuple of str
        What the recording exercises (codec, real or synthesized loop, bed...).
    """

    name: str
    path: Path
    duration: float
    turns: tuple[Turn, ...]
    music: tuple[tuple[float, float], ...]
    speech: tuple[tuple[float, float], ...]
    text: str | None
    untranscribed: tuple[tuple[float, float], ...]
    kind: str
    tags: tuple[str, ...] = ()


def read_rttm(path: Path) -> tuple[Turn, ...]:
    """Speaker turns of an RTTM file, in file order."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start = float(fields[3])
            turns.append(Turn(start, start + float(fields[4]), fields[7]))
    return tuple(turns)


def read_stm_text(path: Path) -> str:
    """Transcript of an STM file (``file channel speaker start end text``), lines in time order."""
    lines = [line.split(maxsplit=5) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = sorted((float(f[3]), f[5]) for f in lines if len(f) == 6 and not f[0].startswith(";;"))
    return " ".join(text for _, text in rows)


def speech_spans(turns: tuple[Turn, ...]) -> tuple[tuple[float, float], ...]:
    """Union of the turns, sorted and disjoint, seconds."""
    merged: list[list[float]] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if merged and turn.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], turn.end)
        else:
            merged.append([turn.start, turn.end])
    return tuple((s, e) for s, e in merged)


def real_references(*, shared_data: Path, sample_only: bool = False) -> list[Reference]:
    """The real recordings as they are, with their sources' references.

    Parameters
    ----------
    shared_data
        Folder of real clips; its multi-speaker recordings are skipped when absent.
    sample_only
        Only pyannote's sample.
    """
    import soundfile as sf

    found: list[tuple[Path, Path, Path | None]] = []  # (audio, RTTM, STM when there is one)
    sample = pyannote_sample_path()
    if sample is not None:
        found.append((sample, sample.with_suffix(".rttm"), sample.with_suffix(".stm")))
    if not sample_only:
        for stem in _REAL_MULTISPEAKER:
            wav = shared_data / "multispeaker" / f"{stem}.wav"
            if wav.is_file() and wav.with_suffix(".rttm").is_file():
                found.append((wav, wav.with_suffix(".rttm"), None))
            else:
                logger.info("real recording %s not present: skipped", wav)
    references = []
    for wav, rttm, stm in found:
        turns = read_rttm(rttm)
        duration = sf.info(str(wav)).duration
        speech = speech_spans(turns)
        references.append(
            Reference(
                name=f"real:{wav.stem}",
                path=wav,
                duration=duration,
                turns=turns,
                music=(),
                speech=speech,
                text=read_stm_text(stm) if stm else None,
                untranscribed=() if stm else speech,
                kind="real",
            )
        )
    return references
