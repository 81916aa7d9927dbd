"""RateLimitPolicy: request rate limits at the gateway, per client, counted locally or in Redis."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints

from .common import (
    API_VERSION,
    ApiModel,
    HeaderName,
    PolicyStatus,
    SecretKeyReference,
    SectionName,
    cel,
    list_map,
    validations,
)
from .meta import ObjectMeta
from .targets import EdgeTargetReferences


class RateLimitRule(ApiModel):
    """One limit: `requests` per `per`, counted separately for each value of `key`.

    ```yaml
    - name: per-consumer
      key: APIKeyConsumer
      requests: 100
      per: Minute
      burst: 20
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.key == 'Header' ? has(self.header) : !has(self.header)",
                "header must be set when key is Header, and only then",
                field_path=".header",
            ),
            cel(
                "self.key == 'JWTClaim' ? has(self.claim) : !has(self.claim)",
                "claim must be set when key is JWTClaim, and only then",
                field_path=".claim",
            ),
        )
    )

    name: SectionName
    """Rule name, shown in metrics and the `RateLimit-Policy` header."""
    key: Literal["ClientIP", "Header", "APIKeyConsumer", "JWTClaim"]
    """What a separate counter is kept for: the client IP, a request header's value, the consumer
    authenticated by API key, or a JWT claim."""
    header: HeaderName | None = None
    """The header, for key Header."""
    claim: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    """The claim, for key JWTClaim."""
    requests: Annotated[int, Field(ge=1, le=1000000000)]
    """Requests allowed per `per`."""
    per: Literal["Second", "Minute", "Hour"]
    """The window."""
    burst: Annotated[int, Field(ge=0, le=1000000000)] = 0
    """Extra requests allowed at once above the steady rate."""


class GlobalBackend(ApiModel):
    """The Redis that holds shared counters."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.redisURL) != has(self.secretRef)",
                "set exactly one of redisURL or secretRef (a Secret key holding the URL)",
            ),
        )
    )

    redis_url: (
        Annotated[str, StringConstraints(max_length=2048, pattern=r"^rediss?://[^\s]+$")] | None
    ) = Field(default=None, alias="redisURL")
    """`redis://host:6379/0` or `rediss://` for TLS; put credentials in a Secret instead."""
    secret_ref: SecretKeyReference | None = None
    """A Secret key holding the Redis URL."""


class RateLimitPolicySpec(ApiModel):
    """Desired state of a RateLimitPolicy."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.mode != 'Local' || !has(self.global)",
                "global is only used when mode is Global",
                field_path=".global",
            ),
        )
    )

    target_refs: EdgeTargetReferences
    """Gateways or Routes whose requests are limited."""
    rules: Annotated[
        list[RateLimitRule], Field(min_length=1, max_length=16, json_schema_extra=list_map("name"))
    ]
    """Limits; a request is rejected with 429 when any rule is over its limit."""
    mode: Literal["Local", "Global"] = "Local"
    """`Local`: each gateway Pod counts alone; `Global`: Pods share counters in Redis."""
    global_: GlobalBackend | None = Field(default=None, alias="global")
    """The Redis for mode Global; left out, the operator's (the chart's `rateLimit.redisUrl`)."""
    failure_mode: Literal["Open", "Closed"] = "Open"
    """When Redis is unreachable: `Open` lets requests through, `Closed` rejects them with 429."""
    split_across_replicas: bool = True
    """In mode Local, divide each limit by the number of gateway Pods so the total stays near it."""


class RateLimitPolicy(ApiModel):
    """Rate limits at the gateway, per client IP, header, API key consumer or JWT claim."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: RateLimitPolicy
metadata:
  name: per-client
  namespace: shop
spec:
  targetRefs:
    - kind: Gateway
      name: edge
  rules:
    - name: per-ip
      key: ClientIP
      requests: 20
      per: Second
      burst: 10
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["RateLimitPolicy"] = "RateLimitPolicy"
    metadata: ObjectMeta
    spec: RateLimitPolicySpec
    status: PolicyStatus | None = None
