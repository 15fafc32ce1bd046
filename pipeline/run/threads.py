"""Compute with as many threads as the CPUs a Ray worker reserves.

Workers sharing a node must not oversubscribe it: a worker that reserves 2 CPUs
computes with 2 threads in every model library. Ray already sets
``OMP_NUM_THREADS`` for an actor's process from its ``num_cpus`` (numpy's BLAS reads
it at import); ``limit_cpu_threads`` sets it again with MKL's and OpenBLAS's for
libraries loaded later, and torch's pool (pyannote, CAM++). faster-whisper's
CTranslate2 gets the count as ``asr.cpu_threads`` (``pipeline.run.runner.Runner``),
and the Silero VAD's onnxruntime session always runs on one thread
(``pipeline.models.silero``).
"""

from __future__ import annotations

import math
import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def reserved_threads(num_cpus: float) -> int:
    """Threads for a worker reserving ``num_cpus`` CPUs (a fraction rounds down, at least 1)."""
    return max(1, math.floor(num_cpus + 1e-9))


def limit_cpu_threads(threads: int) -> None:
    """Make this process's model libraries compute with ``threads`` threads each."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import torch  # the diarizer loads it anyway; imported here so its pool is sized first

    torch.set_num_threads(threads)
