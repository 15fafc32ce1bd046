"""Joining a Ray cluster: address parsing, loopback, the TCP probe, and whether a worker fits."""

from __future__ import annotations

import socket

import pytest

from pipeline.core.errors import ConfigError
from pipeline.run.ray_cluster import (
    ClusterAddress,
    NodeResources,
    check_fits,
    is_loopback,
    join,
    probe,
    resolve_host,
    worker_slots,
)


@pytest.mark.parametrize(
    ("text", "host", "port", "client"),
    [
        ("127.0.0.1:6379", "127.0.0.1", 6379, False),
        ("head.example.com:6379", "head.example.com", 6379, False),
        ("ray://head.example.com:10001", "head.example.com", 10001, True),
        ("[::1]:6379", "::1", 6379, False),
        ("auto", None, None, False),
    ],
)
def test_addresses_parse(text, host, port, client):
    assert ClusterAddress.parse(text) == ClusterAddress(text, host, port, client)


@pytest.mark.parametrize("text", ["head", "head:", ":6379", "head:port", "head:70000", "ray://head"])
def test_malformed_addresses_say_what_to_give(text):
    with pytest.raises(ConfigError, match=r"give HOST:PORT .*ray://HOST:10001 or auto"):
        ClusterAddress.parse(text)


def test_loopback_is_decided_on_the_resolved_address():
    assert resolve_host(ClusterAddress.parse("localhost:6379")) in {"127.0.0.1", "::1"}
    assert is_loopback("127.0.0.1") and is_loopback("127.3.4.5") and is_loopback("::1")
    assert not is_loopback("192.0.2.2") and not is_loopback(None) and not is_loopback("head")


def test_an_unresolvable_host_is_a_config_error():
    with pytest.raises(ConfigError, match=r"cannot resolve nosuchhost\.invalid"):
        resolve_host(ClusterAddress.parse("nosuchhost.invalid:6379"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_probe_passes_where_something_listens_and_names_the_address_where_nothing_does():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        probe(ClusterAddress.parse(f"127.0.0.1:{port}"), "127.0.0.1")
    port = closed_port()
    with pytest.raises(ConfigError, match=rf"127.0.0.1:{port}: no Ray head .* \(Connection refused\)"):
        probe(ClusterAddress.parse(f"127.0.0.1:{port}"), "127.0.0.1")


def test_join_refuses_an_unreachable_address_before_ray_is_asked():
    class NoRay:
        def init(self, **kwargs):
            raise AssertionError("ray.init must not be called")

    with pytest.raises(ConfigError, match="leave --ray-address out"):
        join(NoRay(), f"127.0.0.1:{closed_port()}")


def test_join_on_loopback_joins_as_a_loopback_node():
    calls = []

    class FakeRay:
        def init(self, **kwargs):
            calls.append(kwargs)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        join(FakeRay(), f"127.0.0.1:{port}", include_dashboard=False)
        join(FakeRay(), f"ray://127.0.0.1:{port}")
    assert calls[0] == {
        "address": f"127.0.0.1:{port}",
        "_node_ip_address": "127.0.0.1",
        "include_dashboard": False,
    }
    assert calls[1] == {"address": f"ray://127.0.0.1:{port}"}  # Ray Client has no node of its own


NODES = [NodeResources("a", cpus=4, gpus=1), NodeResources("b", cpus=2, gpus=0)]


def test_worker_slots_count_what_each_node_holds():
    assert worker_slots(NODES, 1, 0) == 6
    assert worker_slots(NODES, 2, 0) == 3
    assert worker_slots(NODES, 3, 0) == 1
    assert worker_slots(NODES, 1, 1) == 1
    assert worker_slots(NODES, 1, 0.5) == 2
    assert worker_slots([NodeResources("c", cpus=1, gpus=0)], 1 / 3, 0) == 3


def test_a_cluster_without_a_node_for_one_worker_is_refused_with_what_it_has():
    check_fits(NODES, 4, 1, address="x")
    with pytest.raises(ConfigError) as caught:
        check_fits(NODES, 8, 0, address="10.0.0.1:6379")
    message = str(caught.value)
    assert "asks for 8 CPUs and 0 GPUs on one node" in message and "10.0.0.1:6379" in message
    assert "its largest node has 4 CPUs and 1 GPU (2 nodes: 6 CPUs and 1 GPU in all)" in message
    with pytest.raises(ConfigError, match="no alive node"):
        check_fits([], 1, 0, address="x")
