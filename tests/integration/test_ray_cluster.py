"""``speechpipe batch --ray-address`` on a real two-node Ray cluster on 127.0.0.1.

Ray's own test utility (``ray.cluster_utils.Cluster``) starts a head and a worker
node, one CPU each, every process on loopback; the batch is the real command line in
a subprocess, with the real models, on four 5 s slices of pyannote's sample.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import REPO, speechpipe

ray = pytest.importorskip("ray")
sf = pytest.importorskip("soundfile")
from ray.cluster_utils import Cluster  # noqa: E402 - after the importorskip above

LOOPBACK = "127.0.0.1"
# A SIGKILLed raylet is declared dead after about 1 s instead of Ray's default 15 s or more.
FAST_HEALTH_CHECKS = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 2,
}


def start_cluster() -> tuple[Cluster, object]:
    """A head and one worker node, one CPU each, both on 127.0.0.1; returns (cluster, worker node)."""
    cluster = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "node_ip_address": LOOPBACK,
            "_system_config": FAST_HEALTH_CHECKS,
        },
    )
    node = cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
    cluster.wait_for_nodes()
    return cluster, node


@pytest.fixture(scope="module")
def cluster():
    cluster, _ = start_cluster()
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory, sample_wav):
    """Four 5 s slices of pyannote's two-speaker sample."""
    audio, rate = sf.read(sample_wav, dtype="float32")
    folder = tmp_path_factory.mktemp("in")
    for i, start in enumerate((0, 8, 16, 24)):
        sf.write(folder / f"clip{i}.wav", audio[start * rate : (start + 5) * rate], rate)
    return folder


def ledger_rows(out: Path) -> dict[str, sqlite3.Row]:
    """The ledger's rows by file name (read while a batch may be writing it)."""
    db = sqlite3.connect(out / "ledger.sqlite", timeout=30)
    db.row_factory = sqlite3.Row
    try:
        return {Path(row["uri"]).name: row for row in db.execute("SELECT * FROM recordings")}
    finally:
        db.close()


def comparable(out: Path) -> dict[str, bytes | dict]:
    """Every output file's bytes; result.json without its timings and batch section (where it ran)."""
    files: dict[str, bytes | dict] = {}
    for path in sorted(out.glob("clip*/*")):
        key = str(path.relative_to(out))
        if path.name == "result.json":
            result = json.loads(path.read_text())
            del result["timings"], result["config"]["batch"]
            files[key] = result
        else:
            files[key] = path.read_bytes()
    return files


def closed_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def listening_addresses(pids: set[int]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The local addresses of the TCP sockets the processes ``pids`` listen on (/proc/net/tcp*)."""
    inodes = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
    addresses = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                raw = bytes.fromhex(fields[1].split(":")[0])
                # The kernel prints each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                address = ipaddress.ip_address(raw)
                # gRPC listens on IPv4 addresses through IPv6 sockets (::ffff:127.0.0.1).
                addresses.append(getattr(address, "ipv4_mapped", None) or address)
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads Linux's /proc")
def test_cluster_processes_listen_on_loopback_only(cluster):
    host, _ = cluster.address.rsplit(":", 1)
    assert host == LOOPBACK
    for node in cluster.list_all_nodes():
        assert node.node_ip_address == LOOPBACK
    addresses = listening_addresses(descendants(os.getpid()))
    assert len(addresses) >= 4  # GCS, two raylets, their object managers...
    assert [a for a in addresses if not a.is_loopback] == []


@pytest.mark.slow
def test_batch_spreads_over_both_nodes_with_the_local_executors_outputs(cluster, clips, tmp_path):
    on_ray = speechpipe("batch", clips, "-o", tmp_path / "ray", "--ray-address", cluster.address, timeout=600)
    assert on_ray.returncode == 0, on_ray.stderr
    rows = ledger_rows(tmp_path / "ray")
    assert {name: row["status"] for name, row in rows.items()} == {f"clip{i}.wav": "done" for i in range(4)}
    node_ids = {node.node_id for node in cluster.list_all_nodes()}
    workers = {row["worker"] for row in rows.values()}
    assert workers <= node_ids and len(workers) == 2, workers  # both nodes took recordings
    assert "Ray node" in on_ray.stdout  # the summary names each recording's node

    local = speechpipe("batch", clips, "-o", tmp_path / "local", "-q", timeout=600)
    assert local.returncode == 0, local.stderr
    assert all(row["worker"] is None for row in ledger_rows(tmp_path / "local").values())
    assert comparable(tmp_path / "ray") == comparable(tmp_path / "local")


def test_wrong_address_is_one_line_exit_2_at_once(clips, tmp_path):
    address = f"{LOOPBACK}:{closed_loopback_port()}"
    began = time.perf_counter()
    result = speechpipe("batch", clips, "-o", tmp_path / "out", "--ray-address", address, timeout=120)
    seconds = time.perf_counter() - began
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "leave --ray-address out" in lines[0], lines
    assert seconds <= 60


def test_cluster_too_small_for_a_worker_is_refused_up_front(cluster, clips, tmp_path):
    config = tmp_path / "big.yaml"
    config.write_text("batch:\n  ray_num_cpus: 2\n")
    address = ("--ray-address", cluster.address)
    result = speechpipe("batch", clips, "-o", tmp_path / "out", *address, "--config", config, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "asks for 2 CPUs" in lines[0] and "its largest node has 1 CPU and 0 GPUs" in lines[0]


@pytest.mark.slow
def test_a_node_lost_mid_batch_loses_nothing_and_the_rerun_finishes(clips, tmp_path):
    cluster, node = start_cluster()
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline.cli", "batch", str(clips), "-o", str(out), "-q"]
    try:
        batch = subprocess.Popen(
            [*command, "--ray-address", cluster.address], cwd=REPO, stderr=subprocess.PIPE, text=True
        )
        # Kill the worker node's raylet while it holds a recording.
        deadline = time.monotonic() + 300
        held = None
        while held is None:
            assert batch.poll() is None and time.monotonic() < deadline, "no recording ever ran on the node"
            time.sleep(0.1)
            if (out / "ledger.sqlite").is_file():
                rows = ledger_rows(out).values()
                on_node = (r for r in rows if r["status"] == "running" and r["worker"] == node.node_id)
                held = next(on_node, None)
        cluster.remove_node(node, allow_graceful=False)
        _, stderr = batch.communicate(timeout=300)

        assert batch.returncode == 0, stderr
        rows = ledger_rows(out)
        assert sorted(row["status"] for row in rows.values()) == ["done"] * 4
        retried = rows[Path(held["uri"]).name]
        assert retried["attempts"] == 2 and retried["worker"] == cluster.head_node.node_id
        assert "retrying" in stderr

        again = [*command, "--ray-address", cluster.address]
        rerun = subprocess.run(again, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert all(row["status"] == "done" for row in ledger_rows(out).values())
    finally:
        cluster.shutdown()
