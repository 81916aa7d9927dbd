"""The live counts of one listener, and the admit/shed decisions made from them.

A connection asks `admit` once when it is accepted (before a byte is parsed) and calls `leave`
when it closes; a request asks `start` before it enters the stack and calls `end` when it is
answered. Each answer is a few integer compares: everything they compare against was resolved
at config load (`settings.ListenerLimits`), and the memory ceiling is a flag a timer keeps.

Every limit that fires goes through `hit`: counted in `meshproxy_limit_hits_total{listener,
limit}` and, unless it is routine (an idle keep-alive closed), written to the access log as one
JSON line with `"event":"limit"`. The guard outlives config reloads (it belongs to the open
listener); a reload hands it new limits with `configure`.

It also decides how much of an answer the proxy holds for a client slower than its upstream
(`buffer`, asked by `http1.sink` only once the client's write buffer is past its high-water
mark): up to `responseBufferBytes` more per answer, within the memory ceiling's share
(`memory.MemoryCeiling.take`). A response held so is flagged `buffered` in its access-log line
and counted in `meshproxy_responses_buffered_total`; one a bound stopped, `buffer_full` and
`meshproxy_response_buffer_full_total{bound}`.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _quote

from meshproxy.http.message import Exchange
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

# Access-log flags of a response held for a slow client, and what stopped the holding.
BUFFERED = "buffered"
BUFFER_FULL = "buffer_full"
# Which bound stopped it: the answer's own (`responseBufferBytes`) or the proxy's memory.
RESPONSE_BOUND = "response"
PROXY_BOUND = "proxy"

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
        "_buffered",
        "_children",
        "_full",
        "_prefix",
        "_registry",
        "active",
        "connections",
        "hits",
        "ledger",
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
        # What answers held for slow clients count against: the proxy's memory ceiling, shared
        # by every listener (a guard made without one keeps its own, with no ceiling).
        ledger = self.ledger = memory if memory is not None else MemoryCeiling(0)
        self._buffered: Child | None = None
        self._full: dict[str, Child] = {}
        if registry is not None:
            self._buffered = registry.counter(
                "meshproxy_responses_buffered_total",
                "Responses read on from their upstream past the client's write high-water mark "
                "(held for a slow client), by listener.",
            ).child(listener=name)
            full = registry.counter(
                "meshproxy_response_buffer_full_total",
                "Responses whose upstream was paused for a slow client because a buffering "
                "bound was reached (response: responseBufferBytes; proxy: the memory ceiling), "
                "by listener and bound.",
            )
            self._full = {
                b: full.child(listener=name, bound=b) for b in (RESPONSE_BOUND, PROXY_BOUND)
            }
            registry.gauge(
                "meshproxy_response_buffer_bytes",
                "Bytes of responses held for slow clients past their write high-water mark.",
                lambda: [((), float(ledger.buffered))],
            )

    def lane_counters(self) -> tuple[Child | None, Child | None]:
        """This listener's slow-lane counters (`slow_lane.SlowLane`): connections held, reads."""
        if self._registry is None:
            return None, None
        held = self._registry.counter(
            "meshproxy_slow_lane_held_total",
            "Client connections whose request was still incomplete a second after a read, read "
            "from then on by the listener's slow lane (a bounded slice per loop turn), "
            "by listener.",
        ).child(listener=self.name)
        reads = self._registry.counter(
            "meshproxy_slow_lane_reads_total",
            "Reads of held client connections by the listener's slow lane, by listener.",
        ).child(listener=self.name)
        return held, reads

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

    # --- answers held for slow clients -------------------------------------------------------

    def buffer(self, unsent: int, more: int) -> str | None:
        """May a response keep reading its upstream with `unsent` bytes written to its client and
        not yet taken, `more` of them not yet counted? None: yes (they are counted); else the
        bound that says no ("" when this listener holds nothing past the mark)."""
        limits = self.limits
        if not limits.response_buffer_bytes:
            return ""  # off: the upstream pauses at the high-water mark, as nothing to report
        if unsent > limits.write_buffer_bytes + limits.response_buffer_bytes:
            return RESPONSE_BOUND
        if not self.ledger.take(more):
            return PROXY_BOUND
        return None

    def unbuffer(self, held: int) -> None:
        self.ledger.give(held)

    def buffered(self, exchange: Exchange | None) -> None:
        """A response is held for its slow client: say so once, in its line and the counter."""
        if exchange is not None:
            _flag(exchange, BUFFERED)
        if self._buffered is not None:
            self._buffered.inc()

    def buffer_full(self, exchange: Exchange | None, bound: str) -> None:
        """A bound paused a response's upstream for its slow client: say so once."""
        if exchange is not None:
            _flag(exchange, BUFFER_FULL)
        child = self._full.get(bound)
        if child is not None:
            child.inc()

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


def _flag(exchange: Exchange, flag: str) -> None:
    exchange.flags = f"{exchange.flags},{flag}" if exchange.flags else flag
