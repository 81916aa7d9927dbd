"""The adapter: Gateway API objects in, meshgate Gateways and Routes for the compiler and every
Gateway API status out. Pure.

Attachment is decided here with the Gateway API's rules (`parents`, `listeners`), so the
meshgate objects handed to the compiler are already resolved: a Gateway lists only the listeners
the proxy can serve, each admitting routes from anywhere, and a Route names exactly the
(Gateway, listener) pairs that accepted it. The compiler's own attachment then reproduces these
decisions, and the generated proxy config, Deployment and Service are the ones a meshgate Gateway
of the same shape gets. meshgate Routes never attach to these Gateways, nor these Routes to
meshgate Gateways (`Resource.api_version` keeps the two APIs apart in the compiler).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from meshgate.api.v1alpha1.common import SecretObjectReference
from meshgate.api.v1alpha1.gateway import (
    AllowedRoutes,
    GatewayService,
    GatewaySpec,
    GatewayTLSConfig,
    RouteNamespaces,
)
from meshgate.api.v1alpha1.gateway import Listener as MeshListener
from meshgate.api.v1alpha1.route import ParentReference, RouteSpec
from meshgate.compile.snapshot import Meta, Resource, Snapshot

from .conditions import Condition, cond
from .crossserving import Claim, apply_refusals, refused
from .features import SUPPORTED_FEATURES
from .grpcroute import translate_grpc
from .listeners import ListenerVerdict, judge_listeners
from .mesh import (
    MeshParent,
    judge_service_parents,
    mesh_route,
    mesh_status_entries,
    parent_grants,
)
from .objects import (
    BUNDLE_VERSION,
    CONTROLLER_NAME,
    GROUP,
    Gateway,
    GatewayApiObjects,
    GatewayClass,
    GRPCRoute,
    HTTPRoute,
    ObjectRef,
    TLSRoute,
    store_kind,
)
from .parents import ParentVerdict, judge_parent
from .translate import Translation, translate

API_VERSION = f"{GROUP}/v1"
# The prefix of the compiler's name for an HTTPRoute: ':' appears in no Kubernetes name, so a
# meshgate Route can never share it.
ROUTE_PREFIX = "httproute:"
GRPC_ROUTE_PREFIX = "grpcroute:"
TLS_ROUTE_PREFIX = "tlsroute:"


@dataclass(frozen=True)
class DesiredStatus:
    """The status one Gateway API object should have (conditions without transition times)."""

    kind: str  # GatewayClass, Gateway, HTTPRoute or GRPCRoute
    namespace: str
    name: str
    body: dict[str, Any]

    @property
    def store_key(self) -> tuple[str, str, str]:
        return (store_kind(self.kind), self.namespace, self.name)


@dataclass(frozen=True)
class CertificateCopy:
    """A listener certificate from another namespace (allowed by a ReferenceGrant), copied into
    the Gateway's namespace: a Pod mounts Secrets of its own namespace only."""

    gateway: Meta
    source: tuple[str, str]  # (namespace, name)
    name: str  # of the copy, in the Gateway's namespace


@dataclass(frozen=True)
class Adapted:
    gateways: tuple[Resource[GatewaySpec], ...] = ()
    routes: tuple[Resource[RouteSpec], ...] = ()
    statuses: tuple[DesiredStatus, ...] = ()
    certificate_copies: tuple[CertificateCopy, ...] = ()

    def extend(self, snap: Snapshot) -> Snapshot:
        """`snap` with the adapted Gateways and Routes, and each certificate copy as the Secret
        it will be once written (its source's shape): the compiler serves the listener at once,
        and its Pods start as soon as the copy exists."""
        have = {(s.meta.namespace, s.meta.name) for s in snap.secrets}
        sources = {(s.meta.namespace, s.meta.name): s for s in snap.secrets}
        copies = []
        for c in self.certificate_copies:
            source = sources.get(c.source)
            if source is None or (c.gateway.namespace, c.name) in have:
                continue
            meta = Meta(namespace=c.gateway.namespace, name=c.name)
            copies.append(dataclasses.replace(source, meta=meta))
        by_key = lambda o: (o.meta.namespace, o.meta.name)  # noqa: E731
        return dataclasses.replace(
            snap,
            gateways=tuple(sorted(snap.gateways + self.gateways, key=by_key)),
            routes=tuple(sorted(snap.routes + self.routes, key=by_key)),
            secrets=tuple(sorted(snap.secrets + tuple(copies), key=by_key)),
        )

    @property
    def compiled_keys(self) -> frozenset[tuple[str, str, str]]:
        """The (kind, namespace, name) the compiler reports these adapted objects under: that
        report is not theirs to show (their status is `statuses`)."""
        return frozenset(
            [("Gateway", g.meta.namespace, g.meta.name) for g in self.gateways]
            + [("Route", r.meta.namespace, r.meta.name) for r in self.routes]
        )


_Judged = tuple[HTTPRoute, list[tuple[ObjectRef, ParentVerdict]], list[MeshParent], Translation]


@dataclass
class _GatewayState:
    gw: Gateway
    verdicts: tuple[ListenerVerdict, ...] = ()
    refused: tuple[str, str] | None = None  # (reason, message) when not accepted at all
    attached: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def adapt(objs: GatewayApiObjects, snap: Snapshot, *, replicas: int = 1) -> Adapted:
    ours = {c.meta.name: c for c in objs.classes if c.ours}
    statuses = [_class_status(c) for c in ours.values()]
    native = {g.meta.key for g in snap.gateways if g.api_version != API_VERSION}
    secrets = {(s.meta.namespace, s.meta.name): s for s in snap.secrets}
    services = {(s.meta.namespace, s.meta.name): s for s in snap.services}
    namespaces = {n.name: n for n in snap.namespaces}

    states: dict[str, _GatewayState] = {}
    for gw in objs.gateways:
        if gw.class_name not in ours:
            continue
        state = _GatewayState(gw)
        if gw.meta.key in native:
            state.refused = (
                "Invalid",
                f'a meshgate.io Gateway "{gw.meta.key}" exists; rename one of the two (their '
                "generated Deployment and Service would share a name)",
            )
        elif not assigned_address_only(gw.addresses):
            state.refused = (
                "UnsupportedAddress",
                "spec.addresses with a value, or of a type other than IPAddress, is not"
                " supported; the address is the generated Service's (an IPAddress entry"
                " without a value asks for exactly that)",
            )
        else:
            state.verdicts = judge_listeners(gw, objs.grants, secrets)
        states[gw.meta.key] = state

    # Every route's parents judged and rules translated first: the cross-serving rule weighs
    # routes against each other.
    judged: list[_Judged] = []
    for route in objs.routes + objs.grpc_routes + objs.tls_routes:
        parents: list[tuple[ObjectRef, ParentVerdict]] = []
        for ref in route.parent_refs:
            if (ref.group, ref.kind) != (GROUP, "Gateway"):
                continue  # a Service parent (`mesh.py`) or another API
            parent = states.get(f"{ref.namespace or route.meta.namespace}/{ref.name}")
            if parent is None:
                continue  # not a Gateway of a meshgate class: its controller answers
            if parent.refused is not None:
                verdict = ParentVerdict(
                    ref, parent.gw, (), "NoMatchingParent",
                    f'gateway "{parent.gw.meta.key}" is not accepted',
                )  # fmt: skip
            else:
                verdict = judge_parent(route, ref, parent.gw, parent.verdicts, namespaces)
            parents.append((ref, verdict))
        # A GRPCRoute with a Service parent (the mesh GRPC profile) is not served: left alone.
        # So is a TLSRoute with one (the mesh is HTTP only).
        mesh_parents = (
            []
            if isinstance(route, (GRPCRoute, TLSRoute))
            else judge_service_parents(route, services)
        )
        if not parents and not mesh_parents:
            continue
        if isinstance(route, GRPCRoute):
            translation = translate_grpc(route, objs.grants, services)
        else:
            grants = objs.grants + parent_grants(route, mesh_parents)
            translation = translate(route, grants, services)
        judged.append((route, parents, mesh_parents, translation))

    # HTTPRoutes and GRPCRoutes never share a hostname on a listener (`crossserving`).
    lost = refused(
        Claim(route, verdict.gateway.meta.key, listener, hosts)
        for route, parents, _, translation in judged
        if not translation.unsupported
        for _, verdict in parents
        for listener, hosts in verdict.listeners
    )
    routes: list[Resource[RouteSpec]] = []
    for route, judged_parents, mesh_parents, translation in judged:
        parents = [(ref, apply_refusals(route, v, lost)) for ref, v in judged_parents]
        gen = route.meta.generation
        if translation.unresolved:
            reason, message = translation.unresolved[0]
            resolved = cond("ResolvedRefs", False, reason, message, gen)
        else:
            resolved = cond("ResolvedRefs", True, "ResolvedRefs", "all references resolved", gen)
        served: list[ParentReference] = []
        entries = []
        for ref, verdict in parents:
            if translation.unsupported:
                accepted = cond(
                    "Accepted", False, "UnsupportedValue", "; ".join(translation.unsupported), gen
                )
            else:
                accepted = cond("Accepted", verdict.accepted, verdict.reason, verdict.message, gen)
            if accepted["status"] == "True":
                state = states[verdict.gateway.meta.key]
                for listener, _hosts in verdict.listeners:
                    state.attached[listener].add(f"{route.kind}/{route.meta.key}")
                    if _servable(state, listener):
                        served.append(
                            ParentReference(
                                namespace=verdict.gateway.meta.namespace,
                                name=verdict.gateway.meta.name,
                                section_name=listener,
                            )
                        )
            entries.append(
                {
                    "parentRef": _echo(ref),
                    "controllerName": CONTROLLER_NAME,
                    "conditions": [accepted, resolved],
                }
            )
        entries.extend(mesh_status_entries(route, mesh_parents, translation, resolved))
        statuses.append(DesiredStatus(route.kind, *_nn(route), {"parents": entries}))
        in_mesh = mesh_route(route, mesh_parents, translation)
        if in_mesh is not None:
            routes.append(in_mesh)
        if served and translation.rules:
            routes.append(
                Resource(
                    kind="Route",
                    meta=_route_meta(route),
                    spec=RouteSpec(
                        parent_refs=_unique(served),
                        hostnames=list(route.hostnames) or None,
                        rules=translation.rules,
                    ),
                    api_version=API_VERSION,
                )
            )

    gateways: list[Resource[GatewaySpec]] = []
    copies: list[CertificateCopy] = []
    for key, state in sorted(states.items()):
        spec = _gateway_spec(state, replicas, copies)
        runtime = snap.gateway_runtime.get(key)
        addresses = list(runtime.addresses) if runtime is not None and spec is not None else []
        if spec is not None:
            gateways.append(Resource("Gateway", state.gw.meta, spec, api_version=API_VERSION))
        statuses.append(_gateway_status(state, spec is not None, addresses))
    return Adapted(
        gateways=tuple(gateways),
        routes=tuple(routes),
        statuses=tuple(statuses),
        certificate_copies=tuple(copies),
    )


def _nn(route: HTTPRoute) -> tuple[str, str]:
    return route.meta.namespace, route.meta.name


def _route_meta(route: HTTPRoute) -> Meta:
    m = route.meta
    prefix = (
        GRPC_ROUTE_PREFIX
        if isinstance(route, GRPCRoute)
        else TLS_ROUTE_PREFIX
        if isinstance(route, TLSRoute)
        else ROUTE_PREFIX
    )
    return Meta(
        namespace=m.namespace,
        name=prefix + m.name,
        uid=m.uid,
        generation=m.generation,
        creation_timestamp=m.creation_timestamp,
        labels=m.labels,
    )


def _unique(refs: list[ParentReference]) -> list[ParentReference]:
    seen: dict[tuple[str | None, str, str | None], ParentReference] = {}
    for r in refs:
        seen.setdefault((r.namespace, r.name, r.section_name), r)
    return list(seen.values())


def _servable(state: _GatewayState, listener: str) -> bool:
    return any(v.name == listener and v.servable for v in state.verdicts)


def _echo(ref: ObjectRef) -> dict[str, Any]:
    """The parentRef as the route wrote it (the suite compares namespace presence too)."""
    out: dict[str, Any] = {"group": ref.group, "kind": ref.kind, "name": ref.name}
    if ref.namespace is not None:
        out["namespace"] = ref.namespace
    if ref.section_name is not None:
        out["sectionName"] = ref.section_name
    if ref.port is not None:
        out["port"] = ref.port
    return out


def copy_name(gateway: str, source: tuple[str, str]) -> str:
    """The copy of a certificate Secret of another namespace, named for its Gateway."""
    digest = hashlib.sha256("/".join(source).encode()).hexdigest()[:10]
    name = f"meshgate-gw-{gateway}-cert-{digest}"
    return name if len(name) <= 253 else f"meshgate-gw-cert-{digest}"


def _gateway_spec(
    state: _GatewayState, replicas: int, copies: list[CertificateCopy]
) -> GatewaySpec | None:
    listeners = []
    for v in state.verdicts:
        if not v.servable:
            continue
        ln = v.listener
        tls = None
        if ln.protocol == "HTTPS":
            assert v.certificate is not None
            name = v.certificate[1]
            if v.certificate[0] != state.gw.meta.namespace:
                name = copy_name(state.gw.meta.name, v.certificate)
                copy = CertificateCopy(state.gw.meta, v.certificate, name)
                if state.refused is None and copy not in copies:
                    copies.append(copy)
            tls = GatewayTLSConfig(certificate_refs=[SecretObjectReference(name=name)])
        elif ln.protocol == "TLS":
            tls = GatewayTLSConfig(mode="Passthrough")
        listeners.append(
            MeshListener(
                name=ln.name,
                port=ln.port,
                protocol=ln.protocol,  # HTTP, HTTPS or TLS: only those are servable
                hostname=ln.hostname,
                tls=tls,
                allowed_routes=AllowedRoutes(namespaces=RouteNamespaces(from_="All")),
            )
        )
    if state.refused is not None or not listeners:
        return None
    return GatewaySpec(listeners=listeners, replicas=replicas, service=GatewayService())


def _class_status(c: GatewayClass) -> DesiredStatus:
    gen = c.meta.generation
    bundle = c.crd_bundle_version
    supported = not bundle or bundle.rsplit(".", 1)[0] == BUNDLE_VERSION.rsplit(".", 1)[0]
    if supported:
        version = cond(
            "SupportedVersion", True, "SupportedVersion",
            f"Gateway API CRDs {bundle or '(bundle version not stated)'}; meshgate serves "
            f"{BUNDLE_VERSION}",
            gen,
        )  # fmt: skip
        accepted = cond("Accepted", True, "Accepted", f"handled by {CONTROLLER_NAME}", gen)
    else:
        message = f"Gateway API CRDs {bundle} are installed; meshgate serves {BUNDLE_VERSION}"
        version = cond("SupportedVersion", False, "UnsupportedVersion", message, gen)
        accepted = cond("Accepted", False, "UnsupportedVersion", message, gen)
    return DesiredStatus(
        "GatewayClass",
        "",
        c.meta.name,
        {
            "conditions": [accepted, version],
            "supportedFeatures": [{"name": f} for f in sorted(SUPPORTED_FEATURES)],
        },
    )


def assigned_address_only(addresses: tuple[tuple[str, str], ...]) -> bool:
    """Whether `spec.addresses` asks for nothing but the address meshgate assigns: none, or one
    `IPAddress` entry without a value (the spec's "an address will be assigned"), which the
    generated Service's own address answers. A value, or a Hostname or named address, would need
    addresses meshgate does not hand out."""
    if not addresses:
        return True
    return len(addresses) == 1 and addresses[0] == ("IPAddress", "")


def _gateway_status(
    state: _GatewayState, compiled: bool, addresses: list[tuple[str, str]]
) -> DesiredStatus:
    gw = state.gw
    gen = gw.meta.generation
    conditions: list[Condition]
    if state.refused is not None:
        reason, message = state.refused
        conditions = [
            cond("Accepted", False, reason, message, gen),
            cond("Programmed", False, "Invalid", "not accepted", gen),
        ]
        return DesiredStatus("Gateway", gw.meta.namespace, gw.meta.name, {"conditions": conditions})
    bad = [v.name for v in state.verdicts if not v.servable]
    if not bad:
        accepted = cond("Accepted", True, "Accepted", "all listeners are valid", gen)
    else:
        message = "listeners not served: " + ", ".join(bad) + "; see status.listeners"
        accepted = cond("Accepted", compiled, "ListenersNotValid", message, gen)
    if compiled and addresses:
        programmed = cond("Programmed", True, "Programmed", "proxy config and Service written", gen)
    elif compiled:
        programmed = cond(
            "Programmed", False, "AddressNotAssigned", "the gateway Service has no address yet", gen
        )
    else:
        programmed = cond("Programmed", False, "Invalid", "no listener can be served", gen)
    listeners = []
    for v in state.verdicts:
        if v.servable and programmed["status"] == "True":
            lp = cond("Programmed", True, "Programmed", "served by the gateway proxy", gen)
        elif v.servable:
            lp = cond("Programmed", False, "Pending", "the gateway is not programmed yet", gen)
        else:
            lp = cond("Programmed", False, "Invalid", "the listener is not served", gen)
        listeners.append(
            {
                "name": v.name,
                "supportedKinds": [{"group": k.group, "kind": k.kind} for k in v.supported_kinds],
                "attachedRoutes": len(state.attached.get(v.name, ())),
                "conditions": [*v.conditions, lp],
            }
        )
    body: dict[str, Any] = {
        "conditions": [accepted, programmed],
        "listeners": listeners,
    }
    if addresses:
        body["addresses"] = [{"type": t, "value": v} for t, v in addresses]
    return DesiredStatus("Gateway", gw.meta.namespace, gw.meta.name, body)
