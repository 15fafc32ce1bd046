"""Stage results cached on disk by content hash.

A stage's key hashes the recording's bytes, the stage's config and the models
it ran, so a rerun after a crash (or with an unchanged config) reuses every
finished stage, and any change recomputes only what it affects. Entries are
written atomically: a crash leaves either a whole entry or none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pipeline.core.serialize import from_jsonable, to_jsonable
from pipeline.io.atomic import atomic_write_text
from pipeline.io.hashing import data_sha256

logger = logging.getLogger(__name__)

T = TypeVar("T")


def stage_cache_root(cache_dir: Path | None, out_root: Path) -> Path:
    """The stage cache folder: the config's ``cache_dir`` when set, else ``<out_root>/.cache``."""
    return cache_dir or out_root / ".cache"


class StageCache:
    """JSON files ``<root>/<content sha256>/<stage>-<key>.json``; ``root=None`` disables caching."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def get_or_compute(self, stage: str, parts: dict[str, Any], tp: Any, compute: Callable[[], T]) -> T:
        """Return the cached value of ``stage`` for ``parts``, computing and storing it on a miss.

        Parameters
        ----------
        stage
            Stage name, e.g. ``"asr"``.
        parts
            Everything the result depends on; must include ``"content_sha256"``.
        tp
            Type of the value, to rebuild it from JSON.
        compute
            Produces the value on a miss.
        """
        if self.root is None:
            return compute()
        path = self.root / parts["content_sha256"] / f"{stage}-{data_sha256(parts)[:16]}.json"
        if path.is_file():
            try:
                value = from_jsonable(tp, json.loads(path.read_text(encoding="utf-8")))
                logger.info("%s: reused cached result %s", stage, path.name)
                return value
            except (ValueError, TypeError, KeyError) as err:
                logger.warning("%s: ignoring unreadable cache entry %s (%s)", stage, path, err)
        value = compute()
        atomic_write_text(path, json.dumps(to_jsonable(value)))
        return value
