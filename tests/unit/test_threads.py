"""A Ray worker computes with as many threads as the CPUs it reserves."""

from __future__ import annotations

import subprocess
import sys

from pipeline.run.threads import reserved_threads


def test_reserved_cpus_round_down_to_at_least_one_thread():
    assert [reserved_threads(n) for n in (0.25, 1, 1.5, 4)] == [1, 1, 1, 4]


def test_limit_sets_torch_and_the_openmp_variables():
    # In a child process: torch's pool size is process-wide.
    code = (
        "import os, torch; from pipeline.run.threads import limit_cpu_threads; limit_cpu_threads(1); "
        "print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert child.stdout.split() == ["1", "1", "1"]
