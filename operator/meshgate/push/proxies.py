"""The proxies polling this replica and the config version each runs: `istioctl proxy-status`
for meshgate.

A proxy is known by (target, the id it gives, else its address) and counted while it polls:
its polls come at least every `wait` seconds, so one not heard of for longer than
`LIVE_SECONDS` is gone. Pure: the
caller passes the clock reading. Thread-safe: the config server's loop records polls while the
operator's `/metrics` and the status writer read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from meshproxy.delivery.target import Target
from meshproxy.delivery.wire import SLACK, WAIT

LIVE_SECONDS = WAIT + SLACK

ProxyKey = tuple[Target, str]  # (target, the proxy's id or address)


@dataclass(frozen=True)
class Seen:
    identity: str
    applied: str  # the version the proxy says it serves
    at: float  # when it last polled


@dataclass(frozen=True, order=True)
class TargetStatus:
    """How many proxies of one target poll this replica, and how many run `version`."""

    target: Target
    version: str
    current: int
    total: int


class ProxyBook:
    def __init__(self) -> None:
        self._seen: dict[ProxyKey, Seen] = {}
        self._lock = threading.Lock()

    def polled(self, target: Target, address: str, identity: str, applied: str, now: float) -> None:
        with self._lock:
            self._seen[(target, address)] = Seen(identity, applied, now)

    def expire(self, now: float) -> None:
        with self._lock:
            for key in [k for k, s in self._seen.items() if now - s.at > LIVE_SECONDS]:
                del self._seen[key]

    def _items(self) -> list[tuple[ProxyKey, Seen]]:
        with self._lock:
            return list(self._seen.items())

    def applied(self, target: Target, now: float) -> list[str]:
        """The versions the live proxies of `target` run, one per proxy."""
        return [
            s.applied for (t, _), s in self._items() if t == target and now - s.at <= LIVE_SECONDS
        ]

    def status(self, versions: Mapping[Target, str], now: float) -> list[TargetStatus]:
        """Per target with a config: proxies polling here, and those on its current version."""
        out = []
        for target in sorted(versions):
            runs = self.applied(target, now)
            current = sum(1 for v in runs if v == versions[target])
            out.append(TargetStatus(target, versions[target], current, len(runs)))
        return out

    def counts(self, now: float) -> dict[Target, dict[str, int]]:
        """Per target, how many live proxies run which version (this replica's report)."""
        out: dict[Target, dict[str, int]] = {}
        for (target, _), seen in self._items():
            if now - seen.at <= LIVE_SECONDS:
                by_version = out.setdefault(target, {})
                by_version[seen.applied] = by_version.get(seen.applied, 0) + 1
        return out
