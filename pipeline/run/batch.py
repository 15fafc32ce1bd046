"""Many recordings through the runner: find the inputs, plan against the ledger, run, record.

A batch is four steps, each a function here:

1. ``discover_inputs`` lists files, folders (recursive, by audio extension), globs
   and fsspec URLs (``s3://``, ``gs://``, ``memory://``...) and a CSV manifest;
2. ``plan`` drops what the ledger says is done with the same bytes and config,
   and gives every recording an output folder that no other recording owns;
3. an executor analyses each planned recording with the run's ``RunOptions`` —
   ``LocalExecutor`` here, one process with the models loaded once
   (``pipeline.run.runner.Runner``); ``pipeline.run.ray_executor.RayExecutor`` on a
   Ray cluster — and never stops on a failed recording;
4. the ``Recorder`` (always in the driver process) writes each recording's
   outputs (``pipeline.run.outputs.write_outputs``, as ``speechpipe run`` does) and
   its ledger row.

Crash safety comes from the order of those writes: the ledger says ``running``
before work starts and ``done`` only after every output file is in place, and the
runner's stage cache keeps each finished stage, so a run killed at any point
redoes at most the stages that were in flight.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

import fsspec
from fsspec.implementations.local import LocalFileSystem

from pipeline.core.errors import AudioError, ConfigError, OutputError, PipelineError, StageError, one_line
from pipeline.core.types import RecordingResult
from pipeline.io.hashing import file_sha256
from pipeline.run.cache import StageCache
from pipeline.run.ledger import Ledger, utc_now
from pipeline.run.options import RunOptions
from pipeline.run.outputs import assign_output_names, check_output_folder, usable_output_name, write_outputs
from pipeline.run.progress import ProgressMode, ProgressReporter, progress_reporter
from pipeline.run.runner import Runner, config_sha256

logger = logging.getLogger(__name__)

Processor = Callable[[Path, ProgressReporter], RecordingResult]
"""``process(local_path, progress) -> result``: one recording through every stage."""

Executor = Callable[[Sequence["Task"], "Recorder"], None]
"""``execute(tasks, recorder)``: analyse every task, handing each outcome to the recorder."""


# -- 1. inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InputItem:
    """One recording found by ``discover_inputs``.

    Attributes
    ----------
    uri : str
        Absolute local path, or an fsspec URL with its protocol (``s3://b/k.wav``).
    size : int or None
        Bytes, as listed.
    mtime : float or None
        Last modification, seconds since the epoch (UTC); None when the store has none.
    """

    uri: str
    size: int | None
    mtime: float | None

    @property
    def name(self) -> str:
        """File name, e.g. ``call.wav``."""
        return PurePosixPath(self.uri).name

    @property
    def is_local(self) -> bool:
        """True when ``uri`` is a path on this machine."""
        return "://" not in self.uri


def discover_inputs(
    specs: Sequence[str], *, manifest: Path | None = None, extensions: Sequence[str]
) -> list[InputItem]:
    """Every recording named by ``specs`` and the manifest, in order, without repeats.

    Parameters
    ----------
    specs
        Local paths or fsspec URLs of files, folders or globs. A file is taken
        whatever its extension; a folder is searched recursively for files whose
        extension is in ``extensions``.
    manifest
        CSV file with a ``path`` column (other columns are ignored); relative
        paths are relative to the manifest's folder.
    extensions
        Lower-case extensions without the dot, e.g. ``("wav", "flac")``.

    Raises
    ------
    ConfigError
        A path or URL does not exist, a protocol is unknown, or the manifest is unusable.
    """
    all_specs = list(specs) + (read_manifest(manifest) if manifest is not None else [])
    wanted = {f".{ext.lower().lstrip('.')}" for ext in extensions}
    found: dict[str, InputItem] = {}
    for spec in all_specs:
        items = _expand(spec, wanted)
        if not items:
            logger.warning("%s: no audio files (extensions: %s)", spec, ", ".join(sorted(wanted)))
        for item in items:
            found.setdefault(item.uri, item)
    return list(found.values())


def read_manifest(path: Path) -> list[str]:
    """The ``path`` column of a CSV manifest, relative entries resolved against its folder.

    Raises
    ------
    ConfigError
        The file is missing, unreadable, or has no ``path`` column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"{path}: cannot read the manifest ({err}); give a UTF-8 CSV file") from None
    if "path" not in columns:
        raise ConfigError(f"{path}: the manifest needs a header line with a 'path' column, one path per row")
    entries = []
    for row in rows:
        value = next((v for k, v in row.items() if k and k.strip().lower() == "path"), None)
        if value and value.strip():
            entries.append(_relative_to(value.strip(), path.parent))
    return entries


def _relative_to(entry: str, folder: Path) -> str:
    if "://" in entry or Path(entry).is_absolute():
        return entry
    return str(folder / entry)


def _expand(spec: str, wanted: set[str]) -> list[InputItem]:
    try:
        fs, path = fsspec.core.url_to_fs(spec)
    except (ValueError, ImportError) as err:
        raise ConfigError(f"{spec}: cannot open ({err}); check the URL, install its backend") from None
    try:
        # A name is taken literally when something has it ("call [1].wav"); it is a
        # glob only when it has glob characters and names nothing.
        if any(char in path for char in "*?[") and not fs.exists(path):
            listing = {p: fs.info(p) for p in fs.glob(path)}
            listing = {p: info for p, info in listing.items() if info["type"] == "file"}
        elif fs.isdir(path):
            listing = fs.find(path, detail=True)
            listing = {p: i for p, i in listing.items() if PurePosixPath(p).suffix.lower() in wanted}
        elif fs.isfile(path) or fs.exists(path):  # a FIFO or device too: the decoder refuses it, alone
            listing = {path: fs.info(path)}
        else:
            raise ConfigError(f"{spec}: no such file or folder; check the path or URL")
    except (OSError, PermissionError) as err:
        raise ConfigError(f"{spec}: cannot list ({err}); check the path and your credentials") from None
    local = isinstance(fs, LocalFileSystem)
    return [
        InputItem(
            uri=str(Path(p).resolve()) if local else fs.unstrip_protocol(p),
            size=info.get("size"),
            mtime=_modified(info),
        )
        for p, info in sorted(listing.items())
    ]


def _modified(info: dict[str, Any]) -> float | None:
    # Each store names it differently: local/sftp "mtime", s3 "LastModified",
    # azure "last_modified", gcs "updated", memory "created".
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp() if value.tzinfo else value.replace(tzinfo=UTC).timestamp()
        if isinstance(value, str):
            try:
                return _modified({key: datetime.fromisoformat(value.replace("Z", "+00:00"))})
            except ValueError:
                continue
    return None


# -- --since -----------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, *, now: datetime, last_run: datetime | None) -> datetime | None:
    """The time ``--since`` means; None takes everything.

    Parameters
    ----------
    text
        ``last`` (start of the previous finished batch run in this output folder),
        a duration back from ``now`` (``90m``, ``36h``, ``7d``, ``2w``), or an ISO 8601
        date or time (``2024-05-01``, ``2024-05-01T06:00``; UTC unless it has an offset).
    now
        Current time (aware, UTC).
    last_run
        Start of the previous finished run, from the ledger.

    Raises
    ------
    ConfigError
        ``text`` is none of these.
    """
    text = text.strip()
    if text == "last":
        return last_run
    if match := _DURATION.match(text):
        try:
            return now - timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
        except OverflowError:
            return None  # further back than any date: everything
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: give 'last', a duration like 36h or 7d, or a date like 2024-05-01"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def select_since(items: Sequence[InputItem], since: datetime) -> list[InputItem]:
    """Items modified at or after ``since``; items with no known time are kept (the ledger decides)."""
    cutoff = since.timestamp()
    return [item for item in items if item.mtime is None or item.mtime >= cutoff]


# -- 2. plan -----------------------------------------------------------------------------


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


# -- 3. analyse (runs in the executor: this process or a Ray worker) ----------------------


@dataclass(frozen=True)
class Outcome:
    """What analysing one task produced.

    Attributes
    ----------
    status : {"done", "unchanged", "failed"}
        ``unchanged``: the bytes hash to the task's ``known_sha256``; nothing was run.
    content_sha256 : str or None
        Hash of the recording's bytes, when they were read.
    result : RecordingResult or None
        The analysis (``done`` only); ``source`` is the recording's URI.
    error : str or None
        One-line reason (``failed`` only).
    exit_code : int or None
        The exit code the error maps to (``failed`` only).
    seconds : float
        Wall time spent, seconds.
    worker : str or None
        The Ray node id it ran on; None with the local executor.
    """

    status: Literal["done", "unchanged", "failed"]
    content_sha256: str | None = None
    result: RecordingResult | None = None
    error: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    worker: str | None = None


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


def describe_failure(err: Exception, uri: str) -> tuple[str, int]:
    """The one-line error and exit code a recording's failure is recorded with (never a traceback).

    Our own errors keep their message and code; a file that cannot be read (gone,
    permissions) is bad input (2); anything else is a bug: exit 4, its traceback
    logged at debug level only (``--debug`` / ``-v`` with JSON logs).
    """
    if isinstance(err, PipelineError):
        return one_line(str(err)), err.exit_code
    if isinstance(err, OSError):
        reason = err.strerror or type(err).__name__
        return one_line(f"{uri}: cannot read ({reason}); check that the file is still there and readable"), 2
    logger.debug("%s: unexpected error", uri, exc_info=err)
    message = f"{uri}: internal error: {type(err).__name__}: {err}; please report it (rerun with --debug)"
    return one_line(message), StageError.exit_code


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


# -- 4. record (always in the driver process) --------------------------------------------


@dataclass(frozen=True)
class RecordingRow:
    """One line of the batch summary.

    Attributes
    ----------
    uri : str
        The recording.
    status : {"done", "skipped", "failed"}
        ``skipped``: done by an earlier run with the same bytes and config.
    output_dir : str or None
        Output folder (relative to the batch output folder).
    duration : float or None
        Recording length, seconds (``done`` only).
    speakers : int or None
        Speakers found (``done`` only).
    seconds : float
        Wall time spent on it in this run, seconds.
    error : str or None
        Why it failed.
    worker : str or None
        The Ray node id it ran on in this run; None with the local executor or when skipped.
    """

    uri: str
    status: Literal["done", "skipped", "failed"]
    output_dir: str | None = None
    duration: float | None = None
    speakers: int | None = None
    seconds: float = 0.0
    error: str | None = None
    worker: str | None = None


class Recorder:
    """Writes each outcome's outputs and ledger row; collects the summary rows.

    Parameters
    ----------
    ledger
        The output folder's ledger.
    out_root
        The batch output folder.
    formats
        The output files each recording gets (``output.formats``).
    config_hash
        ``config_sha256(options)``.
    run_id
        This batch run.
    """

    def __init__(
        self, ledger: Ledger, out_root: Path, formats: tuple[str, ...], config_hash: str, run_id: str
    ) -> None:
        self.ledger = ledger
        self.out_root = out_root
        self.formats = formats
        self.config_hash = config_hash
        self.run_id = run_id
        self.rows: list[RecordingRow] = []

    def skipped(self, item: InputItem) -> None:
        """``item`` is done from an earlier run."""
        entry = self.ledger.get(item.uri, self.config_hash)
        self.rows.append(RecordingRow(item.uri, "skipped", entry.output_dir if entry else None))

    def started(self, task: Task, *, worker: str | None = None) -> None:
        """Work on ``task`` begins on Ray node ``worker`` (before any of its outputs are written)."""
        item = task.item
        self.ledger.mark_running(
            item.uri,
            self.config_hash,
            size=item.size,
            mtime=item.mtime,
            output_dir=task.output_dir,
            run_id=self.run_id,
            worker=worker,
        )
        logger.info("%s: started", item.uri, extra={"event": "recording_started", "uri": item.uri})

    def finished(self, task: Task, outcome: Outcome) -> RecordingRow:
        """Write the outputs of a ``done`` outcome, then its ledger row; return its summary row."""
        uri, item = task.item.uri, task.item
        if outcome.status == "done" and outcome.result is not None:
            try:
                write_outputs(outcome.result, self.out_root / task.output_dir, self.formats)
            except Exception as err:  # one recording's outputs never stop the batch
                error, exit_code = describe_failure(err, task.item.uri)
                outcome = dataclasses.replace(outcome, status="failed", error=error, exit_code=exit_code)
        if outcome.status == "done" and outcome.result is not None:
            result = outcome.result
            self.ledger.mark_done(
                uri,
                self.config_hash,
                content_sha256=result.content_sha256,
                timings=result.timings,
                models=result.models,
                worker=outcome.worker,
            )
            row = RecordingRow(
                uri,
                "done",
                task.output_dir,
                result.duration,
                len(result.speakers),
                outcome.seconds,
                worker=outcome.worker,
            )
        elif outcome.status == "unchanged":
            self.ledger.mark_unchanged(uri, self.config_hash, size=item.size, mtime=item.mtime)
            row = RecordingRow(uri, "skipped", task.output_dir, seconds=outcome.seconds)
        else:
            self.ledger.mark_failed(
                uri,
                self.config_hash,
                error=outcome.error or "unknown error",
                exit_code=outcome.exit_code or StageError.exit_code,
                content_sha256=outcome.content_sha256,
                worker=outcome.worker,
            )
            row = RecordingRow(
                uri,
                "failed",
                task.output_dir,
                seconds=outcome.seconds,
                error=outcome.error,
                worker=outcome.worker,
            )
        log = logger.warning if row.status == "failed" else logger.info
        log(
            "%s: %s%s",
            uri,
            row.status,
            f" ({row.error})" if row.error else "",
            extra={"event": "recording_finished", **dataclasses.asdict(row)},
        )
        self.rows.append(row)
        return row


# -- the whole batch ---------------------------------------------------------------------


@dataclass(frozen=True)
class BatchReport:
    """What a batch run did.

    Attributes
    ----------
    run_id : str
        This run's id in the ledger.
    rows : tuple of RecordingRow
        One per recording, in input order.
    seconds : float
        Wall time of the whole run, seconds.
    """

    run_id: str
    rows: tuple[RecordingRow, ...]
    seconds: float

    def count(self, status: str) -> int:
        """How many recordings ended with ``status``."""
        return sum(row.status == status for row in self.rows)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else 1 (see ``pipeline.core.errors``)."""
        return 1 if self.count("failed") else 0


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


class ExecutorFactory(Protocol):
    """Builds the executor once the output folder (hence the cache) is known."""

    def __call__(self, options: RunOptions, cache_root: Path) -> Executor: ...


def run_batch(
    specs: Sequence[str],
    options: RunOptions,
    out_root: Path,
    *,
    manifest: Path | None = None,
    since: str | None = None,
    executor: ExecutorFactory = LocalExecutor,
) -> BatchReport:
    """Analyse every recording ``specs`` and ``manifest`` name that the ledger does not hold as done.

    Parameters
    ----------
    specs, manifest
        Inputs, as for ``discover_inputs``.
    options
        The run's config and speaker naming (the same for every recording).
    out_root
        Output folder: ``<out_root>/<recording>/`` per recording, ``ledger.sqlite``
        and the stage cache (unless ``config.cache_dir`` is set).
    since
        Take only recordings modified since then (see ``parse_since``).
    executor
        ``LocalExecutor`` or ``RayExecutor`` (or a factory built from one).

    Raises
    ------
    ConfigError
        An input does not exist or ``since`` is malformed (exit code 2).
    ModelError
        The models cannot be loaded (exit code 3).
    OutputError
        The output folder or its ledger cannot be written (exit code 5).
    """
    began = time.perf_counter()
    # The run starts before listing, so a file that lands while we list is taken by
    # the next `--since last` run rather than by neither.
    started_at = utc_now()
    run_id = f"{started_at[:19].replace(':', '')}-{uuid.uuid4().hex[:8]}"
    config = options.config
    config_hash = config_sha256(options)
    check_output_folder(out_root)
    check_output_folder(config.cache_dir or out_root / ".cache", what="cache_dir")
    with one_batch_at_a_time(out_root), Ledger.in_folder(out_root) as ledger:
        items = discover_inputs(specs, manifest=manifest, extensions=config.batch.extensions)
        if since is not None:
            cutoff = parse_since(since, now=datetime.now(UTC), last_run=ledger.last_run_start())
            if cutoff is not None:
                items = select_since(items, cutoff)
                logger.info("--since %s: %d recordings modified since %s", since, len(items), cutoff)
        tasks, skipped = plan(items, ledger, config_hash, out_root)
        logger.info(
            "%d recordings: %d to analyse, %d already done",
            len(items),
            len(tasks),
            len(skipped),
            extra={
                "event": "batch_planned",
                "run_id": run_id,
                "to_analyse": len(tasks),
                "skipped": len(skipped),
            },
        )
        ledger.start_run(run_id, config_hash, config.batch.executor, started_at=started_at)
        recorder = Recorder(ledger, out_root, options.formats, config_hash, run_id)
        for item in skipped:
            recorder.skipped(item)
        executor(options, config.cache_dir or out_root / ".cache")(tasks, recorder)
        order = {item.uri: i for i, item in enumerate(items)}
        rows = tuple(sorted(recorder.rows, key=lambda row: order[row.uri]))
        report = BatchReport(run_id, rows, time.perf_counter() - began)
        ledger.finish_run(
            run_id, done=report.count("done"), failed=report.count("failed"), skipped=report.count("skipped")
        )
    logger.info(
        "batch finished: %d done, %d skipped, %d failed in %.1f s",
        report.count("done"),
        report.count("skipped"),
        report.count("failed"),
        report.seconds,
        extra={
            "event": "batch_finished",
            "run_id": run_id,
            "done": report.count("done"),
            "skipped": report.count("skipped"),
            "failed": report.count("failed"),
        },
    )
    return report
