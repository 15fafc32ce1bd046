"""Models from a Hugging Face hub repository, fetched by ``speechpipe models pull NAME`` (``hub``).

Nothing is downloaded while a recording is processed. Where the registry pins no
sha256, the digests taken at pull time (each checked against the hub's own LFS
sha256) are written to ``checksums.json`` in the model's folder, and every later
load is checked against them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import ClassVar

from pipeline.core.errors import ModelError
from pipeline.core.locations import REGISTRY_PATH
from pipeline.io.hashing import file_sha256
from pipeline.models.origins.base import MANIFEST, ModelEntry

logger = logging.getLogger(__name__)


class HubEntry(ModelEntry):
    """A hub repository fetched into ``<models_dir>/<name>/``.

    Attributes
    ----------
    repo : str
        ``owner/name`` on the hub.
    files : list of str
        Patterns of the files fetched.
    revision : str or None
        A pinned commit (``None``: the default branch).
    """

    ORIGIN: ClassVar[str] = "hub"

    repo: str
    files: list[str]
    revision: str | None = None

    @property
    def source(self) -> str:
        return f"hub:{self.repo}" + (f"@{self.revision}" if self.revision else "")

    @property
    def fix(self) -> str:
        return f"fetch it: speechpipe models pull {self.name}"

    def fetch(self, models_dir: Path, *, registry: dict[str, ModelEntry], token: str | None) -> None:
        """Download the repository's ``files`` and record their digests (``token``: for gated ones)."""
        from huggingface_hub import HfApi, snapshot_download
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        repo, revision = self.repo, self.revision
        folder = self.folder(models_dir)
        logger.info("model %s: downloading %s into %s", self.name, repo, folder)
        try:
            snapshot_download(
                repo, revision=revision, allow_patterns=self.files, local_dir=folder, token=token
            )
            info = HfApi().model_info(repo, revision=revision, files_metadata=True, token=token)
        except GatedRepoError:
            raise ModelError(
                f"model {self.name!r}: {repo} is gated; accept its conditions at "
                f"https://huggingface.co/{repo} and set HF_TOKEN to a token of that account"
            ) from None
        except RepositoryNotFoundError:
            raise ModelError(
                f"model {self.name!r}: hub repository {repo} not found (or private); fix {REGISTRY_PATH}"
            ) from None
        except Exception as err:  # network stacks raise many types; the user gets one line
            raise ModelError(
                f"model {self.name!r}: download of {repo} failed "
                f"({type(err).__name__}: {scrub_secrets(err, token)}); "
                "check the network (or HF_ENDPOINT, for a mirror) and run it again"
            ) from None
        hub_digests: dict[str, str | None] = {
            s.rfilename: s.lfs["sha256"] if s.lfs else None for s in info.siblings or ()
        }
        self.write_manifest(folder, hub_digests)

    def write_manifest(self, folder: Path, hub_digests: dict[str, str | None]) -> dict[str, str]:
        """Hash the pulled files, check them against the hub's LFS digests, record them.

        Parameters
        ----------
        folder
            Where the files were downloaded.
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
            expected = self.checksums.get(filename) or hub_digests[filename]
            if expected is not None and actual != expected:
                raise ModelError(
                    f"model {self.name!r}: downloaded {path} fails its checksum (sha256 {actual[:12]}…, "
                    f"expected {expected[:12]}…); delete {folder} and pull again"
                )
        if not digests:
            raise ModelError(
                f"model {self.name!r}: nothing was downloaded into {folder}; fix `files` in {REGISTRY_PATH}"
            )
        (folder / MANIFEST).write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return digests


def scrub_secrets(err: BaseException, token: str | None) -> str:
    """First line of ``err``'s message with ``token`` and ``HF_TOKEN`` masked, at most 200 characters."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    for secret in (token, os.environ.get("HF_TOKEN")):
        if secret:
            text = text.replace(secret, "***")
    return text[:200]
