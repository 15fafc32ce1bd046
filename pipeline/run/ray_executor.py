"""Run a batch on Ray: one task per recording, models loaded once per worker.

Each worker is a Ray actor that loads the models when it starts and then
analyses one recording per call (``pipeline.run.batch.analyse``), so a model loads
once per worker, not once per recording (a Ray *function* with GPUs would be
restarted after every call). The driver keeps every worker busy with one call
at a time, and writes every output and ledger row itself as results come back:
workers need to read the inputs and share the stage cache, but never the output
folder or the ledger, and the ledger semantics are the local executor's.

``ray_address`` (``--ray-address``) joins an existing cluster (``auto``, or
``ray://HOST:10001`` through Ray Client); without it Ray starts on this machine.
On this machine the workers share the driver's working directory; on a cluster,
inputs must be URLs or paths every node can read, ``models_dir`` a path valid on
the workers (the container image's), and ``cache_dir`` a folder they share for
crash-resume to reuse finished stages.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError, PipelineError, StageError
from pipeline.run.batch import Outcome, Recorder, Task, analyse, load_processor
from pipeline.run.options import RunOptions
from pipeline.run.progress import SilentProgress

logger = logging.getLogger(__name__)


class RecordingWorker:
    """A Ray actor's state: the models, loaded once when the actor starts.

    A model that cannot load is kept as the error and reported by ``ready`` so
    the driver can stop with the model's own message (exit code 3) instead of
    seeing every call fail with "actor died".
    """

    def __init__(self, options: RunOptions, cache_root: Path) -> None:
        self._error: PipelineError | None = None
        try:
            self._process = load_processor(options, cache_root)
        except PipelineError as err:
            self._error = err

    def ready(self) -> PipelineError | None:
        """None once the models are loaded, else why they are not."""
        return self._error

    def analyse(self, task: Task) -> Outcome:
        """Analyse one recording with this worker's models."""
        return analyse(task, self._process, SilentProgress())


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
            The cluster at ``ray_address`` cannot be reached.
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
            address = self.config.batch.ray_address
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    log_to_driver=not self.json_logs,
                    configure_logging=not self.json_logs,
                )
            except ConnectionError as err:
                raise ConfigError(
                    f"--ray-address {address}: cannot join the Ray cluster ({err}); "
                    "check the address, or leave it out to run Ray on this machine"
                ) from None
        try:
            self._run(ray, tasks, recorder)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, tasks: Sequence[Task], recorder: Recorder) -> None:
        resources = ray.cluster_resources()
        options = self._worker_options(resources)
        count = min(len(tasks), self._worker_count(resources, options))
        logger.info(
            "Ray: %d workers, each with %s",
            count,
            options,
            extra={"event": "ray_workers", "workers": count, **options},
        )
        actor_class = ray.remote(RecordingWorker).options(**options)
        idle = deque(self._start_workers(ray, actor_class, count))
        queue = deque(tasks)
        running: dict[Any, tuple[Task, Any]] = {}  # ObjectRef -> (task, actor)
        while queue or running:
            while queue and idle:
                task, actor = queue.popleft(), idle.popleft()
                recorder.started(task)
                running[actor.analyse.remote(task)] = (task, actor)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            task, actor = running.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayActorError as err:
                # The worker process died (out of memory, segfault in a native library):
                # this recording fails, a fresh worker takes the next one.
                outcome = Outcome(
                    "failed", error=f"Ray worker died: {_first_line(err)}", exit_code=StageError.exit_code
                )
                (actor,) = self._start_workers(ray, actor_class, 1)
            except ray.exceptions.RayError as err:
                outcome = Outcome("failed", error=f"Ray: {_first_line(err)}", exit_code=StageError.exit_code)
            recorder.finished(task, outcome)
            idle.append(actor)

    def _worker_options(self, resources: dict[str, float]) -> dict[str, float]:
        batch = self.config.batch
        gpus = batch.ray_num_gpus if resources.get("GPU", 0) > 0 else 0.0
        return {"num_cpus": batch.ray_num_cpus, "num_gpus": gpus}

    def _worker_count(self, resources: dict[str, float], options: dict[str, float]) -> int:
        if self.config.batch.ray_workers is not None:
            return self.config.batch.ray_workers
        fits = [resources.get("CPU", 1) / options["num_cpus"]]
        if options["num_gpus"]:
            fits.append(resources.get("GPU", 0) / options["num_gpus"])
        return max(1, math.floor(min(fits)))

    def _start_workers(self, ray: Any, actor_class: Any, count: int) -> list[Any]:
        actors = [actor_class.remote(self.options, self.cache_root) for _ in range(count)]
        # The workers load their models in parallel; wait for all before dispatching.
        for error in ray.get([actor.ready.remote() for actor in actors]):
            if error is not None:
                raise error
        return actors


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
