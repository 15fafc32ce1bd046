"""Analyse planned recordings: the processor (models loaded once), one task, the local executor.

The functions here run in the executor: this process or a Ray worker.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import fsspec

from pipeline.core.errors import AudioError
from pipeline.core.types import RecordingResult
from pipeline.io.hashing import file_sha256
from pipeline.run.batch.discover import InputItem
from pipeline.run.batch.plan import Task
from pipeline.run.batch.record import Outcome, Recorder, describe_failure
from pipeline.run.cache import StageCache
from pipeline.run.options import RunOptions
from pipeline.run.progress import ProgressMode, ProgressReporter, progress_reporter
from pipeline.run.runner import Runner

Processor = Callable[[Path, ProgressReporter], RecordingResult]
"""``process(local_path, progress) -> result``: one recording through every stage."""

Executor = Callable[[Sequence[Task], Recorder], None]
"""``execute(tasks, recorder)``: analyse every task, handing each outcome to the recorder."""


def load_processor(options: RunOptions, cache_root: Path, *, cpu_threads: int | None = None) -> Processor:
    """Load the models once; return a function that analyses one recording with them.

    ``cpu_threads``: threads every model computes with (see ``Runner``).

    Raises
    ------
    ModelError
        A model is missing or fails its checksum.
    """
    runner = Runner(options, cpu_threads=cpu_threads)
    cache = StageCache(cache_root)

    def process(path: Path, progress: ProgressReporter) -> RecordingResult:
        return runner.analyse(path, cache=cache, progress=progress)

    return process


def analyse(task: Task, process: Processor, progress: ProgressReporter) -> Outcome:
    """Fetch, hash and analyse one recording; every failure becomes a ``failed`` outcome."""
    began = time.perf_counter()
    content_sha256 = None
    try:
        with local_copy(task.item) as path:
            if task.known_sha256 is not None:
                content_sha256 = file_sha256(path)
                if content_sha256 == task.known_sha256:
                    return Outcome("unchanged", content_sha256, seconds=time.perf_counter() - began)
            result = dataclasses.replace(process(path, progress), source=task.item.uri)
        return Outcome("done", result.content_sha256, result, seconds=time.perf_counter() - began)
    except Exception as err:  # one broken recording must not stop the batch
        error, exit_code = describe_failure(err, task.item.uri)
    seconds = time.perf_counter() - began
    return Outcome("failed", content_sha256, error=error, exit_code=exit_code, seconds=seconds)


@contextmanager
def local_copy(item: InputItem) -> Iterator[Path]:
    """A path on this machine holding ``item``'s bytes (a temporary download for URLs).

    Raises
    ------
    AudioError
        The recording cannot be read from its store.
    """
    if item.is_local:
        yield Path(item.uri)
        return
    with tempfile.TemporaryDirectory(prefix="speechpipe-") as folder:
        # Keep the file name: the decoder guesses the container from its extension.
        path = Path(folder) / item.name
        try:
            fs, remote = fsspec.core.url_to_fs(item.uri)
            fs.get_file(remote, str(path))
        except OSError as err:
            raise AudioError(f"{item.uri}: cannot download ({err}); check the URL and credentials") from None
        yield path


class LocalExecutor:
    """Runs tasks one after another in this process, with the models loaded once.

    Parameters
    ----------
    options
        The batch's config and speaker naming.
    cache_root
        Stage cache folder.
    progress
        How each stage's progress is shown: bars on stderr, log events, or not at all.
    make_processor
        Loads the models; tests pass a fake.
    """

    def __init__(
        self,
        options: RunOptions,
        cache_root: Path,
        *,
        progress: ProgressMode = "off",
        make_processor: Callable[[RunOptions, Path], Processor] = load_processor,
    ) -> None:
        self.options = options
        self.cache_root = cache_root
        self.progress = progress
        self.make_processor = make_processor

    def __call__(self, tasks: Sequence[Task], recorder: Recorder) -> None:
        """Analyse every task; a failed recording is recorded and the next one starts."""
        if not tasks:
            return  # nothing to do: do not spend seconds loading models
        process = self.make_processor(self.options, self.cache_root)
        for task in tasks:
            recorder.started(task)
            recorder.finished(task, analyse(task, process, progress_reporter(self.progress, task.item.name)))
