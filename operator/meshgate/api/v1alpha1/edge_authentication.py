"""EdgeAuthentication: who a client is at the gateway, by API key (kept in Secrets) or by JWT."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints

from .common import (
    API_VERSION,
    LIST_SET,
    ApiModel,
    Duration,
    HeaderName,
    LocalObjectReference,
    PolicyStatus,
    SecretKeyReference,
    SectionName,
    cel,
    list_map,
    validations,
)
from .meta import ObjectMeta
from .targets import EdgeTargetReferences


class APIKeys(ApiModel):
    """API keys. Each Secret's data maps a consumer name to that consumer's key; the gateway
    compares keys by hash and forwards the consumer name, never the key.

    ```yaml
    apiKeys:
      secretRefs:
        - name: partner-keys     # data: {acme: <key>, globex: <key>}
      header: x-api-key
      consumerHeader: x-consumer
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.header) != has(self.query)",
                "read the key from exactly one place: set header"
                " (e.g. x-api-key) or query (e.g. api_key)",
            ),
            cel(
                "!has(self.query) || (has(self.stripKey) && !self.stripKey)",
                "stripKey cannot remove a key read from the query string (the gateway forwards"
                " the query as sent): set stripKey: false, or read the key from a header",
                field_path=".stripKey",
            ),
        )
    )

    secret_refs: Annotated[list[LocalObjectReference], Field(min_length=1, max_length=16)]
    """Secrets of consumers and their keys, in the policy's namespace."""
    header: HeaderName | None = None
    """Request header carrying the key."""
    query: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    """Query parameter carrying the key."""
    consumer_header: HeaderName = "x-meshgate-consumer"
    """Header set on the forwarded request to the authenticated consumer's name."""
    strip_key: bool = True
    """Remove the key header from the forwarded request. A key read from the query string is
    forwarded as sent: `query` needs `stripKey: false`."""


class JWKSSource(ApiModel):
    """Where the provider's signing keys (a JWKS document) come from."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.secretRef) != has(self.uri)",
                "set exactly one of jwks.secretRef (a JWKS in"
                " a Secret) or jwks.uri (fetched over HTTPS)",
            ),
        )
    )

    secret_ref: SecretKeyReference | None = None
    """A Secret key holding the JWKS JSON."""
    uri: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https://[^\s]+$")] | None = (
        None
    )
    """An https URL serving the JWKS; the gateway proxies fetch it, and again every
    `refreshInterval`."""
    refresh_interval: Duration = "10m"
    """How often the URL is fetched again."""


class ClaimToHeader(ApiModel):
    """Copy a claim into a request header."""

    claim: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Claim name; dots reach into nested objects, e.g. `org.id`."""
    header: HeaderName
    """Header to set."""


class JWTProvider(ApiModel):
    """One token issuer.

    ```yaml
    - name: auth0
      issuer: https://example.eu.auth0.com/
      audiences: [shop-api]
      jwks:
        uri: https://example.eu.auth0.com/.well-known/jwks.json
      claimToHeaders:
        - {claim: sub, header: x-user}
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.clockSkew) || duration(self.clockSkew) <= duration('300s')",
                "clockSkew above 300s is not served: a token may be at most 5 minutes"
                " past its exp or before its nbf",
                field_path=".clockSkew",
            ),
        )
    )

    name: SectionName
    """Provider name, unique in the policy."""
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    """Required `iss` claim."""
    audiences: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=256)]],
            Field(max_length=16, json_schema_extra=LIST_SET),
        ]
        | None
    ) = None
    """Accepted `aud` values; unset accepts any."""
    jwks: JWKSSource
    """Signing keys: RSA (RS256, RS384, RS512, PS256, PS384, PS512), EC P-256, P-384, P-521
    (ES256, ES384, ES512) or Ed25519 (EdDSA). A key that names its `alg` verifies only that."""
    claim_to_headers: (
        Annotated[list[ClaimToHeader], Field(max_length=16, json_schema_extra=list_map("header"))]
        | None
    ) = None
    """Claims forwarded as headers."""
    clock_skew: Duration = "60s"
    """Tolerance for `exp` and `nbf`; at most `300s`."""


class JWT(ApiModel):
    """JWT bearer tokens (`Authorization: Bearer <token>`), valid when any provider accepts them."""

    providers: Annotated[
        list[JWTProvider], Field(min_length=1, max_length=8, json_schema_extra=list_map("name"))
    ]
    """Accepted issuers."""


class EdgeAuthenticationSpec(ApiModel):
    """Desired state of an EdgeAuthentication."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("has(self.apiKeys) || has(self.jwt)", "set apiKeys, jwt or both"),
        )
    )

    target_refs: EdgeTargetReferences
    """Gateways or Routes whose requests must authenticate."""
    api_keys: APIKeys | None = None
    """API key authentication."""
    jwt: JWT | None = None
    """JWT authentication."""
    mode: Literal["Required", "Optional"] = "Required"
    """`Required`: unauthenticated requests get 401; `Optional`: they pass without identity
    headers (bad credentials still get 401)."""


class EdgeAuthentication(ApiModel):
    """Authentication at the gateway: API keys kept in Secrets and compared by hash, JWT validated
    against JWKS; when both are set, either one authenticates."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: EdgeAuthentication
metadata:
  name: partners
  namespace: shop
spec:
  targetRefs:
    - kind: Route
      name: partner-api
  apiKeys:
    secretRefs:
      - name: partner-keys
    header: x-api-key
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["EdgeAuthentication"] = "EdgeAuthentication"
    metadata: ObjectMeta
    spec: EdgeAuthenticationSpec
    status: PolicyStatus | None = None
