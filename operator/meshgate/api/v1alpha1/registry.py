"""Every kind of meshgate.io/v1alpha1 with what the CRD and the operator need to know about it.

The operator enumerates `KINDS` to watch resources; the generator enumerates it to write CRDs.
Adding a kind means adding one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from .authorization_policy import AuthorizationPolicy, AuthorizationPolicySpec
from .common import GROUP, VERSION, PolicyStatus
from .destination_rule import DestinationRule, DestinationRuleSpec
from .edge_authentication import EdgeAuthentication, EdgeAuthenticationSpec
from .gateway import Gateway, GatewaySpec, GatewayStatus
from .peer_authentication import PeerAuthentication, PeerAuthenticationSpec
from .rate_limit_policy import RateLimitPolicy, RateLimitPolicySpec
from .retry_policy import RetryPolicy, RetryPolicySpec
from .route import Route, RouteSpec, RouteStatus

CATEGORY = "meshgate"


@dataclass(frozen=True)
class PrinterColumn:
    """A column of `kubectl get`."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0


def condition(type_: str, column: str) -> PrinterColumn:
    """A column showing the status (True/False/Unknown) of one condition."""
    return PrinterColumn(
        column,
        "string",
        f'.status.conditions[?(@.type=="{type_}")].status',
        f"Whether the {type_} condition holds.",
    )


REASON = PrinterColumn(
    "Reason",
    "string",
    ".status.summary.reason",
    "Reason of the first condition that is not True; empty when everything works.",
)
AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation.")
MESSAGE = PrinterColumn(
    "Message",
    "string",
    ".status.summary.message",
    "What is wrong and what to change.",
    priority=1,
)


@dataclass(frozen=True)
class KindInfo:
    """One kind: its models, names and printer columns."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    model: type[BaseModel]
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[PrinterColumn, ...]
    categories: tuple[str, ...] = field(default=(CATEGORY,))
    group: str = GROUP
    version: str = VERSION

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        kind="Gateway",
        plural="gateways",
        short_names=("mgw",),
        model=Gateway,
        spec=GatewaySpec,
        status=GatewayStatus,
        columns=(
            PrinterColumn(
                "Address",
                "string",
                ".status.addresses[0].value",
                "Where clients reach the gateway.",
            ),
            PrinterColumn(
                "Ready", "string", ".status.summary.ready", "Ready proxy Pods over desired."
            ),
            PrinterColumn("Routes", "integer", ".status.summary.routes", "Routes attached."),
            condition("Programmed", "Programmed"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="Route",
        plural="routes",
        short_names=("mrt",),
        model=Route,
        spec=RouteSpec,
        status=RouteStatus,
        columns=(
            PrinterColumn("Hosts", "string", ".status.summary.hosts", "Hostnames and mesh hosts."),
            PrinterColumn(
                "Parents", "string", ".status.summary.parents", "Accepted Gateways over referenced."
            ),
            PrinterColumn(
                "Backends",
                "string",
                ".status.summary.backends",
                "Resolved backendRefs over referenced.",
            ),
            condition("Accepted", "Accepted"),
            condition("ResolvedRefs", "Resolved"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="DestinationRule",
        plural="destinationrules",
        short_names=("mdr",),
        model=DestinationRule,
        spec=DestinationRuleSpec,
        status=PolicyStatus,
        columns=(
            PrinterColumn("Host", "string", ".spec.host", "The Service this rule is for."),
            condition("Accepted", "Accepted"),
            condition("ResolvedRefs", "Resolved"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="RetryPolicy",
        plural="retrypolicies",
        short_names=("mrp",),
        model=RetryPolicy,
        spec=RetryPolicySpec,
        status=PolicyStatus,
        columns=(
            PrinterColumn(
                "Attempts", "integer", ".spec.attempts", "Retries after the first attempt."
            ),
            condition("Accepted", "Accepted"),
            condition("ResolvedRefs", "Resolved"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="PeerAuthentication",
        plural="peerauthentications",
        short_names=("mpeer",),
        model=PeerAuthentication,
        spec=PeerAuthenticationSpec,
        status=PolicyStatus,
        columns=(
            PrinterColumn("Mode", "string", ".spec.mtls.mode", "mTLS mode for all ports."),
            condition("Accepted", "Accepted"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="AuthorizationPolicy",
        plural="authorizationpolicies",
        short_names=("mauthz",),
        model=AuthorizationPolicy,
        spec=AuthorizationPolicySpec,
        status=PolicyStatus,
        columns=(
            PrinterColumn("Action", "string", ".spec.action", "ALLOW or DENY."),
            condition("Accepted", "Accepted"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="EdgeAuthentication",
        plural="edgeauthentications",
        short_names=("mauthn",),
        model=EdgeAuthentication,
        spec=EdgeAuthenticationSpec,
        status=PolicyStatus,
        columns=(
            PrinterColumn("Mode", "string", ".spec.mode", "Required or Optional."),
            condition("Accepted", "Accepted"),
            condition("ResolvedRefs", "Resolved"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
    KindInfo(
        kind="RateLimitPolicy",
        plural="ratelimitpolicies",
        short_names=("mrl",),
        model=RateLimitPolicy,
        spec=RateLimitPolicySpec,
        status=PolicyStatus,
        columns=(
            PrinterColumn("Mode", "string", ".spec.mode", "Local or Global counting."),
            condition("Accepted", "Accepted"),
            condition("ResolvedRefs", "Resolved"),
            REASON,
            AGE,
            MESSAGE,
        ),
    ),
)

BY_KIND: dict[str, KindInfo] = {info.kind: info for info in KINDS}
"""`KINDS` keyed by kind name."""


def parse(manifest: dict[str, object]) -> BaseModel:
    """Validate a manifest of any meshgate.io/v1alpha1 kind with its model."""
    kind = manifest.get("kind")
    if (
        manifest.get("apiVersion") != f"{GROUP}/{VERSION}"
        or not isinstance(kind, str)
        or kind not in BY_KIND
    ):
        raise ValueError(f"not a {GROUP}/{VERSION} kind: {manifest.get('apiVersion')}/{kind}")
    return BY_KIND[kind].model.model_validate(manifest)
