"""Plan a batch against the ledger: what is done already, and each recording's own output folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.run.batch.discover import InputItem
from pipeline.run.ledger import Ledger
from pipeline.run.outputs import assign_output_names, usable_output_name


@dataclass(frozen=True)
class Task:
    """One recording to analyse.

    Attributes
    ----------
    item : InputItem
        The recording.
    output_dir : str
        Its output folder's name inside the batch's output folder.
    known_sha256 : str or None
        Content hash of a finished run with the same config whose size or time
        differs from the listing: when the bytes still hash to it, nothing is redone.
    """

    item: InputItem
    output_dir: str
    known_sha256: str | None = None


def plan(
    items: Sequence[InputItem], ledger: Ledger, config_hash: str, out_root: Path
) -> tuple[list[Task], list[InputItem]]:
    """Split ``items`` into tasks to run and recordings already done.

    A recording is done when the ledger holds a ``done`` row for its URI and
    ``config_hash`` with the same size and modification time, and its output
    folder still exists. Rows that are ``failed`` or still ``running`` (a crash)
    are redone.

    Returns
    -------
    tasks, skipped
    """
    owners = ledger.output_owners()
    claimed = {uri: name for name, uri in owners.items()}
    tasks: list[Task] = []
    skipped: list[InputItem] = []
    for item in items:
        entry = ledger.get(item.uri, config_hash)
        if entry is not None and entry.status == "done" and (out_root / entry.output_dir).is_dir():
            if item.mtime is not None and (entry.size, entry.mtime) == (item.size, item.mtime):
                skipped.append(item)
                continue
            tasks.append(Task(item, entry.output_dir, known_sha256=entry.content_sha256))
            continue
        if item.uri in claimed and usable_output_name(claimed[item.uri], out_root):
            # tried before (failed, cut off, or under another config)
            tasks.append(Task(item, claimed[item.uri]))
            continue
        # Same file name from another folder or bucket: both kept, apart and stable.
        (name,) = assign_output_names([item.uri], owners, out_root)
        tasks.append(Task(item, name))
    return tasks, skipped
