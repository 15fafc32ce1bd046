"""``speechpipe batch --ray-address`` on one node and on two nodes of a local Ray cluster.

Both clusters are Ray's own test utility (``ray.cluster_utils.Cluster``) on 127.0.0.1,
one CPU per node, so a worker per node (``batch.ray_num_cpus: 1``); the batch is the
console command in a fresh process with a fresh output folder (an empty stage cache),
the same N slices of pyannote's 30 s two-speaker sample each time.

Two figures per cluster: recordings per minute over the whole command (start, join,
model loads included), and over the work alone (first recording started to last
finished, from the ledger). Writes ``bench/results/ray_cluster.json``. Usage::

    .venv/bin/python bench/ray_cluster_throughput.py [--files 16] [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the evaluation package beside bench/

from batch_throughput import write_clips
from ray.cluster_utils import Cluster

from evaluation.results import write_json

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "ray_cluster.json"
LOOPBACK = "127.0.0.1"


def run_on_cluster(nodes: int, inputs: Path, out: Path) -> dict[str, float | int]:
    """Start a ``nodes``-node loopback cluster, run the batch on it; its figures."""
    cluster = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "node_ip_address": LOOPBACK},
    )
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        cluster.wait_for_nodes()
        command = [sys.executable, "-m", "pipeline.cli", "batch", str(inputs), "-o", str(out), "-q"]
        began = time.perf_counter()
        subprocess.run([*command, "--ray-address", cluster.address], cwd=REPO, check=True)
        wall = time.perf_counter() - began
    finally:
        cluster.shutdown()
    db = sqlite3.connect(out / "ledger.sqlite")
    rows = db.execute("SELECT status, worker, started_at, finished_at FROM recordings").fetchall()
    db.close()
    assert all(status == "done" for status, *_ in rows), rows
    work = (
        datetime.fromisoformat(max(r[3] for r in rows)) - datetime.fromisoformat(min(r[2] for r in rows))
    ).total_seconds()
    return {
        "nodes": nodes,
        "nodes_used": len({r[1] for r in rows}),
        "wall_s": round(wall, 2),
        "work_s": round(work, 2),
        "per_minute": round(len(rows) * 60 / wall, 2),
        "per_minute_work": round(len(rows) * 60 / work, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=16, help="recordings, count (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each, s (default: %(default)s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="speechpipe-bench-") as tmp:
        work = Path(tmp)
        inputs = work / "in"
        inputs.mkdir()
        write_clips(inputs, args.files, args.seconds)
        one, two = (run_on_cluster(n, inputs, work / f"out{n}") for n in (1, 2))

    figures = {
        "files": args.files,
        "seconds_each": args.seconds,
        "one_node": one,
        "two_nodes": two,
        "speedup": round(two["per_minute"] / one["per_minute"], 2),
        "speedup_work": round(two["per_minute_work"] / one["per_minute_work"], 2),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json(RESULTS, figures)
    print(f"{args.files} recordings x {args.seconds:g} s on a loopback Ray cluster, 1 CPU per node:")
    for name, row in (("1 node", one), ("2 nodes", two)):
        print(
            f"  {name}: {row['per_minute']:.1f} recordings/min ({row['wall_s']:.1f} s in all), "
            f"{row['per_minute_work']:.1f} recordings/min of work ({row['work_s']:.1f} s), "
            f"{row['nodes_used']} node(s) used"
        )
    print(f"  two nodes / one: {figures['speedup']:.2f}x in all, {figures['speedup_work']:.2f}x on the work")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
