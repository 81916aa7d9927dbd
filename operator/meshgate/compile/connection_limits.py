"""A Gateway listener's `connectionLimits` to the proxy listener's. Pure.

Listeners that share a port become one proxy listener, and the CRD makes them agree on their
limits, so the first one's are the port's. A listener without limits leaves the proxy's field
unset, so the proxy's defaults apply and configs that set none stay as they were.
"""

from __future__ import annotations

import msgspec

from meshgate.api.v1alpha1.gateway import Listener
from meshproxy import config as pc

from .durations import seconds

_DURATIONS = ("header_timeout", "body_timeout", "request_timeout", "idle_timeout", "send_timeout")


def port_limits(group: list[Listener]) -> pc.ConnectionLimits | msgspec.UnsetType:
    given = next((ln.connection_limits for ln in group if ln.connection_limits), None)
    if given is None:
        return msgspec.UNSET
    fields: dict[str, object] = {}
    for name in _DURATIONS:
        value = getattr(given, name)
        if value is not None:
            fields[name] = seconds(value)
    for name in (
        "write_buffer_bytes",
        "max_connections",
        "max_connections_per_client",
        "max_pending_requests",
    ):
        value = getattr(given, name)
        if value is not None:
            fields[name] = value
    return pc.ConnectionLimits(**fields)  # type: ignore[arg-type]
