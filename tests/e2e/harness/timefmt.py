"""RFC 3339 timestamps as the API server writes them. Pure."""

from __future__ import annotations

import time


def rfc3339(epoch: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if epoch is None else epoch))


def rfc3339_micro(epoch: float | None = None) -> str:
    """MicroTime, as Leases want it."""
    t = time.time() if epoch is None else epoch
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"
