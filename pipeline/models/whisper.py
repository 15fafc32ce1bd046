"""faster-whisper models (CTranslate2): found and checked through the registry, loaded on their device.

``auto`` asks CTranslate2 for a GPU. On the GPU, CTranslate2 ``dlopen``s the CUDA 12
libraries at its first matrix product, so they are preloaded (``gpu_libs``) and one
second of silence is decoded at load: a machine that sees a GPU but cannot use it
fails here, not mid-recording, and ``auto`` falls back to the CPU.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.core.errors import ConfigError, first_line
from pipeline.core.types import ModelIdentity
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.device import Device, resolve_ctranslate2_device
from pipeline.models.gpu_libs import preload_cuda_libraries
from pipeline.models.registry import resolve_model

logger = logging.getLogger(__name__)


class WhisperSettings(Protocol):
    """What loading a faster-whisper model reads from the ASR settings (``AsrConfig``)."""

    @property
    def model(self) -> str:
        """Registry name."""

    @property
    def device(self) -> str:
        """``"auto"``, ``"cpu"`` or ``"cuda"``."""

    @property
    def compute_type(self) -> str | None:
        """CTranslate2 compute type; ``None``: float16 on CUDA, int8 on the CPU."""

    @property
    def cpu_threads(self) -> int:
        """Threads on the CPU; 0 lets CTranslate2 decide."""

    @property
    def batched(self) -> bool:
        """Also build the batched decoder."""


@dataclass(frozen=True)
class LoadedWhisper:
    """A faster-whisper model on its device.

    Attributes
    ----------
    model : faster_whisper.WhisperModel
    batched : faster_whisper.BatchedInferencePipeline or None
        The batched decoder over ``model`` (``AsrConfig.batched``).
    device : {"cpu", "cuda"}
        Where it runs (``auto`` resolved, after any fallback).
    compute_type : str
        CTranslate2 compute type, e.g. ``int8``, ``float16``.
    identity : ModelIdentity
        Registry name, source and sha256 of ``model.bin``.
    """

    model: Any
    batched: Any | None
    device: Device
    compute_type: str
    identity: ModelIdentity


def load_whisper(config: WhisperSettings, *, models_dir: Path | None = None) -> LoadedWhisper:
    """Load ``config.model`` from the registry on ``config.device``.

    Raises
    ------
    ModelError
        The model is missing or fails its checksum.
    ConfigError
        ``device: cuda`` was asked for and CTranslate2 cannot use the GPU.
    """
    path, identity = resolve_model(config.model, models_dir=models_dir)
    device = resolve_ctranslate2_device(config.device)
    if device == "cuda":
        # CTranslate2 dlopens libcublas.so.12 by name: load the pip wheel's (or the shim) first.
        preload_cuda_libraries()
    try:
        return _load(config, path, device, identity)
    except RuntimeError as err:
        # CTranslate2 may see the GPU yet fail to load its CUDA 12 libraries
        # (libcublas.so.12, cuDNN 9) on a machine that ships another CUDA.
        if device != "cuda":
            raise
        reason = first_line(err)
        if config.device == "cuda":
            raise ConfigError(
                f"asr.device cuda: CTranslate2 cannot run on this GPU ({reason}); "
                "install the CUDA 12 libraries it loads (pip install 'speechpipe[gpu]'; "
                "`speechpipe doctor` shows what is missing), or use --device cpu"
            ) from None
        logger.warning("ASR: CTranslate2 cannot use the GPU (%s); falling back to the CPU", reason)
        return _load(config, path, "cpu", identity)


def _load(config: WhisperSettings, path: Path, device: Device, identity: ModelIdentity) -> LoadedWhisper:
    from faster_whisper import BatchedInferencePipeline, WhisperModel  # CTranslate2: only with the model

    compute_type = config.compute_type or ("float16" if device == "cuda" else "int8")
    model = WhisperModel(str(path), device=device, compute_type=compute_type, cpu_threads=config.cpu_threads)
    batched = BatchedInferencePipeline(model) if config.batched else None
    if device == "cuda":
        # CTranslate2 loads cuBLAS at the first matrix product: fail here, not mid-recording.
        segments, _ = model.transcribe(
            np.zeros(SAMPLE_RATE, np.float32), language="en", vad_filter=False, without_timestamps=True
        )
        list(segments)
    return LoadedWhisper(model, batched, device, compute_type, identity)
