"""Retry decisions: whether to try a request again, how long to wait, and the retry budget.

`retryOn` follows Envoy's conditions, which Istio and the Gateway API expose:
- `5xx`: any 5xx response, and any attempt that got no response (connect failure, reset,
  timeout);
- `gateway-error`: 502, 503, 504, and likewise any attempt that got no response;
- `reset`: no response at all (disconnect, reset, per-try timeout), connect failures included;
- `connect-failure`: the connection to the upstream could not be made;
- `retriable-status-codes`: a response status in `retriableStatusCodes`;
- `refused-stream`: an HTTP/2 upstream refused the stream (it never reached the application);
- `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`: a gRPC
  response whose headers carry that `grpc-status` (a call that failed before sending a message).
  gRPC calls are all POSTs: these conditions hold whatever the method, as in Envoy.

Safety comes before the conditions: only a replayable request (its body still buffered) is ever
retried; a request that may have reached the upstream is retried only when its method is
idempotent (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or the policy says
`retryNonIdempotent`. A connect failure is safe for every method: nothing was sent.

This module must never sleep, read the clock or draw random numbers: the caller passes `r`.
"""

from __future__ import annotations

from meshproxy import config

__all__ = ["FAILURES", "RetryBudget", "RetryDecider"]

FAILURES = frozenset({"connect-failure", "reset", "timeout"})
# `retryOn` conditions naming a gRPC status, and that status (as `http2.grpc.RETRY_CODES`).
GRPC_CODES = {
    "cancelled": "1",
    "deadline-exceeded": "4",
    "internal": "13",
    "resource-exhausted": "8",
    "unavailable": "14",
}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_GATEWAY_ERRORS = frozenset({502, 503, 504})


class RetryDecider:
    __slots__ = (
        "_attempts",
        "_base",
        "_codes",
        "_grpc",
        "_jitter",
        "_max",
        "_non_idempotent",
        "_on_5xx",
        "_on_connect",
        "_on_gateway",
        "_on_reset",
        "attempts",
        "per_try_timeout",
    )

    def __init__(self, cfg: config.Retry) -> None:
        retry_on = set(cfg.retry_on)
        self.attempts = cfg.attempts
        self.per_try_timeout = cfg.per_try_timeout
        self._attempts = cfg.attempts
        self._on_5xx = "5xx" in retry_on
        self._on_gateway = "gateway-error" in retry_on
        self._on_reset = "reset" in retry_on
        self._on_connect = "connect-failure" in retry_on
        self._codes = (
            frozenset(cfg.retriable_status_codes)
            if "retriable-status-codes" in retry_on
            else frozenset()
        )
        self._grpc = frozenset(GRPC_CODES[c] for c in retry_on if c in GRPC_CODES)
        self._non_idempotent = cfg.retry_non_idempotent
        self._base = cfg.backoff.base_interval
        self._max = max(cfg.backoff.max_interval, cfg.backoff.base_interval)
        self._jitter = cfg.backoff.jitter

    def should_retry(
        self, method: str, status: int | None, failure: str | None, attempt: int, replayable: bool
    ) -> bool:
        """May the request go again? `attempt` is the number of retries already made.

        `status` is the upstream's response status (None when there was none); `failure` is one
        of FAILURES when the attempt got no response.
        """
        if attempt >= self._attempts or not replayable:
            return False
        if failure is not None:
            no_response = self._on_5xx or self._on_gateway or self._on_reset
            if failure == "connect-failure":
                return self._on_connect or no_response
            matched = no_response
        elif status is None:
            return False
        else:
            matched = (
                (self._on_5xx and status >= 500)
                or (self._on_gateway and status in _GATEWAY_ERRORS)
                or status in self._codes
            )
        return matched and (self._non_idempotent or method in _IDEMPOTENT)

    def should_retry_grpc(self, grpc_status: str, attempt: int, replayable: bool) -> bool:
        """May a gRPC call that ended with `grpc_status` in its headers go again?"""
        return attempt < self._attempts and replayable and grpc_status in self._grpc

    def backoff(self, attempt: int, r: float) -> float:
        """Seconds to wait before retry number `attempt` + 1, for `r` uniform in [0, 1).

        base * 2**attempt, capped at the max interval, minus up to `jitter` of itself, so
        retries of many clients do not arrive in step.
        """
        delay = self._max if attempt >= 32 else min(self._base * (1 << attempt), self._max)
        return delay * (1.0 - self._jitter * r)


class RetryBudget:
    """Retries may be at most `percent` of the active requests, and `min_concurrency` always.

    This is what keeps retries from multiplying the load on an upstream that is already failing.
    """

    __slots__ = ("_min", "_ratio")

    def __init__(self, cfg: config.RetryBudget) -> None:
        self._ratio = cfg.percent / 100.0
        self._min = cfg.min_concurrency

    def allow(self, active_requests: int, active_retries: int) -> bool:
        """May one more retry start, given what is in flight now?"""
        return active_retries < max(self._min, active_requests * self._ratio)
