"""AuthorizationPolicy: who may call a workload and how, in Istio's AuthorizationPolicy shape.

Identities come from verified mTLS certificates (SPIFFE IDs), never from request headers.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints

from .common import API_VERSION, LIST_SET, ApiModel, LabelSelector, PolicyStatus, cel, validations
from .meta import ObjectMeta

Value = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Values = Annotated[list[Value], Field(min_length=1, max_length=32, json_schema_extra=LIST_SET)]
Port = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}$", max_length=5)]
Ports = Annotated[list[Port], Field(min_length=1, max_length=32, json_schema_extra=LIST_SET)]


class Source(ApiModel):
    """Who the caller is. Fields are ANDed; values within a field are ORed.

    ```yaml
    source:
      principals: ["cluster.local/ns/shop/sa/frontend"]
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.principals) || has(self.notPrincipals) ||"
                " has(self.namespaces) || has(self.notNamespaces)",
                "source needs at least one of principals, notPrincipals, namespaces, notNamespaces",
            ),
        )
    )

    principals: Values | None = None
    """Peer identities `<trust-domain>/ns/<namespace>/sa/<serviceaccount>`; `*` is a prefix or
    suffix wildcard."""
    not_principals: Values | None = None
    """Identities that do not match."""
    namespaces: Values | None = None
    """Namespaces of the peer's identity."""
    not_namespaces: Values | None = None
    """Namespaces that do not match."""


class Operation(ApiModel):
    """What the request does. Fields are ANDed; values within a field are ORed.

    ```yaml
    operation:
      methods: [GET]
      paths: ["/api/*"]
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.hosts) || has(self.notHosts) || has(self.ports) || has(self.notPorts)"
                " || has(self.methods) || has(self.notMethods)"
                " || has(self.paths) || has(self.notPaths)",
                "operation needs at least one of hosts, ports, methods, paths or their not forms",
            ),
        )
    )

    hosts: Values | None = None
    """Host headers."""
    not_hosts: Values | None = None
    """Host headers that do not match."""
    ports: Ports | None = None
    """Destination ports, as strings."""
    not_ports: Ports | None = None
    """Ports that do not match."""
    methods: Values | None = None
    """HTTP methods."""
    not_methods: Values | None = None
    """Methods that do not match."""
    paths: Values | None = None
    """Normalised request paths; `*` is a prefix or suffix wildcard. A path is read every way a
    common backend could read it (`%2F`, `%5C` and `\\` as `/`, double encoding decoded, `;params`
    stripped, whitespace and trailing dots trimmed): in a DENY policy it matches when any
    reading does, ignoring case; in an ALLOW policy only when every reading does, exactly."""
    not_paths: Values | None = None
    """Paths that do not match, read the other way round: in a DENY policy the path is outside
    them when any reading is, exactly; in an ALLOW policy only when no reading is inside them,
    ignoring case."""


class RuleFrom(ApiModel):
    """One source clause."""

    source: Source
    """The caller."""


class RuleTo(ApiModel):
    """One operation clause."""

    operation: Operation
    """The request."""


class RuleCondition(ApiModel):
    """An extra condition on request attributes.

    ```yaml
    when:
      - key: request.headers[x-tenant]
        values: [blue]
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("has(self.values) || has(self.notValues)", "set values, notValues or both"),
        )
    )

    key: Annotated[
        str,
        StringConstraints(
            min_length=1,
            max_length=256,
            pattern=r"^(source\.(ip|principal|namespace)|request\.headers\[[A-Za-z0-9!#$%&'*+.^_`|~-]+\]|destination\.port)$",
        ),
    ]
    """Attribute: `source.ip`, `source.principal`, `source.namespace`,
    `request.headers[<name>]` or `destination.port`."""
    values: Values | None = None
    """Values that match."""
    not_values: Values | None = None
    """Values that do not match."""


class AuthorizationRule(ApiModel):
    """Matches a request when every present clause matches (any entry within `from`, any within
    `to`, all of `when`)."""

    from_: Annotated[list[RuleFrom], Field(min_length=1, max_length=16)] | None = Field(
        default=None, alias="from"
    )
    """Callers; unset matches any caller."""
    to: Annotated[list[RuleTo], Field(min_length=1, max_length=16)] | None = None
    """Operations; unset matches any operation."""
    when: Annotated[list[RuleCondition], Field(min_length=1, max_length=16)] | None = None
    """Extra conditions."""


class AuthorizationPolicySpec(ApiModel):
    """Desired state of an AuthorizationPolicy."""

    selector: LabelSelector | None = None
    """Workloads this applies to; unset applies to the namespace, or the mesh when in the
    operator's namespace."""
    action: Literal["ALLOW", "DENY"] = "ALLOW"
    """DENY policies are checked first; when any ALLOW policy selects a workload, requests matching
    none of its rules are denied."""
    rules: Annotated[list[AuthorizationRule], Field(max_length=32)] | None = None
    """Rules; an ALLOW policy without rules allows nothing."""


class AuthorizationPolicy(ApiModel):
    """Access control for mesh workloads by caller identity, namespace and request."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: reviews-allow-frontend
  namespace: shop
spec:
  selector:
    matchLabels: {app: reviews}
  action: ALLOW
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/shop/sa/frontend"]
      to:
        - operation:
            methods: [GET]
            paths: ["/reviews/*"]
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["AuthorizationPolicy"] = "AuthorizationPolicy"
    metadata: ObjectMeta
    spec: AuthorizationPolicySpec
    status: PolicyStatus | None = None
