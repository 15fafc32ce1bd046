"""One batch at a time per output folder: an advisory lock on ``OUT/ledger.lock``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.core.errors import OutputError


@contextmanager
def one_batch_at_a_time(out_root: Path) -> Iterator[None]:
    """Hold ``OUT/ledger.lock`` (an advisory ``flock``, released by the kernel even on SIGKILL).

    Raises
    ------
    OutputError
        Another batch holds it: two batches on one output folder would both redo all the work.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one batch per folder is then up to the user
        yield
        return
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        handle = open(out_root / "ledger.lock", "a")  # noqa: SIM115 (closed below, after the batch)
    except OSError as err:
        raise OutputError(
            f"{out_root}: cannot create the output folder ({err.strerror}); choose another --output"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"{out_root}: another speechpipe batch is writing to this folder; "
                "wait for it to finish or choose another --output"
            ) from None
        yield
