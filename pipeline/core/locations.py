"""Where speechpipe finds the files it ships and keeps its models: in a checkout or installed.

The default configs (``configs/*.yaml``) and the model registry (``models/registry.yaml``)
are kept at the top of the repository. A wheel carries copies of them inside the
package, under ``pipeline/_data/`` (``setup.py`` copies them at build time), so an
installed ``speechpipe`` finds them from any directory; run from a checkout, the
top-level files themselves are read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The ``pipeline`` package folder."""
PACKAGED_DATA = PACKAGE_DIR / "_data"
"""Copies of the configs and the registry inside an installed package (absent in a checkout)."""
CHECKOUT = PACKAGE_DIR.parent
"""The repository root, when the package runs from a checkout."""

MODELS_DIR_ENV = "SPEECHPIPE_MODELS_DIR"
"""Environment variable naming the models folder (wins over the default, not over a config's)."""


def _shipped(packaged: str, in_checkout: str) -> Path:
    copy = PACKAGED_DATA / packaged
    return copy if copy.exists() else CHECKOUT / in_checkout


CONFIGS_DIR = _shipped("configs", "configs")
"""The named configs: ``default.yaml``, ``gpu.yaml``, ``cloud.yaml``."""
REGISTRY_PATH = _shipped("registry.yaml", "models/registry.yaml")
"""The model registry."""


def running_from_checkout() -> bool:
    """True when the package is the one in a repository checkout (not an installed wheel)."""
    return not PACKAGED_DATA.exists() and (CHECKOUT / "models" / "registry.yaml").is_file()


def user_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CACHE_HOME/speechpipe`` (default ``~/.cache/speechpipe``)."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "speechpipe"


def default_models_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The models folder when the config names none.

    ``$SPEECHPIPE_MODELS_DIR`` when set; else the checkout's ``models/`` when run from a
    checkout (beside the registry, where ``make`` pulls them); else
    ``user_cache_dir() / "models"``. Never relative to the working directory.
    """
    if environ.get(MODELS_DIR_ENV):
        return Path(environ[MODELS_DIR_ENV]).expanduser()
    if running_from_checkout():
        return CHECKOUT / "models"
    return user_cache_dir(environ) / "models"
