"""The stage cache: hits, misses, keys, and damaged entries."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.types import Region
from pipeline.run.cache import StageCache


def test_hit_returns_the_stored_value_without_computing(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    parts = {"content_sha256": "ab" * 32, "config": {"strip": "music"}}
    calls: list[int] = []

    def compute() -> tuple[Region, ...]:
        calls.append(1)
        return (Region(0.0, 10.0, "loop", 2.5, 4.0, 0.9),)

    first = cache.get_or_compute("music", parts, tuple[Region, ...], compute)
    second = cache.get_or_compute("music", parts, tuple[Region, ...], compute)
    assert first == second == (Region(0.0, 10.0, "loop", 2.5, 4.0, 0.9),)
    assert calls == [1]


def test_a_changed_config_is_a_miss(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    key = {"content_sha256": "cd" * 32}
    cache.get_or_compute("music", {**key, "config": 1}, tuple[Region, ...], lambda: ())
    again = cache.get_or_compute("music", {**key, "config": 2}, tuple[Region, ...], lambda: (Region(1, 2),))
    assert again == (Region(1, 2),)


def test_damaged_entry_is_recomputed(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    parts = {"content_sha256": "ef" * 32}
    cache.get_or_compute("music", parts, tuple[Region, ...], lambda: ())
    entry = next(tmp_path.rglob("music-*.json"))
    entry.write_text("{not json")
    assert cache.get_or_compute("music", parts, tuple[Region, ...], lambda: (Region(3, 4),)) == (
        Region(3, 4),
    )


def test_disabled_cache_always_computes() -> None:
    assert StageCache(None).get_or_compute("x", {"content_sha256": "0"}, int, lambda: 7) == 7
