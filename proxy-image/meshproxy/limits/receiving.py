"""Whether a request still arriving has passed its body gap or whole-request limit.

Judged at a connection's periodic look, from how many body bytes had arrived then: nothing per
chunk reads the clock. Pure: the caller owns the clock values and does what the answer says.
"""

from __future__ import annotations

from .guard import BODY_TIMEOUT, REQUEST_TIMEOUT

# A gRPC call's request stream lasts as long as the call (client and bidirectional streaming):
# the call's own deadline (`grpc-timeout`) bounds it, not the listener's whole-request limit, and
# a pause between its messages is the application's, allowed as long as Envoy's stream idle
# timeout (5 minutes) when the listener's body timeout is shorter.
GRPC_STREAM_IDLE = 300.0


def stream_limits(grpc: bool, body_timeout: float, request_timeout: float) -> tuple[float, float]:
    """(body gap, whole request) limits of one HTTP/2 stream's request body; 0 is off."""
    if not grpc:
        return body_timeout, request_timeout
    return (max(body_timeout, GRPC_STREAM_IDLE) if body_timeout else 0.0), 0.0


class ReceiveClock:
    """When a request was first seen arriving, and when its body last grew."""

    __slots__ = ("progress_at", "seen", "since")

    def __init__(self, now: float, received: int) -> None:
        self.since = now
        self.seen = received
        self.progress_at = now


def receive_overdue(
    clock: ReceiveClock,
    now: float,
    received: int,
    held: bool,
    body_timeout: float,
    request_timeout: float,
) -> str | None:
    """The limit the request has passed, if any (timeouts of 0 are off). `held`: the proxy is not
    taking the body now (its consumer is slow), so a gap is not the client's."""
    if request_timeout and now - clock.since >= request_timeout:
        return REQUEST_TIMEOUT
    if received != clock.seen or held:
        clock.seen = received
        clock.progress_at = now
        return None
    if body_timeout and now - clock.progress_at >= body_timeout:
        return BODY_TIMEOUT
    return None
