"""The heap limits: harmless everywhere, active on glibc."""

from __future__ import annotations

import platform

from pipeline.core.heap import _glibc, limit_arenas, release_free_memory


def test_limits_apply_on_glibc_and_never_raise() -> None:
    limit_arenas()
    release_free_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert _glibc() is not None
