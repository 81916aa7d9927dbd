"""Raw Kubernetes bodies as they cross from the I/O layer into the compiler.

Only the fields the compiler reads are declared; everything is optional (`total=False`) because
the API server omits empty fields. These are type hints over plain dicts, never validated here:
`snapshot_from_bodies` in `meshgate.compile.ingest` reads them defensively.
"""

from __future__ import annotations

from typing import Any, TypedDict


class OwnerReferenceBody(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool
    blockOwnerDeletion: bool


class MetadataBody(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    generation: int
    resourceVersion: str
    creationTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReferenceBody]
    deletionTimestamp: str


class ObjectBody(TypedDict, total=False):
    """Any Kubernetes object: the meshgate kinds arrive like this, spec still unparsed."""

    apiVersion: str
    kind: str
    metadata: MetadataBody
    spec: dict[str, Any]
    status: dict[str, Any]


class ServicePortBody(TypedDict, total=False):
    name: str
    port: int
    targetPort: int | str
    protocol: str
    appProtocol: str


class ServiceSpecBody(TypedDict, total=False):
    ports: list[ServicePortBody]
    selector: dict[str, str]
    clusterIP: str
    type: str


class ServiceBody(TypedDict, total=False):
    metadata: MetadataBody
    spec: ServiceSpecBody


class EndpointConditionsBody(TypedDict, total=False):
    ready: bool | None
    serving: bool | None
    terminating: bool | None


class TargetRefBody(TypedDict, total=False):
    kind: str
    name: str
    namespace: str


class EndpointBody(TypedDict, total=False):
    addresses: list[str]
    conditions: EndpointConditionsBody
    targetRef: TargetRefBody
    nodeName: str


class EndpointPortBody(TypedDict, total=False):
    name: str
    port: int
    protocol: str


class EndpointSliceBody(TypedDict, total=False):
    metadata: MetadataBody
    addressType: str
    endpoints: list[EndpointBody]
    ports: list[EndpointPortBody]


class PodBody(TypedDict, total=False):
    metadata: MetadataBody


class SecretBody(TypedDict, total=False):
    """Only metadata, type and key names matter: the compiler never sees secret values."""

    metadata: MetadataBody
    type: str
    data: dict[str, str]


class NamespaceBody(TypedDict, total=False):
    metadata: MetadataBody


class DeploymentStatusBody(TypedDict, total=False):
    replicas: int
    readyReplicas: int
    updatedReplicas: int


class DeploymentBody(TypedDict, total=False):
    metadata: MetadataBody
    status: DeploymentStatusBody


class LoadBalancerIngressBody(TypedDict, total=False):
    ip: str
    hostname: str


class ServiceStatusBody(TypedDict, total=False):
    loadBalancer: dict[str, list[LoadBalancerIngressBody]]
