"""Checks on input paths before anything opens them."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from pipeline.core.errors import AudioError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def require_regular_file(path: str | Path) -> os.stat_result:
    """``os.stat`` of ``path`` when it is a regular file (links followed); nothing is opened.

    Opening a FIFO for reading waits for a writer, and a device never ends: both
    are refused here, before any ``open``.

    Raises
    ------
    AudioError
        Missing, unreadable, a symbolic link that loops, a directory, or not a regular
        file (FIFO, socket, device).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file; check the path") from None
    except PermissionError:
        raise AudioError(f"{path}: permission denied; make the file readable") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise AudioError(
                f"{path}: a symbolic link that loops (too many levels of links); point it at an audio file"
            ) from None
        raise AudioError(f"{path}: cannot read ({err.strerror or err}); check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(
            f"{path}: is a directory, not an audio file; give a file (or use `speechpipe batch` for folders)"
        )
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        raise AudioError(f"{path}: not a regular file ({kind}); give an audio file")
    return info
