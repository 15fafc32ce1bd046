"""One recording through the stages: the runner builds them, loads their models once, loops over them.

Stage order and the one rule that holds it together: music is found on the
original audio and stripped first; ASR and diarization see only the kept audio;
their answers are mapped back, so every time in the result is on the original
recording. Then words get speakers, speakers get names (when asked), and the
metrics are computed once. Each stage declares what it needs and what changes its
output (``pipeline.stages.base``); a cached stage's output is kept by the
recording's content hash, what it needs, its key and its models' checksums
(``cache.py``), so a rerun redoes only what changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.core.errors import StageError
from pipeline.core.heap import limit_arenas, release_free_memory
from pipeline.core.serialize import to_jsonable
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import ModelIdentity, RecordingResult
from pipeline.core.validate import invariant_violations
from pipeline.io.audio import SAMPLE_RATE, choose_audio_stream, load_audio, probe
from pipeline.io.hashing import data_sha256, file_sha256
from pipeline.run.cache import StageCache, stage_cache_root
from pipeline.run.options import RunOptions
from pipeline.run.outputs import assign_output_names, check_output_folder, write_outputs
from pipeline.run.progress import ProgressMode, ProgressReporter, SilentProgress, progress_reporter
from pipeline.run.threads import limit_cpu_threads
from pipeline.stages.align import AlignStage
from pipeline.stages.base import RecordingState, Stage, check_order
from pipeline.stages.diarization.stage import DiarizationStage
from pipeline.stages.holdmusic.stage import HoldMusicStage, StripStage
from pipeline.stages.metrics.stage import MetricsStage
from pipeline.stages.naming import NamingStage
from pipeline.stages.transcribe import AsrStage

logger = logging.getLogger(__name__)


def build_stages(options: RunOptions) -> tuple[Stage[Any], ...]:
    """The stages a run's options ask for, in order (no model is loaded here).

    Raises
    ------
    StageError
        A stage needs what no stage before it provides (a bug in this list).
    """
    config = options.config
    stages: list[Stage[Any]] = [
        HoldMusicStage(config.hold_music, models_dir=config.models_dir),
        StripStage(config.hold_music.strip),
        AsrStage(config.asr, models_dir=config.models_dir),
        DiarizationStage(config.diarization, models_dir=config.models_dir),
        AlignStage(),
    ]
    if options.naming:
        stages.append(
            NamingStage(
                options.naming,
                enrollment=config.metrics.enrollment,
                models_dir=config.models_dir,
            )
        )
    stages.append(MetricsStage(config.metrics))
    check_order(stages)
    return tuple(stages)


def config_sha256(options: RunOptions) -> str:
    """Hex sha256 of everything that changes a run's outputs: every stage's key and the output formats.

    Where and how recordings run (executor, Ray workers, the models and cache folders)
    and secrets (the hub token) are in no stage's key, so switching executor never
    redoes finished work; the batch ledger keys its rows by this hash. A ``--stream``
    asked for is in it (absent when none is, so earlier ledgers stay valid).
    """
    stages = build_stages(options)
    data: dict[str, Any] = {
        "stages": {stage.name: stage.cache_key() for stage in stages},
        "formats": list(options.formats),
    }
    if options.stream is not None:
        data["stream"] = options.stream
    return data_sha256(data)


class Runner:
    """The stages of a run with their models loaded (once): analyses one recording after another.

    Parameters
    ----------
    options
        The run's config and speaker naming.
    cpu_threads
        Threads every model computes with (a Ray worker's reserved CPUs, see
        ``pipeline.run.threads``); None: ``asr.cpu_threads`` and the libraries' defaults.
        Like ``asr.cpu_threads``, it changes how fast, not what: results keep the config as given.

    Raises
    ------
    ModelError
        A model is missing or fails its checksum.
    ConfigError
        A device was asked for that the model library cannot use.
    """

    def __init__(self, options: RunOptions, *, cpu_threads: int | None = None) -> None:
        self.options = options
        if cpu_threads is not None:
            limit_cpu_threads(cpu_threads)
            asr = options.config.asr.model_copy(update={"cpu_threads": cpu_threads})
            options = replace(options, config=options.config.model_copy(update={"asr": asr}))
        self.stages = build_stages(options)
        # Before the models start their thread pools, in every process that analyses
        # (the CLI, eval's measured children, Ray workers): one heap behaviour, one peak.
        limit_arenas()
        began = time.perf_counter()
        for stage in self.stages:
            stage.load()
        logger.info("models loaded in %.1f s", time.perf_counter() - began, extra={"event": "models_loaded"})

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Every model the stages run, once each, in stage order."""
        return tuple(dict.fromkeys(identity for stage in self.stages for identity in stage.identities))

    def analyse(
        self, path: Path, *, cache: StageCache, progress: ProgressReporter | None = None
    ) -> RecordingResult:
        """Analyse one recording; every time in the result is seconds on the original.

        Raises
        ------
        AudioError
            The file cannot be decoded (nothing is written).
        StageError
            A stage failed, or the result breaks an invariant (a bug: nothing is written).
        """
        progress = progress or SilentProgress()
        timer = _Timer()
        with timer.stage("decode"):
            content_sha256 = file_sha256(path)
            info = choose_audio_stream(path, stream=self.options.stream)
            audio = load_audio(path, stream=info.stream)
        duration = audio.size / SAMPLE_RATE
        state = RecordingState(path, content_sha256, duration, audio, KeptTimeline.keep_all(duration))
        state = replace(state, audio_stream=info.stream, audio_streams=info.streams)
        del audio  # the state holds it until stripping leaves only the kept audio
        for stage in self.stages:
            with timer.stage(stage.name):
                state = _run_stage(stage, state, cache, progress)
        result = state.result(
            config=self.options.config.public_dict(), models=self.identities, timings=timer.timings
        )
        problems = invariant_violations(result)
        if problems:
            raise StageError(
                f"{path}: result breaks {len(problems)} invariant(s), first: {problems[0]}; please report it"
            )
        return result


def run_files(
    paths: Sequence[Path], options: RunOptions, *, out_root: Path, progress: ProgressMode = "off"
) -> Iterator[tuple[RecordingResult, Path]]:
    """Analyse ``paths`` one after another with the models loaded once, writing each one's outputs.

    Every file is probed and the output folder checked before any model loads (a bad
    path fails in milliseconds). Two recordings with the same file name get two
    folders (``assign_output_names``, as in ``batch``). ``progress``: how each stage's
    progress is shown.

    Yields
    ------
    result, out_dir
        Each recording's result and its output folder ``out_root/<safe name>/``.
    """
    for path in paths:
        probe(path, stream=options.stream or 0)
    check_output_folder(out_root)
    cache_root = stage_cache_root(options.config.cache_dir, out_root)
    check_output_folder(cache_root, what="cache_dir")
    names = assign_output_names((str(path.resolve()) for path in paths), {}, out_root)
    runner = Runner(options)
    cache = StageCache(cache_root)
    for path, name in zip(paths, names, strict=True):
        result = runner.analyse(path, cache=cache, progress=progress_reporter(progress, path.name))
        out_dir = out_root / name
        write_outputs(result, out_dir, options.formats)
        yield result, out_dir


def _run_stage(
    stage: Stage[Any], state: RecordingState, cache: StageCache, progress: ProgressReporter
) -> RecordingState:
    """``state`` after ``stage``: its output from the cache when kept there, else computed."""
    if stage.progress_label is not None:
        progress.start(stage.name, stage.progress_label, state.timeline.kept_duration)
    if stage.cached:
        parts = {
            **state.fingerprint(stage.needs),
            "key": stage.cache_key(),
            "models": to_jsonable(stage.identities),
        }
        output = cache.get_or_compute(
            stage.name, parts, stage.output_type, lambda: stage.run(state, progress.update)
        )
    else:
        output = stage.run(state, progress.update)
    if stage.progress_label is not None:
        progress.finish()
    return stage.apply(state, output)


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
