"""Pieces every meshgate.io/v1alpha1 kind shares: the model base, scalar types, references, status.

CEL rules live beside the field or model they guard; `cel()` builds one rule so the schema and the
message a user reads are written in the same place. Nothing here may import kopf or the Kubernetes
client: the schemas are pure data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel

GROUP: Final = "meshgate.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "meshgate.io/v1alpha1"


def cel(rule: str, message: str, *, field_path: str | None = None) -> dict[str, str]:
    """One `x-kubernetes-validations` entry; `field_path` points the error at the field to fix."""
    entry = {"rule": rule, "message": message}
    if field_path is not None:
        entry["fieldPath"] = field_path
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """The `json_schema_extra` that attaches CEL rules to a field or a model."""
    return {"x-kubernetes-validations": list(rules)}


def list_map(*keys: str) -> dict[str, Any]:
    """Mark a list as a map keyed by `keys`: the server rejects duplicate keys, merges by key."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


LIST_SET: dict[str, Any] = {"x-kubernetes-list-type": "set"}


class ApiModel(BaseModel):
    """Base of every spec and status model: camelCase in YAML, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=False,
    )


DURATION_PATTERN = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"

Duration = Annotated[
    str,
    StringConstraints(pattern=DURATION_PATTERN, max_length=32),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 32,
            "x-kubernetes-validations": [
                cel(
                    f"self.matches('{DURATION_PATTERN}')",
                    "must be a duration such as 100ms, 10s, 1m or 1h30m (units h, m, s, ms)",
                )
            ],
        }
    ),
]
"""A duration in the Gateway API form: one to four `<number><unit>` parts, units h, m, s, ms."""

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HOSTNAME_PATTERN = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$"

ObjectName = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
]
"""A Kubernetes object name (DNS subdomain)."""

SectionName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)
]
"""A name unique within its list (a DNS label)."""

Namespace = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)
]

Hostname = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=HOSTNAME_PATTERN)]
"""A DNS hostname, optionally with a leading `*.` wildcard label."""

HeaderName = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN)
]
"""An HTTP header name (RFC 7230 token). Matching is case-insensitive."""

PortNumber = Annotated[int, Field(ge=1, le=65535)]

Percent = Annotated[int, Field(ge=0, le=100)]

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)

Quantity = Annotated[
    int | str,
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": QUANTITY_PATTERN,
        }
    ),
]
"""A Kubernetes resource quantity such as `500m`, `128Mi` or `2`."""

Labels = dict[str, Annotated[str, StringConstraints(max_length=63)]]


class LocalObjectReference(ApiModel):
    """A reference to an object in the same namespace, by name."""

    name: ObjectName
    """Name of the referenced object."""


class SecretKeyReference(ApiModel):
    """A key of a Secret in the same namespace."""

    name: ObjectName
    """Name of the Secret."""
    key: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    """Key within the Secret's data."""


class SecretObjectReference(ApiModel):
    """A reference to a Secret, in the same namespace unless `namespace` is set."""

    group: Literal[""] = ""
    """API group of the referent; Secrets are in the core group, written as the empty string."""
    kind: Literal["Secret"] = "Secret"
    """Kind of the referent."""
    name: ObjectName
    """Name of the Secret."""
    namespace: Namespace | None = None
    """Namespace of the Secret; defaults to the referring object's namespace."""


class LabelSelector(ApiModel):
    """Selects workloads (Pods) by their labels.

    ```yaml
    selector:
      matchLabels:
        app: reviews
    ```
    """

    match_labels: Annotated[Labels, Field(max_length=32)] | None = None
    """Pods whose labels contain all of these key/value pairs are selected."""


class Condition(ApiModel):
    """One aspect of an object's state, in the shape of Kubernetes `metav1.Condition`."""

    type: Annotated[
        str,
        StringConstraints(
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    """Condition type in CamelCase, e.g. Accepted, ResolvedRefs, Programmed, Ready."""
    status: Literal["True", "False", "Unknown"]
    """Whether the condition holds."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The `.metadata.generation` the condition was computed from."""
    last_transition_time: datetime
    """When the status last changed."""
    reason: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
        ),
    ]
    """A CamelCase word for why the condition has its status, e.g. BackendNotFound."""
    message: Annotated[str, StringConstraints(max_length=32768)]
    """What happened and, when the status is not True, what to change."""


Conditions = Annotated[
    list[Condition],
    Field(max_length=8, json_schema_extra=list_map("type")),
]


class Summary(ApiModel):
    """What `kubectl get` prints: the operator's one-line verdict for this object."""

    reason: Annotated[str, StringConstraints(max_length=128)] | None = None
    """Reason of the first condition that is not True; empty when everything works."""
    message: Annotated[str, StringConstraints(max_length=1024)] | None = None
    """Message of that condition: what is wrong and what to change."""


class ObjectStatusReference(ApiModel):
    """An object the status refers to (a target, a gateway, a policy)."""

    group: Annotated[str, StringConstraints(max_length=253)] = ""
    """API group; the empty string is the core group."""
    kind: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    """Kind of the object."""
    namespace: Namespace | None = None
    """Namespace of the object."""
    name: ObjectName
    """Name of the object."""


class PolicyStatus(ApiModel):
    """Status of a policy kind, written by the operator.

    Conditions: `Accepted` (the spec is usable), `ResolvedRefs` (every target and Secret exists).
    """

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The `.metadata.generation` this status describes."""
    conditions: Conditions = Field(default_factory=list)
    """Current state: Accepted, ResolvedRefs."""
    attached_to: Annotated[list[ObjectStatusReference], Field(max_length=64)] = Field(
        default_factory=list
    )
    """Objects this policy is in effect on right now."""
    summary: Summary | None = None
    """The verdict `kubectl get` prints."""
