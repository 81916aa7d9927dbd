"""Process-wide settings: access log, tracing headers and the connection limits."""

from __future__ import annotations

from typing import Annotated

import msgspec

from .base import Model, NonNegative, Positive, Seconds
from .http2 import Http2Limits


class AccessLog(Model, frozen=True):
    enabled: bool = True
    path: str = "-"  # "-" is stdout


class Tracing(Model, frozen=True):
    propagate: bool = True  # W3C traceparent: forward, or start one when absent
    request_id_header: str = "x-request-id"


class Observability(Model, frozen=True):
    access_log: AccessLog = msgspec.field(default_factory=AccessLog)
    tracing: Tracing = msgspec.field(default_factory=Tracing)


class Limits(Model, frozen=True):
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    max_request_body_bytes: NonNegative = 16 * 1024 * 1024
    header_timeout: Seconds = 10.0
    idle_timeout: Seconds = 60.0
    drain_timeout: Seconds = 20.0
    max_pipelined_requests: Positive = 64
    # Past this resident size new connections are refused and new requests shed with 503.
    # Unset: 90 % of the container's memory limit (cgroup), none when it has no limit; 0: off.
    memory_ceiling_bytes: NonNegative | msgspec.UnsetType = msgspec.UNSET
    http2: Http2Limits = msgspec.field(default_factory=Http2Limits)
