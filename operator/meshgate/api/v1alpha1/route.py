"""Route: HTTP routing for Gateways and for mesh Services, in the Kubernetes Gateway API HTTPRoute
shape (matches, filters, weighted backendRefs, timeouts, retry), plus meshgate's own filters."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from .common import (
    API_VERSION,
    LIST_SET,
    ApiModel,
    Conditions,
    Duration,
    HeaderName,
    Hostname,
    LocalObjectReference,
    Namespace,
    ObjectName,
    ObjectStatusReference,
    PortNumber,
    SectionName,
    Summary,
    cel,
    list_map,
    validations,
)
from .meta import ObjectMeta

PathValue = Annotated[str, StringConstraints(max_length=1024)]
HeaderValue = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
HttpMethodOrAny = Literal[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"
]


# --- matches ---------------------------------------------------------------------------------


def _compiles(kind: str, value: str) -> None:
    """A `RegularExpression` value must compile in the proxy's engine (Python `re`): the proxy
    refuses a whole config holding one that does not, so the operator must leave its Route out
    (`Accepted=False, Invalid`) instead of freezing every Route of the Gateway. CEL cannot check
    this at admission: its regexes are RE2."""
    if kind != "RegularExpression":
        return
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None


class PathMatch(ApiModel):
    """How to match the request path.

    ```yaml
    path:
      type: PathPrefix
      value: /v1
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.type == 'RegularExpression' || self.value.startsWith('/')",
                "value must be an absolute path starting with '/' when type is Exact or PathPrefix",
                field_path=".value",
            ),
            cel(
                "self.type == 'RegularExpression' || !self.value.contains('//')",
                "value must not contain '//' when type is Exact or PathPrefix",
                field_path=".value",
            ),
            cel(
                "self.type != 'RegularExpression' || size(self.value) > 0",
                "value must not be empty when type is"
                " RegularExpression; write a regex such as ^/v[0-9]+/",
                field_path=".value",
            ),
        )
    )

    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    """`Exact`: the whole path; `PathPrefix`: whole path segments (`/v1` matches `/v1` and
    `/v1/x`, not `/v10`); `RegularExpression`: matched against the whole path, in Python `re`
    syntax (RE2's common forms read the same); one that does not compile leaves the Route out
    with `Accepted=False, Invalid`."""
    value: PathValue = "/"
    """The path or expression to match."""

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        _compiles(self.type, self.value)
        return self


class HeaderMatch(ApiModel):
    """Match a request header.

    ```yaml
    headers:
      - name: x-canary
        value: "true"
    ```
    """

    type: Literal["Exact", "RegularExpression"] = "Exact"
    """How to compare the value (a regular expression matches the whole value)."""
    name: HeaderName
    """Header name, case-insensitive."""
    value: HeaderValue
    """Value to compare with."""

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        _compiles(self.type, self.value)
        return self


class QueryParamMatch(ApiModel):
    """Match a query parameter."""

    type: Literal["Exact", "RegularExpression"] = "Exact"
    """How to compare the value (a regular expression matches the whole value)."""
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Query parameter name, case-sensitive."""
    value: HeaderValue
    """Value to compare with."""

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        _compiles(self.type, self.value)
        return self


class RouteMatch(ApiModel):
    """Conditions a request must meet, all of them, for the rule to apply.

    ```yaml
    matches:
      - path: {type: PathPrefix, value: /api}
        method: GET
        headers:
          - name: x-version
            value: "2"
    ```
    """

    path: PathMatch = Field(default_factory=PathMatch)
    """Path match; defaults to prefix `/` (every path)."""
    headers: (
        Annotated[list[HeaderMatch], Field(max_length=16, json_schema_extra=list_map("name"))]
        | None
    ) = None
    """Headers that must all match."""
    query_params: (
        Annotated[list[QueryParamMatch], Field(max_length=16, json_schema_extra=list_map("name"))]
        | None
    ) = None
    """Query parameters that must all match."""
    method: HttpMethod | None = None
    """HTTP method that must match."""


# --- Gateway API filters ---------------------------------------------------------------------


class HTTPHeader(ApiModel):
    """A header name and value."""

    name: HeaderName
    """Header name."""
    value: Annotated[str, StringConstraints(max_length=4096)]
    """Header value."""


class HeaderModifier(ApiModel):
    """Set, add or remove headers.

    ```yaml
    requestHeaderModifier:
      set:
        - name: x-api-version
          value: v2
      remove: [x-debug]
    ```
    """

    set: (
        Annotated[list[HTTPHeader], Field(max_length=16, json_schema_extra=list_map("name"))] | None
    ) = None
    """Headers to overwrite (or add when absent)."""
    add: (
        Annotated[list[HTTPHeader], Field(max_length=16, json_schema_extra=list_map("name"))] | None
    ) = None
    """Headers to append to, keeping existing values."""
    remove: Annotated[list[HeaderName], Field(max_length=16, json_schema_extra=LIST_SET)] | None = (
        None
    )
    """Header names to remove."""


class PathModifier(ApiModel):
    """How to rewrite or redirect the path."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.type == 'ReplaceFullPath' ?"
                " has(self.replaceFullPath) : !has(self.replaceFullPath)",
                "replaceFullPath must be set when type is ReplaceFullPath, and only then",
            ),
            cel(
                "self.type == 'ReplacePrefixMatch' ?"
                " has(self.replacePrefixMatch) : !has(self.replacePrefixMatch)",
                "replacePrefixMatch must be set when type is ReplacePrefixMatch, and only then",
            ),
        )
    )

    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    """`ReplaceFullPath` replaces the whole path; `ReplacePrefixMatch` replaces the part matched
    by the rule's PathPrefix match."""
    replace_full_path: PathValue | None = None
    """New path."""
    replace_prefix_match: PathValue | None = None
    """New prefix, e.g. `/v1` → `/` sends `/v1/users` as `/users`."""


class URLRewrite(ApiModel):
    """Rewrite the request before sending it to the backend.

    ```yaml
    urlRewrite:
      path:
        type: ReplacePrefixMatch
        replacePrefixMatch: /
    ```
    """

    hostname: Hostname | None = None
    """New Host header."""
    path: PathModifier | None = None
    """New path."""


class RequestRedirect(ApiModel):
    """Answer with a redirect instead of forwarding.

    ```yaml
    requestRedirect:
      scheme: https
      statusCode: 301
    ```
    """

    scheme: Literal["http", "https"] | None = None
    """Scheme of the Location; unchanged when unset."""
    hostname: Hostname | None = None
    """Host of the Location; unchanged when unset."""
    path: PathModifier | None = None
    """Path of the Location; unchanged when unset."""
    port: PortNumber | None = None
    """Port of the Location; the scheme's default when unset."""
    status_code: Literal[301, 302, 303, 307, 308] = 302
    """Redirect status code."""


class BackendObjectReference(ApiModel):
    """A Service and port."""

    group: Literal[""] = ""
    """API group of the backend; Services are in the core group, the empty string."""
    kind: Literal["Service"] = "Service"
    """Kind of the backend."""
    name: ObjectName
    """Service name."""
    namespace: Namespace | None = None
    """Service namespace; defaults to the Route's namespace."""
    port: PortNumber
    """Service port."""


class RequestMirror(ApiModel):
    """Send a copy of requests to another backend; its responses are discarded.

    ```yaml
    requestMirror:
      backendRef: {name: orders-shadow, port: 8080}
      percent: 10
    ```
    """

    backend_ref: BackendObjectReference
    """Where copies go."""
    percent: Annotated[int, Field(ge=0, le=100)] = 100
    """Share of requests to mirror, 0 to 100."""


# --- meshgate filters ------------------------------------------------------------------------


class FaultDelay(ApiModel):
    """Delay a share of requests."""

    fixed_delay: Duration
    """How long to wait before forwarding."""
    percentage: Annotated[float, Field(ge=0, le=100)] = 100
    """Share of requests delayed, 0 to 100."""


class FaultAbort(ApiModel):
    """Answer a share of requests with an error status instead of forwarding."""

    http_status: Annotated[int, Field(ge=200, le=599)]
    """Status code to answer with."""
    percentage: Annotated[float, Field(ge=0, le=100)] = 100
    """Share of requests aborted, 0 to 100."""


class Fault(ApiModel):
    """Inject faults to test how clients cope.

    ```yaml
    fault:
      delay: {fixedDelay: 2s, percentage: 10}
      abort: {httpStatus: 503, percentage: 1}
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("has(self.delay) || has(self.abort)", "set delay, abort or both"),
        )
    )

    delay: FaultDelay | None = None
    """Delay injection."""
    abort: FaultAbort | None = None
    """Abort injection."""


Origin = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=253, pattern=r"^(\*|https?://(\*\.)?[a-z0-9.-]+(:[0-9]{1,5})?)$"
    ),
]


class CORS(ApiModel):
    """Answer CORS preflight requests and add CORS headers, as the Gateway API CORS filter.

    ```yaml
    cors:
      allowOrigins: ["https://app.example.com"]
      allowMethods: [GET, POST]
      allowHeaders: [authorization, content-type]
      maxAge: 600
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!(has(self.allowCredentials) && self.allowCredentials"
                " && has(self.allowOrigins) && '*' in self.allowOrigins)",
                "allowOrigins must list explicit origins, not '*', when allowCredentials is true",
                field_path=".allowOrigins",
            ),
        )
    )

    allow_origins: Annotated[
        list[Origin], Field(min_length=1, max_length=64, json_schema_extra=LIST_SET)
    ]
    """Origins allowed, e.g. `https://app.example.com`; `*` allows any."""
    allow_methods: (
        Annotated[list[HttpMethodOrAny], Field(max_length=10, json_schema_extra=LIST_SET)] | None
    ) = None
    """Methods allowed; `*` allows any."""
    allow_headers: (
        Annotated[list[HeaderName], Field(max_length=64, json_schema_extra=LIST_SET)] | None
    ) = None
    """Request headers allowed."""
    expose_headers: (
        Annotated[list[HeaderName], Field(max_length=64, json_schema_extra=LIST_SET)] | None
    ) = None
    """Response headers the browser may read."""
    allow_credentials: bool | None = None
    """Whether credentials (cookies, Authorization) are allowed."""
    max_age: Annotated[int, Field(ge=1, le=86400)] = 5
    """Seconds a preflight answer may be cached."""


class Cache(ApiModel):
    """Cache successful GET and HEAD responses in the proxy.

    ```yaml
    cache:
      ttl: 30s
      vary: [accept-language]
    ```
    """

    ttl: Duration
    """How long a response is served from cache; `Cache-Control: max-age` from the backend wins
    when shorter."""
    vary: Annotated[list[HeaderName], Field(max_length=8, json_schema_extra=LIST_SET)] | None = None
    """Request headers that are part of the cache key besides method, host and path."""
    max_entry_bytes: Annotated[int, Field(ge=1, le=16777216)] = 1048576
    """Larger responses are not cached."""
    max_entries: Annotated[int, Field(ge=1, le=1000000)] = 10000
    """Entries per proxy; the least recently used goes first."""


JSONField = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_$-]+(\[\])?(\.[A-Za-z0-9_$-]+(\[\])?)*$"
    ),
]


class JSONProjection(ApiModel):
    """Keep (or drop) only some fields of JSON responses, for lighter payloads.

    Paths use dots for nested objects and `[]` for every element of an array.

    ```yaml
    jsonProjection:
      mode: Include
      fields: [id, name, items[].sku, items[].price]
    ```
    """

    mode: Literal["Include", "Exclude"] = "Include"
    """`Include` keeps only `fields`; `Exclude` removes them."""
    fields: Annotated[
        list[JSONField], Field(min_length=1, max_length=64, json_schema_extra=LIST_SET)
    ]
    """Field paths, e.g. `user.name` or `items[].id`."""
    max_body_bytes: Annotated[int, Field(ge=1, le=16777216)] = 1048576
    """Larger responses pass through unchanged."""


FILTER_FIELDS: dict[str, str] = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "URLRewrite": "urlRewrite",
    "RequestRedirect": "requestRedirect",
    "RequestMirror": "requestMirror",
    "Fault": "fault",
    "CORS": "cors",
    "Cache": "cache",
    "JSONProjection": "jsonProjection",
}
"""Each filter type and the field that carries its settings."""


def _filter_rules() -> list[dict[str, str]]:
    rules = []
    for type_, field in FILTER_FIELDS.items():
        rules.append(
            cel(
                f"self.type != '{type_}' || has(self.{field})",
                f"{field} must be set when type is {type_}",
            )
        )
        rules.append(
            cel(
                f"self.type == '{type_}' || !has(self.{field})",
                f"{field} must only be set when type is {type_}",
            )
        )
    return rules


class RouteFilter(ApiModel):
    """A step applied to matching requests: `type` names it and the field of the same name holds
    its settings.

    ```yaml
    filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: x-tenant, value: blue}]
      - type: Fault
        fault:
          abort: {httpStatus: 503, percentage: 5}
    ```
    """

    model_config = ConfigDict(json_schema_extra=validations(*_filter_rules()))

    type: Literal[
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
        "URLRewrite",
        "RequestRedirect",
        "RequestMirror",
        "Fault",
        "CORS",
        "Cache",
        "JSONProjection",
    ]
    """Which filter this is."""
    request_header_modifier: HeaderModifier | None = None
    """Change request headers."""
    response_header_modifier: HeaderModifier | None = None
    """Change response headers."""
    url_rewrite: URLRewrite | None = None
    """Rewrite host or path before forwarding."""
    request_redirect: RequestRedirect | None = None
    """Answer with a redirect."""
    request_mirror: RequestMirror | None = None
    """Mirror requests to another backend."""
    fault: Fault | None = None
    """Inject delays or errors."""
    cors: CORS | None = None
    """Cross-origin resource sharing."""
    cache: Cache | None = None
    """Response cache."""
    json_projection: JSONProjection | None = None
    """Trim JSON responses."""


# --- backends, timeouts, retry ---------------------------------------------------------------


BACKEND_FILTER_FIELDS: dict[str, str] = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
}
"""The filter types a backendRef may carry, and the field that carries each one's settings."""


class BackendFilter(ApiModel):
    """A header modifier applied only to the requests sent to its backendRef (and to their
    responses), after the rule's own filters.

    ```yaml
    filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: x-backend, value: reviews-v2}]
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            *[
                rule
                for type_, field in BACKEND_FILTER_FIELDS.items()
                for rule in (
                    cel(
                        f"self.type != '{type_}' || has(self.{field})",
                        f"{field} must be set when type is {type_}",
                    ),
                    cel(
                        f"self.type == '{type_}' || !has(self.{field})",
                        f"{field} must only be set when type is {type_}",
                    ),
                )
            ]
        )
    )

    type: Literal["RequestHeaderModifier", "ResponseHeaderModifier"]
    """Which filter this is; a backendRef takes header modifiers only."""
    request_header_modifier: HeaderModifier | None = None
    """Change the headers of requests sent to this backend."""
    response_header_modifier: HeaderModifier | None = None
    """Change the headers of this backend's responses."""


class BackendRef(BackendObjectReference):
    """A Service that receives a share of the rule's traffic.

    ```yaml
    backendRefs:
      - name: reviews
        port: 9080
        subset: v2
        weight: 5
        filters:
          - type: RequestHeaderModifier
            requestHeaderModifier:
              set: [{name: x-backend, value: reviews-v2}]
    ```
    """

    weight: Annotated[int, Field(ge=0, le=1000000)] = 1
    """Share of traffic relative to the rule's other backendRefs; 0 sends none."""
    subset: SectionName | None = None
    """A subset defined by the DestinationRule for this Service, e.g. `v2`."""
    filters: (
        Annotated[
            list[BackendFilter],
            Field(
                max_length=2,
                json_schema_extra=validations(
                    *[
                        cel(
                            f"self.filter(f, f.type == '{t}').size() <= 1",
                            f"a {t} filter may appear only once per backendRef",
                        )
                        for t in BACKEND_FILTER_FIELDS
                    ]
                ),
            ),
        ]
        | None
    ) = None
    """Applied only to the requests this backendRef is picked for, after the rule's filters."""


class RouteTimeouts(ApiModel):
    """Timeouts of a rule, as Gateway API GEP-1742.

    ```yaml
    timeouts:
      request: 10s
      backendRequest: 2s
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!(has(self.request) && has(self.backendRequest)"
                " && duration(self.request) != duration('0s')"
                " && duration(self.backendRequest) > duration(self.request))",
                "backendRequest must be no longer than request",
                field_path=".backendRequest",
            ),
        )
    )

    request: Duration | None = None
    """Whole request, from the first byte received to the response sent, retries included;
    `0s` disables."""
    backend_request: Duration | None = None
    """One attempt at the backend."""


class RouteRetry(ApiModel):
    """Retry failed attempts, as Gateway API GEP-1731.

    ```yaml
    retry:
      attempts: 3
      backoff: 100ms
      codes: [502, 503, 504]
    ```
    """

    attempts: Annotated[int, Field(ge=0, le=10)] = 1
    """Retries after the first attempt."""
    backoff: Duration | None = None
    """Base wait before a retry; it grows exponentially with jitter."""
    codes: (
        Annotated[
            list[Annotated[int, Field(ge=400, le=599)]],
            Field(max_length=16, json_schema_extra=LIST_SET),
        ]
        | None
    ) = None
    """Response codes that are retried; connection failures always are."""


class RouteRule(ApiModel):
    """Matches, the filters for matching requests, and where they go.

    ```yaml
    rules:
      - matches:
          - path: {type: PathPrefix, value: /v1}
        filters:
          - type: URLRewrite
            urlRewrite:
              path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
        backendRefs:
          - name: orders-v1
            port: 8080
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!(has(self.retry) && has(self.retryPolicyRef))",
                "set either retry (inline) or retryPolicyRef, not both",
            ),
            cel(
                "!has(self.backendRefs) || size(self.backendRefs) == 0"
                " || self.backendRefs.exists(b, b.weight > 0)",
                "at least one backendRef needs a weight above 0",
                field_path=".backendRefs",
            ),
            cel(
                "!has(self.backendRefs) || self.backendRefs.all(a, !has(a.filters)"
                " || self.backendRefs.exists_one(b, b.name == a.name && b.port == a.port))",
                "a backendRef with filters must be the only backendRef of its rule naming that"
                " Service port",
                field_path=".backendRefs",
            ),
            cel(
                "!(has(self.backendRefs) && size(self.backendRefs) > 0 && has(self.filters)"
                " && self.filters.exists(f, f.type == 'RequestRedirect'))",
                "a rule with a RequestRedirect filter answers itself: remove its backendRefs",
            ),
            cel(
                "(has(self.backendRefs) && size(self.backendRefs) > 0) || (has(self.filters)"
                " && self.filters.exists(f, f.type == 'RequestRedirect'))",
                "a rule needs backendRefs, or a RequestRedirect filter that answers it",
                field_path=".backendRefs",
            ),
            cel(
                "!has(self.filters) || !self.filters.exists(f, f.type == 'URLRewrite'"
                " && has(f.urlRewrite) && has(f.urlRewrite.path) &&"
                " f.urlRewrite.path.type == 'ReplacePrefixMatch')"
                " || (has(self.matches) && size(self.matches) == 1"
                " && self.matches[0].path.type == 'PathPrefix')",
                "replacePrefixMatch needs exactly one match with a PathPrefix path",
            ),
        )
    )

    name: SectionName | None = None
    """Name of the rule, shown in status and metrics."""
    matches: Annotated[list[RouteMatch], Field(max_length=8)] = Field(
        default_factory=lambda: [RouteMatch()],
        json_schema_extra={"default": [{"path": {"type": "PathPrefix", "value": "/"}}]},
    )
    """Requests matching any entry take this rule; by default every request."""
    filters: (
        Annotated[
            list[RouteFilter],
            Field(
                max_length=16,
                json_schema_extra=validations(
                    cel(
                        "!(self.exists(f, f.type == 'RequestRedirect')"
                        " && self.exists(f, f.type == 'URLRewrite'))",
                        "use either a RequestRedirect or a URLRewrite filter, not both",
                    ),
                    *[
                        cel(
                            f"self.filter(f, f.type == '{t}').size() <= 1",
                            f"a {t} filter may appear only once per rule",
                        )
                        for t in (
                            "RequestHeaderModifier",
                            "ResponseHeaderModifier",
                            "URLRewrite",
                            "RequestRedirect",
                            "Fault",
                            "CORS",
                            "Cache",
                            "JSONProjection",
                        )
                    ],
                ),
            ),
        ]
        | None
    ) = None
    """Applied in order to matching requests."""
    backend_refs: Annotated[list[BackendRef], Field(max_length=16)] | None = None
    """Where matching requests go, split by weight."""
    timeouts: RouteTimeouts | None = None
    """Request and per-attempt timeouts."""
    retry: RouteRetry | None = None
    """Inline retry settings; or use `retryPolicyRef`."""
    retry_policy_ref: LocalObjectReference | None = None
    """A RetryPolicy in this namespace; or use `retry`."""

    @model_validator(mode="after")
    def _filtered_backend_alone_on_its_port(self) -> Self:
        """The CEL rule above, for rules that never meet the API server (HTTPRoute's)."""
        refs = self.backend_refs or []
        for ref in refs:
            if ref.filters and sum(1 for b in refs if (b.name, b.port) == (ref.name, ref.port)) > 1:
                raise ValueError(
                    f"backendRef {ref.name} port {ref.port}: a backendRef with filters must be"
                    " the only backendRef of its rule naming that Service port"
                )
        return self


class ParentReference(ApiModel):
    """A Gateway this Route attaches to.

    ```yaml
    parentRefs:
      - name: edge
        sectionName: https
    ```
    """

    group: Literal["meshgate.io"] = "meshgate.io"
    """API group of the parent."""
    kind: Literal["Gateway"] = "Gateway"
    """Kind of the parent."""
    namespace: Namespace | None = None
    """Namespace of the Gateway; defaults to the Route's namespace."""
    name: ObjectName
    """Gateway name."""
    section_name: SectionName | None = None
    """A listener name; unset attaches to every listener that allows the Route."""
    port: PortNumber | None = None
    """A listener port; unset attaches regardless of port."""


MeshHost = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    ),
]


class RouteSpec(ApiModel):
    """Desired state of a Route."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "(has(self.parentRefs) && size(self.parentRefs) >"
                " 0) || (has(self.hosts) && size(self.hosts) > 0)",
                "set parentRefs (Gateways to serve on),"
                " hosts (mesh Services to route for), or both",
            ),
        )
    )

    parent_refs: Annotated[list[ParentReference], Field(max_length=32)] | None = None
    """Gateways that serve this Route at the edge."""
    hosts: Annotated[list[MeshHost], Field(max_length=16, json_schema_extra=LIST_SET)] | None = None
    """Mesh Services whose in-mesh traffic this Route governs: `reviews` (same namespace) or
    `reviews.shop.svc.cluster.local`."""
    hostnames: (
        Annotated[list[Hostname], Field(max_length=16, json_schema_extra=LIST_SET)] | None
    ) = None
    """Host headers this Route answers on its Gateways; unset takes the listener's."""
    rules: Annotated[list[RouteRule], Field(min_length=1, max_length=16)]
    """Routing rules; the most specific match wins (Gateway API precedence)."""


class ServedOn(ApiModel):
    """Where the Route is in effect."""

    gateways: Annotated[list[ObjectStatusReference], Field(max_length=32)] = Field(
        default_factory=list
    )
    """Gateways (and their listeners, as `sectionName`) that accepted the Route."""
    hosts: Annotated[
        list[Annotated[str, StringConstraints(max_length=253)]], Field(max_length=16)
    ] = Field(default_factory=list)
    """Mesh Services whose sidecars route by it."""


class AppliedPolicy(ApiModel):
    """A policy in effect on the Route and how it got there."""

    kind: Annotated[str, StringConstraints(max_length=63)]
    """Policy kind, e.g. RetryPolicy, EdgeAuthentication, RateLimitPolicy, DestinationRule."""
    namespace: Namespace | None = None
    """Policy namespace."""
    name: ObjectName
    """Policy name."""
    source: Literal["RouteRef", "TargetRef", "GatewayDefault", "MeshDefault"]
    """`RouteRef`: the Route names it; `TargetRef`: the policy targets the Route or its Service;
    `GatewayDefault`: the Gateway's defaults; `MeshDefault`: mesh-wide."""
    rule: SectionName | None = None
    """The rule it applies to, when not the whole Route."""


class RouteSummary(Summary):
    """What `kubectl get routes.meshgate.io` prints."""

    hosts: Annotated[str, StringConstraints(max_length=256)] | None = None
    """Hostnames and mesh hosts, comma separated."""
    parents: Annotated[str, StringConstraints(max_length=256)] | None = None
    """Accepted Gateways over referenced, e.g. `1/1`."""
    backends: Annotated[str, StringConstraints(max_length=64)] | None = None
    """Resolved backendRefs over referenced, e.g. `2/2`."""


class RouteStatus(ApiModel):
    """Observed state of a Route, written by the operator.

    Conditions: `Accepted` (valid and attached to at least one parent or host), `ResolvedRefs`
    (every backend Service, port, subset and RetryPolicy exists).
    """

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The `.metadata.generation` this status describes."""
    conditions: Conditions = Field(default_factory=list)
    """Accepted, ResolvedRefs."""
    served_on: ServedOn | None = None
    """Gateways and mesh hosts where the Route is in effect."""
    applied_policies: Annotated[list[AppliedPolicy], Field(max_length=64)] = Field(
        default_factory=list
    )
    """Policies that shape this Route's traffic, with their source."""
    summary: RouteSummary | None = None
    """The verdict `kubectl get` prints."""


class Route(ApiModel):
    """HTTP routing: which requests go where, with what filters, timeouts and retries; on
    Gateways (`parentRefs`), for mesh Services (`hosts`), or both."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata:
  name: reviews
  namespace: shop
spec:
  parentRefs:
    - name: edge
  hostnames: [shop.example.com]
  rules:
    - matches:
        - path: {type: PathPrefix, value: /reviews}
      timeouts:
        request: 5s
      retry:
        attempts: 2
        backoff: 50ms
        codes: [503]
      backendRefs:
        - name: reviews
          port: 9080
          subset: v1
          weight: 95
        - name: reviews
          port: 9080
          subset: v2
          weight: 5
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["Route"] = "Route"
    metadata: ObjectMeta
    spec: RouteSpec
    status: RouteStatus | None = None
