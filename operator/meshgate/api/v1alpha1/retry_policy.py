"""RetryPolicy: reusable retry settings, attached to Services or Routes or named by a Route."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from .common import (
    API_VERSION,
    LIST_SET,
    ApiModel,
    Duration,
    ObjectName,
    PolicyStatus,
    cel,
    validations,
)
from .meta import ObjectMeta


class RetryTargetReference(ApiModel):
    """A Service (mesh traffic to it) or a Route this policy applies to."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.group) || (self.kind == 'Service' ?"
                " self.group == '' : self.group == 'meshgate.io')",
                "group must be '' for kind Service and meshgate.io for kind Route",
                field_path=".group",
            ),
        )
    )

    group: Literal["", "meshgate.io"] | None = None
    """API group: `''` for Service, `meshgate.io` for Route; may be omitted."""
    kind: Literal["Service", "Route"]
    """Kind of the target."""
    name: ObjectName
    """Name of the target, in the policy's namespace."""


class RetryBackoff(ApiModel):
    """Exponential backoff between attempts: base, doubled each retry up to max."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "duration(self.maxInterval) >= duration(self.baseInterval)",
                "maxInterval must be at least baseInterval",
                field_path=".maxInterval",
            ),
        )
    )

    base_interval: Duration = "25ms"
    """Wait before the first retry."""
    max_interval: Duration = "250ms"
    """Longest wait between retries."""
    jitter: bool = True
    """Randomise each wait between zero and its value, so clients don't retry in step."""


class RetryBudget(ApiModel):
    """A cap on the extra load retries may add, so retries cannot amplify an outage."""

    max_retry_percent: Annotated[int, Field(ge=1, le=100)] = 20
    """Retries may add at most this percent of the live request rate."""
    min_retries_per_second: Annotated[int, Field(ge=0, le=10000)] = 10
    """Retries always allowed per second, even at low traffic."""


RetryOn = Literal["5xx", "gateway-error", "connect-failure", "reset", "retriable-status-codes"]

DEFAULT_RETRY_ON: tuple[RetryOn, ...] = ("connect-failure", "reset", "gateway-error")


class RetryPolicySpec(ApiModel):
    """Desired state of a RetryPolicy."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.retriableStatusCodes) || 'retriable-status-codes' in self.retryOn",
                "retriableStatusCodes is only used when retryOn contains retriable-status-codes",
                field_path=".retriableStatusCodes",
            ),
            cel(
                "!('retriable-status-codes' in self.retryOn) || has(self.retriableStatusCodes)",
                "retryOn retriable-status-codes needs retriableStatusCodes, e.g. [503]",
                field_path=".retriableStatusCodes",
            ),
        )
    )

    target_refs: Annotated[list[RetryTargetReference], Field(max_length=16)] | None = None
    """Services or Routes this policy applies to; a Route may also name it in
    `rules[].retryPolicyRef`."""
    attempts: Annotated[int, Field(ge=0, le=10)] = 2
    """Retries after the first attempt."""
    per_try_timeout: Duration | None = None
    """Timeout of each attempt."""
    # Atomic, not a set: a set would keep the defaulted entries when a user applies their own.
    retry_on: Annotated[list[RetryOn], Field(min_length=1, max_length=5)] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_ON),
        json_schema_extra={"default": list(DEFAULT_RETRY_ON)},
    )
    """Failures that are retried: `5xx` (any 5xx response), `gateway-error` (502, 503, 504),
    `connect-failure`, `reset` (connection reset before a response), `retriable-status-codes`
    (the codes in `retriableStatusCodes`)."""
    retriable_status_codes: (
        Annotated[
            list[Annotated[int, Field(ge=100, le=599)]],
            Field(min_length=1, max_length=16, json_schema_extra=LIST_SET),
        ]
        | None
    ) = None
    """Status codes retried with `retriable-status-codes`."""
    backoff: RetryBackoff = Field(default_factory=RetryBackoff)
    """Wait between attempts."""
    budget: RetryBudget = Field(default_factory=RetryBudget)
    """Limit on added load."""
    retry_non_idempotent: bool = False
    """Retry POST and PATCH requests too. They may not be safe to repeat, so they are never
    retried unless this is true."""


class RetryPolicy(ApiModel):
    """Retries with backoff and a budget, for mesh traffic to Services or for Routes."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: RetryPolicy
metadata:
  name: ratings
  namespace: shop
spec:
  targetRefs:
    - kind: Service
      name: ratings
  attempts: 3
  perTryTimeout: 500ms
  retryOn: [gateway-error, connect-failure, reset]
  backoff:
    baseInterval: 50ms
    maxInterval: 1s
  budget:
    maxRetryPercent: 20
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["RetryPolicy"] = "RetryPolicy"
    metadata: ObjectMeta
    spec: RetryPolicySpec
    status: PolicyStatus | None = None
