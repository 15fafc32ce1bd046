"""Join the Ray cluster a batch runs on, and check up front that it can host a worker.

``join`` turns ``--ray-address`` into one ``ray.init`` that either connects or
fails at once with a ``ConfigError`` (exit code 2) naming the address and the fix:

- ``None``: Ray starts on this machine for the run;
- ``auto``: the cluster this node belongs to (Ray finds it);
- ``HOST:PORT``: the head's GCS port; ``ray://HOST:PORT``: Ray Client (port 10001).
  Both are probed with a plain TCP connect first (``PROBE_TIMEOUT_S``), so a wrong
  or unreachable address is an error within seconds instead of Ray's silent retries.

Ray gives the driver the address of the machine's default route and rewrites a
loopback bootstrap address to it, so a cluster whose processes listen on loopback
only (``ray start --node-ip-address 127.0.0.1``, ``ray.cluster_utils.Cluster``) is
never reached. When ``HOST`` resolves to a loopback address, or ``node_ip`` says so,
the driver joins as a node on that address (``_node_ip_address``) with Ray's
localhost rewriting turned off for the call.

``check_fits`` and ``worker_slots`` read the alive nodes' resources: a cluster
where no node has the CPUs and GPUs one worker reserves is refused before any
actor is created (Ray would leave it pending for ever).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipeline.core.errors import ConfigError, first_line

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0
"""How long the TCP probe of ``HOST:PORT`` waits for the connection, seconds."""

CLIENT_PREFIX = "ray://"


@dataclass(frozen=True)
class ClusterAddress:
    """A parsed ``--ray-address``.

    Attributes
    ----------
    text : str
        As given.
    host, port : str or None, int or None
        Where to probe; None for ``auto``.
    client : bool
        ``ray://`` (Ray Client) rather than the GCS port.
    """

    text: str
    host: str | None
    port: int | None
    client: bool

    @classmethod
    def parse(cls, text: str) -> ClusterAddress:
        """``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (IPv6 hosts in brackets).

        Raises
        ------
        ConfigError
            Anything else.
        """
        if text == "auto":
            return cls(text, None, None, client=False)
        client = text.startswith(CLIENT_PREFIX)
        rest = text.removeprefix(CLIENT_PREFIX) if client else text
        host, sep, port = rest.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"--ray-address {text}: not an address; give HOST:PORT (the head's GCS port, "
                "6379 by default), ray://HOST:10001 or auto"
            )
        return cls(text, host, int(port), client)


def resolve_host(address: ClusterAddress) -> str | None:
    """The IP address ``address.host`` resolves to (None for ``auto``).

    Raises
    ------
    ConfigError
        The name does not resolve.
    """
    if address.host is None:
        return None
    try:
        return str(socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)[0][4][0])
    except (OSError, UnicodeError) as err:
        raise ConfigError(
            f"--ray-address {address.text}: cannot resolve {address.host} ({err}); check the host name"
        ) from None


def is_loopback(ip: str | None) -> bool:
    """True when ``ip`` is a loopback address (127.0.0.0/8, ::1)."""
    if ip is None:
        return False
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def probe(address: ClusterAddress, ip: str, *, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Open and close a TCP connection to ``ip:address.port``.

    Raises
    ------
    ConfigError
        Nothing accepts the connection within ``timeout`` seconds.
    """
    assert address.port is not None
    try:
        with socket.create_connection((ip, address.port), timeout=timeout):
            pass
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else err.strerror or type(err).__name__
        what = "Ray Client server (port 10001 on the head)" if address.client else "Ray head (its GCS port)"
        raise ConfigError(
            f"--ray-address {address.text}: no {what} answers at {ip}:{address.port} ({reason}); "
            "check the address with `ray status` on the head, or leave --ray-address out to run Ray here"
        ) from None


def join(ray: Any, address_text: str | None, *, node_ip: str | None = None, **init_args: Any) -> None:
    """``ray.init`` for ``address_text`` (see the module docstring).

    Parameters
    ----------
    ray
        The imported ``ray`` module.
    address_text
        ``--ray-address``; None starts Ray on this machine.
    node_ip
        The address the cluster reaches this driver at; None: loopback when the
        address is on loopback, else Ray's choice.
    **init_args
        Passed on to ``ray.init``.

    Raises
    ------
    ConfigError
        The address is malformed or unreachable, or Ray refuses to connect.
    """
    if address_text is None:
        ray.init(**init_args)
        return
    address = ClusterAddress.parse(address_text)
    ip = resolve_host(address)
    if ip is not None:
        probe(address, ip)
    if node_ip is None and not address.client and is_loopback(ip):
        node_ip = ip
    if node_ip is not None and not address.client:
        init_args["_node_ip_address"] = node_ip
    try:
        with _keep_loopback(is_loopback(node_ip)):
            ray.init(address=address_text, **init_args)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise ConfigError(
            f"--ray-address {address_text}: cannot join the Ray cluster ({first_line(err)}); check the "
            "address, give --ray-node-ip with the address the cluster reaches this machine at, "
            "or leave --ray-address out to run Ray on this machine"
        ) from None
    logger.info("joined the Ray cluster at %s as %s", address_text, node_ip or "Ray's choice of address")


@contextmanager
def _keep_loopback(keep: bool) -> Iterator[None]:
    """Stop Ray from rewriting 127.0.0.1 to the default route's address while it connects.

    Ray does that rewrite only when ``ENABLE_RAY_CLUSTER`` is true (its constant for
    "not a single-machine Windows/macOS install"); turned off, it keeps loopback.
    """
    if not keep:
        yield
        return
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


# -- resources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeResources:
    """What one alive node offers: ``cpus`` and ``gpus`` (counts), and its Ray node id."""

    node_id: str
    cpus: float
    gpus: float


def alive_nodes(ray: Any) -> list[NodeResources]:
    """The cluster's alive nodes and their total CPUs and GPUs."""
    return [
        NodeResources(node["NodeID"], node["Resources"].get("CPU", 0.0), node["Resources"].get("GPU", 0.0))
        for node in ray.nodes()
        if node.get("Alive")
    ]


def worker_slots(nodes: Sequence[NodeResources], num_cpus: float, num_gpus: float) -> int:
    """How many workers reserving ``num_cpus`` (> 0) CPUs and ``num_gpus`` GPUs the nodes hold at once."""
    slots = 0
    for node in nodes:
        fits = node.cpus / num_cpus
        if num_gpus:
            fits = min(fits, node.gpus / num_gpus)
        slots += math.floor(fits + 1e-9)  # 3 * (1/3) CPUs is 1, not 0.999...
    return slots


def check_fits(nodes: Sequence[NodeResources], num_cpus: float, num_gpus: float, *, address: str) -> None:
    """Refuse a cluster where no node can host one worker.

    Raises
    ------
    ConfigError
        No alive node has ``num_cpus`` CPUs and ``num_gpus`` GPUs.
    """
    if worker_slots(nodes, num_cpus, num_gpus) > 0:
        return
    asked = f"{_count(num_cpus, 'CPU')} and {_count(num_gpus, 'GPU')}"
    if not nodes:
        has = "it has no alive node"
    else:
        big = max(nodes, key=lambda n: (n.gpus, n.cpus))
        cpus, gpus = sum(n.cpus for n in nodes), sum(n.gpus for n in nodes)
        has = (
            f"its largest node has {_count(big.cpus, 'CPU')} and {_count(big.gpus, 'GPU')} "
            f"({_count(len(nodes), 'node')}: {_count(cpus, 'CPU')} and {_count(gpus, 'GPU')} in all)"
        )
    raise ConfigError(
        f"Ray cluster {address}: each worker asks for {asked} on one node (batch.ray_num_cpus, "
        f"batch.ray_num_gpus) but {has}; lower them in the config or add a larger node"
    )


def _count(value: float, unit: str) -> str:
    return f"{value:g} {unit}" + ("" if value == 1 else "s")
