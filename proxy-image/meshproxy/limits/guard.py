"""The live counts of one listener, and the admit/shed decisions made from them.

A connection asks `admit` once when it is accepted (before a byte is parsed) and calls `leave`
when it closes; a request asks `start` before it enters the stack and calls `end` when it is
answered. Each answer is a few integer compares: everything they compare against was resolved
at config load (`settings.ListenerLimits`), and the memory ceiling is a flag a timer keeps.

Every limit that fires goes through `hit`: counted in `meshproxy_limit_hits_total{listener,
limit}` and, unless it is routine (an idle keep-alive closed), written to the access log as one
JSON line with `"event":"limit"`. The guard outlives config reloads (it belongs to the open
listener); a reload hands it new limits with `configure`.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _quote

from meshproxy.observability.metrics import Child, Registry

from .memory import MemoryCeiling
from .settings import ListenerLimits

# Limit names, as counted and logged.
MAX_CONNECTIONS = "max_connections"
MAX_CONNECTIONS_PER_CLIENT = "max_connections_per_client"
MAX_PENDING_REQUESTS = "max_pending_requests"
MEMORY_CEILING = "memory_ceiling"
HEADER_TIMEOUT = "header_timeout"
BODY_TIMEOUT = "body_timeout"
REQUEST_TIMEOUT = "request_timeout"
SEND_TIMEOUT = "send_timeout"
IDLE_TIMEOUT = "idle_timeout"

# What a shed request is told: come back later, on a new connection.
SHED_REPLY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain\r\n"
    b"retry-after: 1\r\n"
    b"content-length: 11\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"overloaded\n"
)

LineWriter = Callable[[str], None]


class ListenerGuard:
    __slots__ = (
        "_children",
        "_prefix",
        "_registry",
        "active",
        "connections",
        "hits",
        "limits",
        "memory",
        "name",
        "per_client",
        "write_line",
    )

    def __init__(
        self,
        limits: ListenerLimits,
        name: str = "",
        registry: Registry | None = None,
        memory: MemoryCeiling | None = None,
        write_line: LineWriter | None = None,
    ) -> None:
        self.limits = limits
        self.name = name
        self.memory = memory
        self.write_line = write_line
        self._registry = registry
        self._children: dict[str, Child] = {}
        self._prefix = '{"event":"limit","listener":' + _quote(name) + ',"limit":'
        self.connections = 0
        self.per_client: dict[str, int] = {}
        self.active = 0  # requests handed to the stack whose response head is not yet written
        self.hits: dict[str, int] = {}  # since this guard was made (tests read it)

    def configure(self, limits: ListenerLimits, write_line: LineWriter | None) -> None:
        """A reload's limits: open connections keep theirs, new ones get these."""
        self.limits = limits
        self.write_line = write_line

    # --- connections -----------------------------------------------------------------------------

    def admit(self, client: str) -> str | None:
        """Count a new connection in, or say which limit refuses it (then nothing is counted)."""
        limits = self.limits
        if limits.max_connections and self.connections >= limits.max_connections:
            return MAX_CONNECTIONS
        memory = self.memory
        if memory is not None and memory.over:
            return MEMORY_CEILING
        cap = limits.max_connections_per_client
        if cap:
            held = self.per_client.get(client, 0)
            if held >= cap:
                return MAX_CONNECTIONS_PER_CLIENT
            self.per_client[client] = held + 1
        self.connections += 1
        return None

    def leave(self, client: str) -> None:
        self.connections -= 1
        held = self.per_client.get(client)
        if held is not None:
            if held <= 1:
                del self.per_client[client]
            else:
                self.per_client[client] = held - 1

    # --- requests --------------------------------------------------------------------------------

    def start(self) -> str | None:
        """Count a request in, or say which limit sheds it."""
        cap = self.limits.max_pending_requests
        if cap and self.active >= cap:
            return MAX_PENDING_REQUESTS
        memory = self.memory
        if memory is not None and memory.over:
            return MEMORY_CEILING
        self.active += 1
        return None

    def end(self) -> None:
        self.active -= 1

    # --- accounting ------------------------------------------------------------------------------

    def hit(self, limit: str, client: str, log: bool = True) -> None:
        self.hits[limit] = self.hits.get(limit, 0) + 1
        child = self._children.get(limit)
        if child is None and self._registry is not None:
            child = self._children[limit] = self._registry.counter(
                "meshproxy_limit_hits_total",
                "Connections closed or refused and requests shed by a connection limit, "
                "by listener and limit.",
            ).child(listener=self.name, limit=limit)
        if child is not None:
            child.inc()
        if log and self.write_line is not None:
            self.write_line(f'{self._prefix}{_quote(limit)},"client":{_quote(client)}}}')
