"""One recording through the stages: hold music, ASR, diarization, alignment, metrics.

Stage order and the one rule that holds it together: music is found on the
original audio and stripped first; ASR and diarization see only the kept audio;
their answers are mapped back, so every time in the result is on the original
recording. Each stage's result is cached by content hash (see ``cache.py``).
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from pipeline.core.config import Config
from pipeline.core.errors import StageError
from pipeline.core.timeline import KeptTimeline, stripped_regions
from pipeline.core.types import ModelIdentity, RecordingResult, Region, Segment, Turn
from pipeline.core.validate import invariant_violations
from pipeline.io.audio import SAMPLE_RATE, load_audio
from pipeline.io.hashing import file_sha256
from pipeline.report import write_outputs
from pipeline.run.cache import StageCache
from pipeline.run.heap import release_free_memory
from pipeline.run.progress import ProgressReporter, SilentProgress
from pipeline.stages.align import assign_speakers
from pipeline.stages.diarization.diarize import Diarizer, create_diarizer, diarize
from pipeline.stages.holdmusic.detector import MusicDetector
from pipeline.stages.metrics.conversation import compute_metrics
from pipeline.stages.naming import CampplusEncoder, enroll, name_speakers_by_order, rename_speakers
from pipeline.stages.transcribe import Transcriber, Transcript, transcribe

logger = logging.getLogger(__name__)


@dataclass
class LoadedModels:
    """Models loaded once and reused for every recording of a run or batch."""

    music: MusicDetector
    transcriber: Transcriber
    diarizer: Diarizer

    @classmethod
    def load(cls, config: Config) -> LoadedModels:
        """Load the music detector, the ASR model and the diarizer the config names."""
        return cls(
            music=MusicDetector(config.hold_music),
            transcriber=Transcriber(config.asr, models_dir=config.models_dir),
            diarizer=create_diarizer(config.diarization, models_dir=config.models_dir),
        )

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Every model a run uses."""
        return self.music.identities + self.transcriber.identities + self.diarizer.identities


@dataclass(frozen=True)
class SpeakerNaming:
    """How to name diarized speakers: by order of first speech, or by enrolled voices.

    Attributes
    ----------
    names : tuple of str
        ``--speaker-names``: names in order of first speech.
    enroll : dict
        ``--enroll``: ``{name: reference clip}``; matched voices win over ``names``.
    """

    names: tuple[str, ...] = ()
    enroll: dict[str, Path] = field(default_factory=dict)


@dataclass
class _Timer:
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - began, 3)
            release_free_memory()  # what a stage freed goes back before the next one allocates


def process_recording(
    path: Path,
    config: Config,
    models: LoadedModels,
    *,
    cache: StageCache,
    progress: ProgressReporter | None = None,
    naming: SpeakerNaming | None = None,
) -> RecordingResult:
    """Analyse one recording; every time in the result is seconds on the original.

    Raises
    ------
    AudioError
        The file cannot be decoded (nothing is written).
    """
    progress = progress or SilentProgress()
    timer = _Timer()
    with timer.stage("decode"):
        content_sha256 = file_sha256(path)
        audio = load_audio(path)
    duration = audio.size / SAMPLE_RATE
    key: dict[str, object] = {"content_sha256": content_sha256}

    with timer.stage("hold_music"):
        progress.start("hold music", duration)
        detection_config = config.hold_music.model_dump(mode="json", exclude={"strip"})  # strip acts later
        music = cache.get_or_compute(
            "music",
            {**key, "config": detection_config},
            tuple[Region, ...],
            partial(models.music.detect, audio),
        )
        progress.finish()
    stripped = stripped_regions(music, config.hold_music.strip)
    timeline = KeptTimeline.from_stripped(duration, stripped)
    # A copy of the kept pieces, the whole recording then freed: with 45 minutes of hold
    # music in front of 2 hours of talk that is 0.2 GB less through ASR and diarization,
    # whose own peaks are higher than this moment's.
    kept = timeline.kept_audio(audio, SAMPLE_RATE)
    del audio
    key["kept"] = timeline.pieces

    with timer.stage("asr"):
        progress.start("transcribe", timeline.kept_duration)
        transcript = cache.get_or_compute(
            "asr",
            {**key, "config": config.asr.model_dump(mode="json"), "models": models.transcriber.identities},
            Transcript,
            lambda: transcribe(models.transcriber, kept, timeline, progress=progress.update),
        )
        progress.finish()

    with timer.stage("diarization"):
        progress.start("diarize", timeline.kept_duration)
        diar_config = config.diarization.model_dump(mode="json", exclude={"pyannote": {"token"}})
        turns, overlapped = cache.get_or_compute(
            "diarization",
            {**key, "config": diar_config, "models": models.diarizer.identities},
            tuple[tuple[Turn, ...], tuple[Turn, ...]],
            lambda: diarize(models.diarizer, kept, timeline, config.diarization),
        )
        progress.finish()

    with timer.stage("align_metrics"):
        segments = assign_speakers(transcript.segments, turns)
        if naming is not None:
            turns, overlapped, segments = _apply_naming(
                naming, config, kept, timeline, turns, overlapped, segments
            )
        speakers, conversation = compute_metrics(
            duration=duration,
            turns=turns,
            overlapped_turns=overlapped,
            segments=segments,
            hold_music=stripped,
            config=config.metrics,
        )
    result = RecordingResult(
        source=str(path),
        duration=duration,
        content_sha256=content_sha256,
        music=music,
        stripped=stripped,
        segments=segments,
        turns=turns,
        overlapped_turns=overlapped,
        speakers=speakers,
        conversation=conversation,
        language=transcript.language,
        config=config.public_dict(),
        models=models.identities,
        timings=timer.timings,
    )
    problems = invariant_violations(result)
    if problems:
        raise StageError(
            f"{path}: result breaks {len(problems)} invariant(s), first: {problems[0]}; please report it"
        )
    return result


def _apply_naming(
    naming: SpeakerNaming,
    config: Config,
    kept: np.ndarray,
    timeline: KeptTimeline,
    turns: tuple[Turn, ...],
    overlapped: tuple[Turn, ...],
    segments: tuple[Segment, ...],
) -> tuple[tuple[Turn, ...], tuple[Turn, ...], tuple[Segment, ...]]:
    mapping = name_speakers_by_order(
        naming.names, turns=turns, overlapped_turns=overlapped, segments=segments
    )
    enrolled = (
        enroll(
            kept,
            turns,
            naming.enroll,
            threshold=config.metrics.enrollment_threshold,
            margin=config.metrics.enrollment_margin,
            encoder=CampplusEncoder(models_dir=config.models_dir),
            to_audio_time=timeline.to_kept,
        )
        if naming.enroll
        else {}
    )
    taken = set(enrolled.values())
    # Enrolled voices win; order-based names fill in for speakers no clip matched.
    mapping = {label: name for label, name in mapping.items() if name not in taken and label not in enrolled}
    return rename_speakers(
        {**mapping, **enrolled}, turns=turns, overlapped_turns=overlapped, segments=segments
    )


def run_one(
    path: Path,
    config: Config,
    models: LoadedModels,
    *,
    out_root: Path,
    progress: ProgressReporter | None = None,
    naming: SpeakerNaming | None = None,
) -> tuple[RecordingResult, Path]:
    """Process ``path`` and write its outputs to ``out_root/<safe name>/``."""
    cache = StageCache(config.cache_dir or out_root / ".cache")
    result = process_recording(path, config, models, cache=cache, progress=progress, naming=naming)
    out_dir = out_root / safe_output_name(path)
    began = time.perf_counter()
    write_outputs(result, out_dir, config.output.formats)
    logger.info("wrote %s in %.2f s", out_dir, time.perf_counter() - began)
    return result, out_dir


def safe_output_name(path: Path) -> str:
    """A folder name from a recording's file name that cannot leave the output folder.

    Normalises Unicode (NFKC), keeps letters, digits, ``-``, ``_`` and ``.``,
    and never starts with a dot (no ``..``, no hidden folders).
    """
    stem = unicodedata.normalize("NFKC", Path(path).name)
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    cleaned = re.sub(r"[^\w.-]+", "_", stem).lstrip("._")
    return cleaned[:120] or "recording"
