"""pyannote.audio pipelines by name: a registry pipeline, a local pipeline folder or a hub id.

- a registry pipeline (``community-1``): pulled once into ``models_dir`` by
  ``speechpipe models pull community-1`` and checksummed at every load;
- a local pipeline folder (``config.yaml`` + ``segmentation/`` + ``embedding/`` +
  ``plda/``, as the hub lays it out): air-gapped use, identified by the sha256 of
  all its files;
- a hub id (``pyannote/speaker-diarization-community-1``): downloaded by pyannote at
  load, with the token from the config or ``HF_TOKEN``.

The token is handed to pyannote and nowhere else: it is never logged, never part of
an identity or a result, and scrubbed from any error text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from pipeline.core.errors import ModelError
from pipeline.core.types import ModelIdentity
from pipeline.io.hashing import data_sha256, file_sha256
from pipeline.models.origins.hub import scrub_secrets
from pipeline.models.registry import get_entry, load_registry, resolve_model


class PipelineSettings(Protocol):
    """What loading a pyannote pipeline reads from its settings (``PyannoteConfig``)."""

    @property
    def pipeline(self) -> str:
        """A registry pipeline, a local pipeline folder or a hub id."""

    @property
    def token(self) -> str | None:
        """Hub token for a hub id; ``None``: ``HF_TOKEN``."""


def load_pretrained_pipeline(config: PipelineSettings, *, models_dir: Path) -> tuple[Any, ModelIdentity]:
    """A pyannote ``Pipeline.from_pretrained``: registry name, local folder or hub id.

    Raises
    ------
    ModelError
        The pipeline is missing, fails its checksums, or cannot be loaded.
    """
    from pyannote.audio import Pipeline  # torch and lightning: seconds to import, only with the models

    checkpoint, identity, is_hub = locate_pipeline(config, models_dir=models_dir)
    token = (config.token or os.environ.get("HF_TOKEN")) if is_hub else None
    try:
        pipeline = Pipeline.from_pretrained(checkpoint, token=token)
    except Exception as err:  # pyannote, lightning and the hub raise many types; one line for the user
        raise ModelError(
            f"pyannote pipeline {identity.name!r} could not be loaded "
            f"({type(err).__name__}: {scrub_secrets(err, token)}); {_advice(identity, is_hub)}"
        ) from None
    if pipeline is None:  # pyannote answers None when the hub refuses the download
        raise ModelError(
            f"pyannote pipeline {identity.name!r} could not be downloaded; {_advice(identity, is_hub)}"
        )
    return pipeline, identity


def locate_pipeline(config: PipelineSettings, *, models_dir: Path) -> tuple[str, ModelIdentity, bool]:
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


def _advice(identity: ModelIdentity, is_hub: bool) -> str:
    """What to do when the pipeline cannot be loaded (a registry pipeline: its entry's ``fix``)."""
    if is_hub:
        return (
            f"accept the conditions of https://huggingface.co/{identity.name}, set HF_TOKEN and check "
            "the network, or pull it once: speechpipe models pull community-1"
        )
    if identity.source.startswith("local:"):
        return "check the folder: config.yaml, segmentation/, embedding/ and plda/ as on the hub"
    return get_entry(identity.name).fix
