"""Reaching a Kafka broker: probe it, open clients with bounded waits, manage topics.

Every fault here becomes one ``StreamError`` line that says what happened and
what to do, instead of a client library's retry loop or traceback.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from feeds.errors import FeedError

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_TOPIC = "mock_l1_stream"
#: How long a client keeps trying to reach a broker before it gives up (refused or silent).
CONNECT_TIMEOUT_S = 1.5

# kafka-python logs every refused connection and retry at WARNING/ERROR; the
# faults that matter reach the user as one StreamError line instead.
logging.getLogger("kafka").setLevel(logging.CRITICAL)


class StreamError(FeedError):
    """A streaming fault (broker unreachable, topic missing, run incomplete), in one line."""

    def __init__(self, where: str, message: str):
        super().__init__(where, message)


def split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """Parse ``"host:port[,host:port...]"`` into pairs; the port defaults to 9092."""
    pairs = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, "9092"
        try:
            pairs.append((host.strip("[]") or "127.0.0.1", int(port)))
        except ValueError:
            raise StreamError(bootstrap, f"bad bootstrap address {item!r} (want host:port)") from None
    if not pairs:
        raise StreamError(bootstrap, "empty bootstrap address (want host:port)")
    return pairs


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """Return True once a TCP connection to ``host:port`` succeeds, trying for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def _api_versions(host: str, port: int, timeout_s: float) -> dict[int, tuple[int, int]] | None:
    # ApiVersions v0 (api key 18): every broker since 0.10 answers it, and a KRaft
    # broker only answers once it serves requests, so this is a readiness probe.
    # Returns {api key: (min version, max version)}, or None when no broker answered.
    client_id = b"sor-probe"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exact(sock, 4)
            size = struct.unpack(">i", head)[0]
            if not 6 <= size <= 1 << 20:
                return None
            reply = _recv_exact(sock, size)
    except (OSError, ValueError):
        return None
    correlation, error = struct.unpack(">ih", reply[:6])
    if correlation != 1 or error != 0:
        return None
    versions: dict[int, tuple[int, int]] = {}
    if len(reply) >= 10:
        (count,) = struct.unpack(">i", reply[6:10])
        for k in range(min(max(count, 0), (len(reply) - 10) // 6)):
            key, low, high = struct.unpack(">hhh", reply[10 + 6 * k : 16 + 6 * k])
            versions[key] = (low, high)
    return versions


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ValueError("connection closed")
        buf += chunk
    return buf


def broker_answers(bootstrap: str, timeout_s: float = 3.0) -> bool:
    """Return True when a Kafka broker at ``bootstrap`` answers an ApiVersions request."""
    return any(_api_versions(host, port, timeout_s) is not None for host, port in split_bootstrap(bootstrap))


def broker_version(bootstrap: str, timeout_s: float = 3.0) -> tuple[int, ...] | None:
    """Return the broker version kafka-python infers from the broker's API versions, or None.

    Handing it to a client spares the client its own probe, which costs about 0.1 s a connection.
    """
    for host, port in split_bootstrap(bootstrap):
        versions = _api_versions(host, port, timeout_s)
        if versions:
            try:
                from kafka.protocol.broker_version_data import infer_broker_version_from_api_versions

                return tuple(infer_broker_version_from_api_versions(versions))
            except Exception:  # noqa: BLE001 - a client without this helper probes on its own
                return None
    return None


def require_broker(bootstrap: str, timeout_s: float = CONNECT_TIMEOUT_S, where: str | None = None) -> None:
    """Wait up to ``timeout_s`` for a broker at ``bootstrap``; raise ``StreamError`` if none answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        if broker_answers(bootstrap, timeout_s=min(3.0, max(0.5, timeout_s))):
            return
        if time.monotonic() >= deadline:
            raise StreamError(
                where or f"kafka://{bootstrap}",
                f"no Kafka broker answers at {bootstrap} after {timeout_s:g} s "
                "(start one with `sor kafka up`, or check --bootstrap)",
            )
        time.sleep(0.3)


def open_client(
    factory: Callable[..., Any], bootstrap: str, where: str, timeout_s: float, **config: Any
) -> Any:
    """Build a kafka-python client after the broker answered, turning its errors into ``StreamError``."""
    # Probe first: importing the client library costs a few hundred ms a down broker need not wait.
    require_broker(bootstrap, timeout_s, where)
    from kafka.errors import KafkaError

    try:
        return factory(
            bootstrap_servers=[f"{h}:{p}" for h, p in split_bootstrap(bootstrap)],
            bootstrap_timeout_ms=int(timeout_s * 1000),
            **config,
        )
    except KafkaError as exc:
        raise StreamError(where, f"cannot open a Kafka client at {bootstrap}: {exc}") from None


def topic_partitions(admin: Any, topic: str) -> int | None:
    """Return how many partitions ``topic`` has, or None when it does not exist."""
    for item in admin.describe_topics([topic]):
        if item.get("name") == topic and not item.get("error_code") and item.get("partitions"):
            return len(item["partitions"])
    return None


def ensure_topic(admin: Any, topic: str, partitions: int, where: str) -> tuple[int, bool]:
    """Create ``topic`` with ``partitions`` partitions unless it exists.

    Return ``(partitions it has, created)``.
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    existing = topic_partitions(admin, topic)
    if existing is not None:
        return existing, False
    try:
        admin.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1}},
            timeout_ms=10_000,
            wait_for_metadata=True,
        )
    except TopicAlreadyExistsError:
        pass
    except KafkaError as exc:
        raise StreamError(where, f"cannot create topic {topic!r}: {exc}") from None
    found = topic_partitions(admin, topic)
    if found is None:
        raise StreamError(where, f"topic {topic!r} was created but does not show in the broker's metadata")
    return found, True


def native_crc() -> bool:
    """Return True when the C ``crc32c`` module is there (kafka-python's CRC is pure Python without it)."""
    try:
        import crc32c  # noqa: F401
    except ImportError:
        return False
    return True


def list_topics(bootstrap: str, timeout_s: float = 5.0) -> dict[str, int]:
    """Return ``{topic: partition count}`` for the user topics at ``bootstrap`` (run indexes included)."""
    from kafka import KafkaAdminClient

    admin = open_client(KafkaAdminClient, bootstrap, f"kafka://{bootstrap}", timeout_s)
    try:
        return {
            t["name"]: len(t.get("partitions") or [])
            for t in admin.describe_topics()
            if not t.get("is_internal") and not t["name"].startswith("__")
        }
    finally:
        admin.close()
