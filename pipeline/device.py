"""Pick the compute device: ``auto`` means CUDA when the library sees a GPU."""

from __future__ import annotations

from typing import Literal

Device = Literal["cpu", "cuda"]


def resolve_torch_device(requested: str) -> Device:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``."""
    if requested != "auto":
        return requested  # type: ignore[return-value]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_ctranslate2_device(requested: str) -> Device:
    """``auto`` -> ``cuda`` when CTranslate2 (faster-whisper's engine) sees a GPU."""
    if requested != "auto":
        return requested  # type: ignore[return-value]
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
