"""Run a batch on Ray: one task per recording, models loaded once per worker.

Each worker is a Ray actor that loads the models when it starts and then
analyses one recording per call (``pipeline.run.batch.execute.analyse``), so a model loads
once per worker, not once per recording (a Ray *function* with GPUs would be
restarted after every call). The driver keeps every worker busy with one call
at a time, and writes every output and ledger row itself as results come back:
workers need to read the inputs and share the stage cache, but never the output
folder or the ledger, and the ledger semantics are the local executor's.

``ray_address`` (``--ray-address``) joins an existing cluster (``HOST:PORT``,
``auto``, or ``ray://HOST:10001`` through Ray Client; see ``ray_cluster.join``);
without it Ray starts on this machine. A cluster with no node that can host one
worker is refused before any actor starts. Workers start without blocking each
other; a worker that dies (its node lost, out of memory) hands its recording to
another worker once (``MAX_TRIES``) and is replaced where the alive nodes have
room; each outcome names the Ray node it ran on (the ledger's ``worker``).
On this machine the workers share the driver's working directory; on a cluster,
inputs must be URLs or paths every node can read, ``models_dir`` a path valid on
the workers (the container image's), and ``cache_dir`` a folder they share for
crash-resume to reuse finished stages.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.errors import PipelineError, StageError, first_line
from pipeline.run.batch.execute import analyse, load_processor
from pipeline.run.batch.plan import Task
from pipeline.run.batch.record import Outcome, Recorder
from pipeline.run.options import RunOptions
from pipeline.run.progress import SilentProgress
from pipeline.run.ray_cluster import NodeResources, alive_nodes, check_fits, join, worker_slots
from pipeline.run.threads import reserved_threads

logger = logging.getLogger(__name__)

MAX_TRIES = 2
"""Workers one recording may be given in a run: a worker that dies (its node lost, out of
memory) hands its recording to another once; a second death records it as failed."""

WORKER_START_TIMEOUT_S = 900.0
"""With no recording running, how long to wait for a worker to start and load its models, seconds."""


class RecordingWorker:
    """A Ray actor's state: the models, loaded once when the actor starts.

    It computes with as many threads as the CPUs it reserves (``pipeline.run.threads``).
    A model that cannot load is kept as the error and reported by ``ready`` so
    the driver can stop with the model's own message (exit code 3) instead of
    seeing every call fail with "actor died".
    """

    def __init__(self, options: RunOptions, cache_root: Path) -> None:
        import ray

        self.node_id: str = ray.get_runtime_context().get_node_id()
        self._error: PipelineError | None = None
        threads = reserved_threads(options.config.batch.ray_num_cpus)
        try:
            self._process = load_processor(options, cache_root, cpu_threads=threads)
        except PipelineError as err:
            self._error = err

    def ready(self) -> tuple[PipelineError | None, str]:
        """(None once the models are loaded, else why they are not; the Ray node id it runs on)."""
        return self._error, self.node_id

    def analyse(self, task: Task) -> Outcome:
        """Analyse one recording with this worker's models; the outcome names this node."""
        return dataclasses.replace(analyse(task, self._process, SilentProgress()), worker=self.node_id)


@dataclass
class _Workers:
    """The batch's actors, by state: loading their models, idle, or running one task."""

    # ready() ObjectRef -> actor; (actor, node id); analyse() ObjectRef -> (task, actor, node id)
    starting: dict[Any, Any] = field(default_factory=dict)
    idle: deque[tuple[Any, str]] = field(default_factory=deque)
    running: dict[Any, tuple[Task, Any, str]] = field(default_factory=dict)
    deaths_loading: int = 0

    @property
    def alive(self) -> int:
        return len(self.starting) + len(self.idle) + len(self.running)

    def actors(self) -> list[Any]:
        busy = (actor for _, actor, _ in self.running.values())
        return [*self.starting.values(), *(actor for actor, _ in self.idle), *busy]


class RayExecutor:
    """Runs tasks on Ray actors; the driver records each outcome as it arrives.

    Parameters
    ----------
    options
        The batch's options, handed to every worker; ``config.batch`` sets the address,
        the resources per worker and the number of workers.
    cache_root
        Stage cache folder (must be shared by all nodes of a cluster).
    json_logs
        The driver logs JSON lines: Ray's own messages then go through the root
        logger, and the workers' stderr stays in Ray's session logs (Ray prefixes
        each forwarded line, which would break one object per line).
    """

    def __init__(self, options: RunOptions, cache_root: Path, *, json_logs: bool = False) -> None:
        self.options = options
        self.config = options.config
        self.cache_root = cache_root
        self.json_logs = json_logs

    def __call__(self, tasks: Sequence[Task], recorder: Recorder) -> None:
        """Analyse every task on the cluster; a failed recording never stops the rest.

        Raises
        ------
        ModelError
            A worker could not load the models.
        ConfigError
            The cluster at ``ray_address`` cannot be reached, or has no node with the
            CPUs and GPUs one worker reserves.
        """
        if not tasks:
            return
        import ray

        if self.json_logs:
            # Ray gives its logger a plain-text handler of its own when imported;
            # send its records through the root's JSON handler instead.
            ray_logger = logging.getLogger("ray")
            ray_logger.handlers.clear()
            ray_logger.propagate = True
        started_here = not ray.is_initialized()
        if started_here:
            join(
                ray,
                self.config.batch.ray_address,
                node_ip=self.config.batch.ray_node_ip,
                include_dashboard=False,
                # Ray's "Connecting to ..." lines only with -v, like ours.
                logging_level=logging.getLogger().getEffectiveLevel(),
                log_to_driver=not self.json_logs,
                configure_logging=not self.json_logs,
            )
        try:
            self._run(ray, tasks, recorder)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, tasks: Sequence[Task], recorder: Recorder) -> None:
        nodes = alive_nodes(ray)
        options = self._worker_options(nodes)
        check_fits(nodes, **options, address=self.config.batch.ray_address or "started on this machine")
        count = min(len(tasks), self.config.batch.ray_workers or worker_slots(nodes, **options))
        logger.info(
            "Ray: %d workers, each with %s",
            count,
            options,
            extra={"event": "ray_workers", "workers": count, **options},
        )
        actor_class = ray.remote(RecordingWorker).options(**options)
        workers = _Workers()
        for _ in range(count):
            self._start_worker(actor_class, workers)
        queue = deque(tasks)
        tries: Counter[str] = Counter()
        try:
            while queue or workers.running:
                while queue and workers.idle:
                    task, (actor, node) = queue.popleft(), workers.idle.popleft()
                    recorder.started(task, worker=node)
                    tries[task.item.uri] += 1
                    workers.running[actor.analyse.remote(task)] = (task, actor, node)
                if not workers.running and not workers.starting:
                    self._fail_all(queue, recorder, "no Ray worker is left to run it (see the errors above)")
                    return
                timeout = None if workers.running else WORKER_START_TIMEOUT_S
                done, _ = ray.wait([*workers.running, *workers.starting], num_returns=1, timeout=timeout)
                if not done:
                    self._fail_all(
                        queue,
                        recorder,
                        f"no Ray worker started within {WORKER_START_TIMEOUT_S:.0f} s; "
                        "check `ray status` for free CPUs/GPUs",
                    )
                    return
                if done[0] in workers.starting:
                    self._worker_ready(ray, done[0], workers, actor_class, count)
                else:
                    self._task_done(ray, done[0], workers, actor_class, count, queue, tries, recorder)
        finally:
            for actor in workers.actors():
                ray.kill(actor)

    def _worker_ready(self, ray: Any, ref: Any, workers: _Workers, actor_class: Any, count: int) -> None:
        actor = workers.starting.pop(ref)
        try:
            error, node = ray.get(ref)
        except ray.exceptions.RayError as err:
            # Died while loading (its node lost, out of memory): replace it, a bounded number of times.
            workers.deaths_loading += 1
            logger.warning("a Ray worker died while loading the models: %s", first_line(err))
            if workers.deaths_loading <= count:
                self._replace(ray, workers, actor_class, count)
            return
        if error is not None:
            raise error
        workers.idle.append((actor, node))

    def _task_done(
        self,
        ray: Any,
        ref: Any,
        workers: _Workers,
        actor_class: Any,
        count: int,
        queue: deque[Task],
        tries: Counter[str],
        recorder: Recorder,
    ) -> None:
        task, actor, node = workers.running.pop(ref)
        uri = task.item.uri
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayActorError as err:
            # The worker is gone: its node was lost, or its process died (out of memory,
            # a native crash). Another worker takes the recording, up to MAX_TRIES in all.
            self._replace(ray, workers, actor_class, count)
            if tries[uri] < MAX_TRIES:
                logger.warning("%s: worker on Ray node %s died (%s); retrying", uri, node, first_line(err))
                queue.appendleft(task)
                return
            outcome = Outcome(
                "failed",
                error=f"{uri}: its Ray worker died {tries[uri]} times, last on node {node} "
                f"({first_line(err)}); rerun the batch to retry it",
                exit_code=StageError.exit_code,
                worker=node,
            )
        except ray.exceptions.RayError as err:
            error = f"{uri}: Ray: {first_line(err)}"
            outcome = Outcome("failed", error=error, exit_code=StageError.exit_code, worker=node)
            workers.idle.append((actor, node))
        else:
            workers.idle.append((actor, node))
        recorder.finished(task, outcome)

    def _replace(self, ray: Any, workers: _Workers, actor_class: Any, count: int) -> None:
        """Start a worker in a dead one's place when the alive nodes have room for it."""
        nodes = alive_nodes(ray)
        options = self._worker_options(nodes)
        if workers.alive < min(count, worker_slots(nodes, **options)):
            self._start_worker(actor_class, workers)

    def _start_worker(self, actor_class: Any, workers: _Workers) -> None:
        # Not waited for here: each worker loads its models while the others already run.
        actor = actor_class.remote(self.options, self.cache_root)
        workers.starting[actor.ready.remote()] = actor

    @staticmethod
    def _fail_all(queue: deque[Task], recorder: Recorder, reason: str) -> None:
        while queue:
            task = queue.popleft()
            recorder.started(task)
            error = f"{task.item.uri}: {reason}"
            recorder.finished(task, Outcome("failed", error=error, exit_code=StageError.exit_code))

    def _worker_options(self, nodes: Sequence[NodeResources]) -> dict[str, float]:
        batch = self.config.batch
        gpus = batch.ray_num_gpus if any(node.gpus > 0 for node in nodes) else 0.0
        return {"num_cpus": batch.ray_num_cpus, "num_gpus": gpus}
