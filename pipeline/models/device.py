"""Pick the compute device, and survive a GPU running out of memory.

``auto`` means CUDA when the library sees a GPU. Asking for ``cuda`` where the
library sees none is a configuration error, said at once rather than deep inside
a model library.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Literal, TypeVar

from pipeline.core.errors import ConfigError

logger = logging.getLogger(__name__)

Device = Literal["cpu", "cuda"]
T = TypeVar("T")


def resolve_torch_device(requested: str) -> Device:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``.

    Raises
    ------
    ConfigError
        ``cuda`` was asked for and torch sees no GPU.
    """
    if requested == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    return _pick(requested, available, "torch (pyannote)")


def resolve_ctranslate2_device(requested: str) -> Device:
    """``auto`` -> ``cuda`` when CTranslate2 (faster-whisper's engine) sees a GPU.

    Raises
    ------
    ConfigError
        ``cuda`` was asked for and CTranslate2 sees no GPU.
    """
    if requested == "cpu":
        return "cpu"
    import ctranslate2

    available = ctranslate2.get_cuda_device_count() > 0
    return _pick(requested, available, "CTranslate2 (faster-whisper)")


def _pick(requested: str, cuda_available: bool, library: str) -> Device:
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    if requested != "cuda":
        raise ConfigError(f"device {requested!r}: use auto, cpu or cuda")
    if not cuda_available:
        raise ConfigError(f"device cuda: {library} sees no CUDA GPU; use --device cpu (or auto)")
    return "cuda"


def is_out_of_memory(err: BaseException) -> bool:
    """True when ``err`` is a GPU out-of-memory error from torch or CTranslate2.

    torch raises ``torch.cuda.OutOfMemoryError`` ("CUDA out of memory"); CTranslate2
    raises a plain ``RuntimeError`` ("CUDA failed with error out of memory").
    """
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def run_halving_batch(
    work: Callable[[int], T],
    batch_size: int,
    *,
    what: str,
    on_retry: Callable[[], None] | None = None,
) -> tuple[T, int]:
    """Run ``work(batch_size)``; on GPU out-of-memory, halve the batch and run it again.

    Parameters
    ----------
    work
        Does the whole job at the given batch size (it must be safe to start over).
    batch_size
        First batch size to try, >= 1.
    what
        Names the job in the warning logged at each retry.
    on_retry
        Called before each retry, e.g. to drop partial results.

    Returns
    -------
    result
        What ``work`` returned.
    batch_size : int
        The batch size that worked (keep it for the next call: memory stays as tight).

    Raises
    ------
    RuntimeError
        Out of memory even at batch size 1, or any other error from ``work``.
    """
    while True:
        try:
            return work(batch_size), batch_size
        except RuntimeError as err:
            if not is_out_of_memory(err) or batch_size == 1:
                raise
            smaller = max(1, batch_size // 2)
            logger.warning(
                "%s: GPU out of memory at batch size %d; retrying at %d", what, batch_size, smaller
            )
            batch_size = smaller
            _release_cached_gpu_memory()
            if on_retry is not None:
                on_retry()


def _release_cached_gpu_memory() -> None:
    # Only when torch is already loaded: importing it here would cost seconds for nothing.
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
