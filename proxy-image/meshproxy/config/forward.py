"""Sending a request upstream: weighted clusters, mirrors, retries and their budget."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .base import Model, NonNegative, Percent, Seconds
from .filters import HeaderModifier, Rewrite


class Mirror(Model, frozen=True):
    cluster: str
    percent: Percent = 100.0


class Backoff(Model, frozen=True):
    base_interval: Seconds = 0.025
    max_interval: Seconds = 0.25
    jitter: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5


class RetryBudget(Model, frozen=True):
    """Retries may add at most `percent` of the active requests, and always `min_concurrency`."""

    percent: Percent = 20.0
    min_concurrency: NonNegative = 3


RetryOn = Literal[
    "5xx",
    "gateway-error",
    "connect-failure",
    "reset",
    "retriable-status-codes",
    "refused-stream",
    # gRPC: the `grpc-status` of a response that ended with its headers (Envoy's conditions).
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
]

_DEFAULT_RETRY_ON: tuple[RetryOn, ...] = ("connect-failure", "reset")


def _default_retry_on() -> list[RetryOn]:
    return list(_DEFAULT_RETRY_ON)


class Retry(Model, frozen=True):
    attempts: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2  # retries after the first try
    per_try_timeout: Seconds | None = None
    retry_on: list[RetryOn] = msgspec.field(default_factory=_default_retry_on)
    retriable_status_codes: list[Annotated[int, msgspec.Meta(ge=100, le=599)]] = msgspec.field(
        default_factory=list
    )
    backoff: Backoff = msgspec.field(default_factory=Backoff)
    budget: RetryBudget | None = None
    retry_non_idempotent: bool = False


class WeightedCluster(Model, frozen=True, omit_defaults=True):
    cluster: str
    weight: NonNegative = 1
    # Applied only to the requests sent to this cluster (and their responses), after the
    # route's own modifiers: the Gateway API's backendRef filters. Left out when unset
    # (omit_defaults), so a config without them is the same bytes as before.
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None


class Forward(Model, frozen=True):
    """Send the request upstream to one of the weighted clusters."""

    clusters: Annotated[list[WeightedCluster], msgspec.Meta(min_length=1)]
    timeout: Seconds | None = None  # the whole request, retries included
    retry: Retry | None = None
    rewrite: Rewrite | None = None
    mirrors: list[Mirror] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if not any(c.weight for c in self.clusters):
            raise ValueError("forward.clusters: at least one weight must be above zero")
