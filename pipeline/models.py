"""The model registry: resolve a model name to verified files on disk.

``models/registry.yaml`` names each model, where its files come from and their
sha256. Resolving a model checks every registered file, so a corrupted or
swapped weight file is caught before it is loaded.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ModelError
from pipeline.hashing import file_sha256
from pipeline.types import ModelIdentity

logger = logging.getLogger(__name__)

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "models" / "registry.yaml"


@dataclass(frozen=True)
class ModelEntry:
    """One registry entry.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"tiny.en"``.
    kind : str
        ``"faster-whisper"``, ``"pyannote-pipeline"``, ...
    origin : str
        ``"package"`` (inside an installed PyPI package).
    spec : dict
        The rest of the entry (package, path, sha256, ...).
    """

    name: str
    kind: str
    origin: str
    spec: dict[str, Any]

    @property
    def checksums(self) -> dict[str, str]:
        """File name -> expected sha256."""
        return dict(self.spec.get("sha256") or {})


def load_registry(path: Path = REGISTRY_PATH) -> dict[str, ModelEntry]:
    """Read the registry YAML into entries keyed by name."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        name: ModelEntry(name=name, kind=spec["kind"], origin=spec["origin"], spec=spec)
        for name, spec in data.items()
    }


def get_entry(name: str, registry: dict[str, ModelEntry] | None = None) -> ModelEntry:
    """The registry entry for ``name``.

    Raises
    ------
    ModelError
        No such model.
    """
    registry = registry if registry is not None else load_registry()
    if name not in registry:
        raise ModelError(f"unknown model {name!r}; `speechpipe models list` shows the registered ones")
    return registry[name]


def model_dir(entry: ModelEntry, models_dir: Path) -> Path:
    """Folder holding the model's files (not verified; see ``resolve_model``)."""
    if entry.origin == "package":
        return _package_path(entry)
    raise ModelError(f"model {entry.name!r}: origin {entry.origin!r} is not supported; fix {REGISTRY_PATH}")


def resolve_model(name: str, *, models_dir: Path) -> tuple[Path, ModelIdentity]:
    """Locate model ``name`` and verify its registered checksums.

    Returns
    -------
    path : Path
        Folder to load the model from.
    identity : ModelIdentity
        Name, origin and the sha256 of its main file, for results.

    Raises
    ------
    ModelError
        Unknown, missing, or a checksum mismatch (names the file and the fix).
    """
    entry = get_entry(name)
    folder = model_dir(entry, models_dir)
    verify_files(entry, folder)
    main_digest = entry.checksums.get("model.bin") or next(iter(entry.checksums.values()), None)
    return folder, ModelIdentity(role="asr" if entry.kind == "faster-whisper" else entry.kind,
                                 name=name, source=_source(entry), sha256=main_digest)


def verify_files(entry: ModelEntry, folder: Path) -> None:
    """Check every registered file of ``entry`` in ``folder``.

    Raises
    ------
    ModelError
        A file is missing or its sha256 differs from the registry.
    """
    for filename, expected in entry.checksums.items():
        path = folder / filename
        if not path.is_file():
            raise ModelError(f"model {entry.name!r}: {path} is missing; {_fix(entry)}")
        actual = file_sha256(path)
        if actual != expected:
            raise ModelError(
                f"model {entry.name!r}: {path} fails its checksum (sha256 {actual[:12]}…, "
                f"expected {expected[:12]}…); {_fix(entry)}"
            )


def _package_path(entry: ModelEntry) -> Path:
    module = entry.spec["path"].split("/", 1)[0]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model {entry.name!r}: package {entry.spec['package']} is not installed; {_fix(entry)}")
    return Path(next(iter(spec.submodule_search_locations))).parent / entry.spec["path"]


def _source(entry: ModelEntry) -> str:
    if entry.origin == "package":
        return f"pypi:{entry.spec['package']}/{entry.spec['path']}"
    return f"{entry.origin}:{entry.spec.get('repo', entry.name)}"


def _fix(entry: ModelEntry) -> str:
    if entry.origin == "package":
        return f"reinstall it: pip install --force-reinstall {entry.spec['package']}"
    return f"fetch it: speechpipe models pull {entry.name}"
