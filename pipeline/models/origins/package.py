"""Models inside installed PyPI packages: used in place (``package``) or joined (``package-parts``)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from pipeline.core.errors import ModelError
from pipeline.models.origins.base import ModelEntry
from pipeline.models.origins.files import all_present, file_chunks, write_verified

logger = logging.getLogger(__name__)


class PackageEntry(ModelEntry):
    """Files inside an installed PyPI package, used in place.

    Attributes
    ----------
    package : str
        The pinned requirement, e.g. ``"faster-whisper==1.2.1"``.
    path : str
        The files' folder, from the top of site-packages (``faster_whisper/assets``).
    """

    ORIGIN: ClassVar[str] = "package"

    package: str
    path: str

    @property
    def source(self) -> str:
        return f"pypi:{self.package}/{self.path}"

    @property
    def fix(self) -> str:
        return f"reinstall it: pip install --force-reinstall {self.package}"

    def folder(self, models_dir: Path) -> Path:
        """The folder inside the installed package (``models_dir`` is not used)."""
        return package_path(self, self.path)


class PartsEntry(ModelEntry):
    """Files inside installed PyPI packages, some split into parts, joined once into ``<models_dir>/<name>/``.

    Attributes
    ----------
    packages : list of str
        The pinned requirements that carry the parts.
    parts : dict
        Target file -> its parts in order (paths from the top of site-packages).
    copies : dict
        Target file -> one file copied whole (``copy`` in the registry).
    """

    ORIGIN: ClassVar[str] = "package-parts"

    packages: list[str]
    parts: dict[str, list[str]] = Field(default_factory=dict)
    copies: dict[str, str] = Field(default_factory=dict, alias="copy")

    @property
    def source(self) -> str:
        return "pypi:" + "+".join(self.packages)

    @property
    def fix(self) -> str:
        return (
            f"reinstall: pip install --force-reinstall {' '.join(self.packages)}, "
            f"then: speechpipe models pull {self.name}"
        )

    def ensure_local(self, models_dir: Path, registry: dict[str, ModelEntry]) -> None:
        """Join the parts the first time (seconds); later runs use the joined folder."""
        if not all_present(self.folder(models_dir), self.checksums):
            self.join(models_dir)

    def fetch(self, models_dir: Path, *, registry: dict[str, ModelEntry], token: str | None) -> None:
        """Join the parts again."""
        self.join(models_dir)

    def available(self, models_dir: Path) -> bool:
        """True when the packages are installed: joining needs no network."""
        sources = [p for ps in self.parts.values() for p in ps] + list(self.copies.values())
        try:
            return all(package_path(self, p).is_file() for p in sources)
        except ModelError:
            return False

    def join(self, models_dir: Path) -> Path:
        """Join the split files into ``<models_dir>/<name>/`` and check them.

        Each file is written under a temporary name and renamed into place only after its
        sha256 matches the registry, so concurrent runs and interrupted joins never leave a
        half-written model behind.

        Raises
        ------
        ModelError
            A package is not installed, or a joined file fails its checksum.
        """
        folder = self.folder(models_dir)
        folder.mkdir(parents=True, exist_ok=True)
        sources: dict[str, list[str]] = {
            **{target: list(parts) for target, parts in self.parts.items()},
            **{target: [source] for target, source in self.copies.items()},
        }
        for target, parts in sources.items():
            paths = [package_path(self, part) for part in parts]
            for path in paths:
                if not path.is_file():
                    raise ModelError(f"model {self.name!r}: {path} is missing; {self.fix}")
            write_verified(
                self.name,
                folder / target,
                file_chunks(paths),
                self.checksums.get(target),
                made=f"joined from {', '.join(p.name for p in paths)}",
                fix=self.fix,
            )
        logger.info("model %s: joined into %s", self.name, folder)
        return folder


def package_path(entry: ModelEntry, relpath: str) -> Path:
    """Where ``relpath`` (from the top of site-packages) is in the installed package.

    Raises
    ------
    ModelError
        The package is not installed.
    """
    module = relpath.split("/", 1)[0]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model {entry.name!r}: package {module} is not installed; {entry.fix}")
    return Path(next(iter(spec.submodule_search_locations))).parent / relpath
