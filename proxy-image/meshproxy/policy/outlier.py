"""Outlier detection: take an endpoint out of the balancer after consecutive failures.

The rules are Envoy's (which Istio's DestinationRule exposes under the same names):
- every 5xx, and every local failure (`status` None: connect failure, reset, timeout), counts
  towards `consecutive5xxErrors`; only 502, 503, 504 and local failures count towards
  `consecutiveGatewayErrors`, and any other 5xx resets that count; any response below 500
  resets both. A threshold of 0 disables that rule.
- reaching a threshold ejects the endpoint for `baseEjectionTime * n`, n being how often it
  has been ejected, capped at max(300 s, baseEjectionTime) as Envoy's default
  `max_ejection_time` is.
- `maxEjectionPercent`: an endpoint is ejected only while the share already ejected is below
  the percentage. So one endpoint can always be ejected when none is (unless the percentage is
  0), and the last ejection may overshoot the percentage by one endpoint: Envoy's documented
  "if no hosts have been ejected, eject immediately" rule, which gRPC also follows. A cluster
  of one endpoint can therefore lose it; the balancer then answers None and the upstream layer
  routes across the ejected endpoints rather than fail every request (panic routing).
- `tick(now)` returns expired endpoints to service with fresh counters, and once per
  `interval` lowers the ejection multiplier of every endpoint that is in service, so an
  endpoint that stays healthy is forgiven its past ejections step by step.
- results that arrive for an endpoint while it is ejected are ignored (in-flight stragglers).

This module must never read the clock or do I/O: `now` is passed in.
"""

from __future__ import annotations

from meshproxy import config
from meshproxy.policy.balancer import EndpointState

__all__ = ["OutlierDetector"]

_MAX_EJECTION_TIME = 300.0  # Envoy's default max_ejection_time
_GATEWAY_ERRORS = frozenset({502, 503, 504})


class OutlierDetector:
    __slots__ = (
        "_base",
        "_cap",
        "_endpoints",
        "_gateway_threshold",
        "_interval",
        "_last_decay",
        "_max_percent",
        "_threshold_5xx",
        "ejections_total",
    )

    def __init__(self, cfg: config.OutlierDetection, endpoints: list[EndpointState]) -> None:
        self._endpoints = endpoints
        self._threshold_5xx = cfg.consecutive_5xx_errors
        self._gateway_threshold = cfg.consecutive_gateway_errors
        self._interval = cfg.interval
        self._base = cfg.base_ejection_time
        self._cap = max(_MAX_EJECTION_TIME, cfg.base_ejection_time)
        self._max_percent = cfg.max_ejection_percent
        self._last_decay: float | None = None
        self.ejections_total = 0

    def record(self, endpoint: EndpointState, status: int | None, now: float) -> bool:
        """Count one result of `endpoint`; True when this result ejected it."""
        if endpoint.ejected_until > now:
            return False
        if status is not None and status < 500:
            endpoint.consecutive_5xx = 0
            endpoint.consecutive_gateway_errors = 0
            return False
        endpoint.consecutive_5xx += 1
        if status is None or status in _GATEWAY_ERRORS:
            endpoint.consecutive_gateway_errors += 1
        else:
            endpoint.consecutive_gateway_errors = 0
        tripped = (0 < self._threshold_5xx <= endpoint.consecutive_5xx) or (
            0 < self._gateway_threshold <= endpoint.consecutive_gateway_errors
        )
        if not tripped or not self._may_eject(now):
            return False
        endpoint.ejection_count += 1
        endpoint.ejected_until = now + min(self._base * endpoint.ejection_count, self._cap)
        endpoint.consecutive_5xx = 0
        endpoint.consecutive_gateway_errors = 0
        self.ejections_total += 1
        return True

    def tick(self, now: float) -> list[EndpointState]:
        """Return expired endpoints to service; the list is those returned now."""
        returned: list[EndpointState] = []
        decay = self._last_decay is None or now - self._last_decay >= self._interval
        if decay:
            self._last_decay = now
        for endpoint in self._endpoints:
            if endpoint.ejected_until > now:
                continue
            if endpoint.ejected_until:
                endpoint.ejected_until = 0.0
                endpoint.consecutive_5xx = 0
                endpoint.consecutive_gateway_errors = 0
                returned.append(endpoint)
            elif decay and endpoint.ejection_count:
                endpoint.ejection_count -= 1
        return returned

    def ejected(self, now: float) -> int:
        """How many endpoints are out of service at `now` (a gauge for metrics)."""
        return sum(1 for e in self._endpoints if e.ejected_until > now)

    def _may_eject(self, now: float) -> bool:
        total = len(self._endpoints)
        if total == 0:
            return False
        return 100.0 * self.ejected(now) / total < self._max_percent
