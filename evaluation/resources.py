"""Run one measurement in its own child process and report its peak memory.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is a high-water mark for the whole life
of a process, so each measurement gets a fresh process and its numbers never mix.
The children are forked from a ``forkserver`` started while this process is still
small: on Linux a process started with ``exec`` inherits its parent's high-water
mark (checked here: a spawned child of a 500 MB parent reports 500 MB), a child of
the small fork server does not. ``floor_mb`` measures an empty child, the least any
measurement can report.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Measured(Generic[T]):
    """What a child returned, with its cost.

    Attributes
    ----------
    value
        The function's return value.
    peak_rss_mb : float
        The child's peak resident set size, MiB (``ru_maxrss``).
    wall_seconds : float
        Wall-clock seconds of the call inside the child (process start excluded).
    cpu_seconds : float
        User + system CPU seconds of the child, all threads. On a shared machine it
        moves far less with other people's load than wall time does.
    """

    value: T
    peak_rss_mb: float
    wall_seconds: float
    cpu_seconds: float


def start_fork_server() -> None:
    """Start the fork server now, while the caller is small (see the module docstring)."""
    from multiprocessing import forkserver

    forkserver.ensure_running()


def measure(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Measured[T]:
    """Call ``fn(*args, **kwargs)`` in a fresh child process.

    ``fn`` and its arguments must be picklable (a module-level function).
    Exceptions raised by ``fn`` are re-raised here.
    """
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        value, peak, wall, cpu = pool.submit(_call, fn, args, kwargs).result()
    return Measured(value, peak, wall, cpu)


def floor_mb() -> float:
    """Peak RSS of a child that does nothing, MiB."""
    return measure(_nothing).peak_rss_mb


def _nothing() -> None:
    return None


def _call(fn: Callable[..., T], args: tuple, kwargs: dict) -> tuple[T, float, float, float]:
    began = time.perf_counter()
    value = fn(*args, **kwargs)
    wall = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return value, peak_rss_mb(), wall, usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak RSS so far, MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
