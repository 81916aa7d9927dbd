"""One listener's connection limits as plain numbers, resolved once at config load.

Pure: the config's optional fields and the proxy-wide `limits` become the numbers a connection
reads, so nothing on the request path looks up a default or an Optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from meshproxy import config

from .slow_lane import SLOW_AFTER

EDGE_MAX_CONNECTIONS_PER_CLIENT = 1024


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    header_timeout: float
    idle_timeout: float
    body_timeout: float  # 0: off
    request_timeout: float  # 0: off
    send_timeout: float  # 0: off
    write_buffer_bytes: int
    response_buffer_bytes: int  # 0: off
    body_prebuffer_bytes: int
    max_connections: int  # 0: off
    max_connections_per_client: int  # 0: off
    max_pending_requests: int  # 0: off
    # How often an HTTP/2 connection with streams or a header block in progress sweeps them.
    http2_tick: float
    # A request still incomplete this long after a read is held (limits/slow_lane.py).
    slow_after: float = SLOW_AFTER
    # How often a connection with a request still arriving looks at its receive deadlines:
    # derived from the timeouts when built, not on each timer.
    tick: float = field(init=False)

    def __post_init__(self) -> None:
        ticks = busy_tick(self.header_timeout, self.body_timeout, self.request_timeout,
                          self.send_timeout)  # fmt: skip
        object.__setattr__(self, "tick", ticks)


def resolve(listener: config.Listener | None, limits: config.Limits) -> ListenerLimits:
    """The numbers for `listener` (None: a listener with every default, role edge excluded)."""
    given = listener.connection_limits if listener is not None else msgspec.UNSET
    cl = given if isinstance(given, config.ConnectionLimits) else config.ConnectionLimits()
    per_client = cl.max_connections_per_client
    if per_client is None:
        edge = listener is not None and listener.role == "edge"
        per_client = EDGE_MAX_CONNECTIONS_PER_CLIENT if edge else 0
    header_timeout = limits.header_timeout if cl.header_timeout is None else cl.header_timeout
    return ListenerLimits(
        header_timeout=header_timeout,
        idle_timeout=limits.idle_timeout if cl.idle_timeout is None else cl.idle_timeout,
        body_timeout=cl.body_timeout,
        request_timeout=cl.request_timeout,
        send_timeout=cl.send_timeout,
        write_buffer_bytes=cl.write_buffer_bytes,
        response_buffer_bytes=cl.response_buffer_bytes,
        body_prebuffer_bytes=cl.body_prebuffer_bytes,
        max_connections=cl.max_connections,
        max_connections_per_client=per_client,
        max_pending_requests=cl.max_pending_requests,
        http2_tick=http2_tick(
            header_timeout,
            cl.body_timeout,
            cl.request_timeout,
            cl.send_timeout,
            limits.http2.stall_timeout,
        ),
    )


def busy_tick(header_timeout: float, *receive_and_send: float) -> float:
    """How often a busy HTTP/1 connection looks at its receive and send deadlines."""
    return _half_shortest(receive_and_send, header_timeout)


def http2_tick(*timeouts: float) -> float:
    """One sweep looks at every deadline of an HTTP/2 connection's streams (header block, body
    gap, whole request, send, stall)."""
    return _half_shortest(timeouts, 1.0)


def _half_shortest(timeouts: tuple[float, ...], otherwise: float) -> float:
    """Often enough that each deadline (0: off) fires within half of itself late."""
    spans = [t for t in timeouts if t]
    return max(min(spans) / 2, 0.01) if spans else otherwise
