"""`compile_snapshot`: the whole desired state, proxy configs and status, from one snapshot. Pure.

Order matters only for status bookkeeping: clusters and retry policies are indexed first, then
Gateways, then meshed namespaces, then every Route's status is concluded from what those steps
recorded. A resource that cannot be used is reported and left out; nothing here raises for bad
user input.
"""

from __future__ import annotations

from typing import Any

from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshproxy.configparts import ConfigPartsError, split

from .attach import Attachments, attach
from .clusters import ClusterBook
from .edge import EdgeBook
from .gateways import compile_gateway
from .index import SYSTEM_NAMESPACES, Index
from .mesh import authorization, compile_namespace
from .mesh_routes import MeshRoutes, mesh_routes
from .paths import gateway_config_map, gateway_config_part
from .peer_authn import peer_authn
from .report import Report
from .result import CompileResult, GatewayOutput, MeshOutput, versioned
from .retries import RetryBook
from .rules import KIND as ROUTE
from .rules import RuleCompiler
from .snapshot import Resource, Snapshot
from .vhosts import Claims


def compile_snapshot(snap: Snapshot) -> CompileResult:
    index = Index.build(snap)
    report = Report()
    clusters = ClusterBook.build(index, report)
    retries = RetryBook.build(index, report)
    rules = RuleCompiler(index=index, clusters=clusters, retries=retries, report=report)
    claims = Claims()
    edge = EdgeBook.build(index, report)

    gateways: dict[str, Resource[GatewaySpec]] = {}
    retained: set[str] = set()
    for gw in snap.gateways:
        report.track("Gateway", gw.meta)
        gateways[gw.meta.key] = gw
        if gw.spec is None:
            report.set("Gateway", gw.meta, "Accepted", "False", "Invalid", gw.error or "")
            report.set(
                "Gateway", gw.meta, "Programmed", "False", "Invalid",
                "the last good configuration stays in place until the spec is fixed",
            )  # fmt: skip
            retained.add(gw.meta.key)
    attachments = attach(index, gateways)
    routes_in_mesh = mesh_routes(index)

    gw_outputs = []
    for key, gw in sorted(gateways.items()):
        if gw.spec is None:
            continue
        plan = compile_gateway(
            gw, attachments.by_gateway.get(key, []), index, rules, clusters, report, claims, edge
        )
        config, text = versioned(plan.config)
        try:
            parts = split(text, config.version)
        except ConfigPartsError as exc:
            report.set("Gateway", gw.meta, "Programmed", "False", "ConfigTooLarge", str(exc))
            retained.add(key)
            continue
        report.set(
            "Gateway", gw.meta, "Programmed", "True", "Programmed",
            f"proxy config {config.version} ({len(text)} bytes) compiled; "
            + _stored_in(gw.meta.name, None if parts is None else len(parts.parts)),
        )  # fmt: skip
        spec = gw.spec
        resources = spec.resources
        gw_outputs.append(
            GatewayOutput(
                gateway=gw.meta,
                replicas=spec.replicas,
                service_type=spec.service.type,
                service_annotations=tuple(sorted(spec.service.annotations.items())),
                resources=tuple(
                    (kind, tuple(sorted((k, str(v)) for k, v in (values or {}).items())))
                    for kind, values in (
                        ("requests", resources.requests if resources else None),
                        ("limits", resources.limits if resources else None),
                    )
                    if values
                ),
                ports=plan.ports,
                tls_secrets=plan.tls_secrets,
                config=config,
                config_json=text,
                config_parts=parts,
                edge_files=plan.edge_files,
                owner_api_version=gw.api_version,
            )
        )

    for pa in snap.peer_authentications:
        report.track("PeerAuthentication", pa.meta)
        if pa.spec is None:
            report.set(
                "PeerAuthentication", pa.meta, "Accepted", "False", "Invalid", pa.error or ""
            )
    for ap in snap.authorization_policies:
        report.track("AuthorizationPolicy", ap.meta)
        if ap.spec is None:
            report.set(
                "AuthorizationPolicy", ap.meta, "Accepted", "False", "Invalid", ap.error or ""
            )
    mesh_outputs = []
    operator_ns = snap.settings.operator_namespace
    for ns in snap.namespaces:
        if not ns.meshed or ns.name in SYSTEM_NAMESPACES or ns.name == operator_ns:
            continue
        config = compile_namespace(
            ns.name,
            index,
            rules,
            clusters,
            retries,
            routes_in_mesh,
            peer_authn(ns.name, index, snap.peer_authentications, report),
            authorization(ns.name, index, snap.authorization_policies),
            report,
            claims,
        )
        config, text = versioned(config)
        mesh_outputs.append(MeshOutput(namespace=ns.name, config=config, config_json=text))

    _conclude_policies(snap, index, report)
    edge.finish()
    retries.finish()
    _conclude_routes(snap, index, report, rules, attachments, routes_in_mesh, claims)
    return CompileResult(
        gateways=tuple(gw_outputs),
        meshes=tuple(mesh_outputs),
        statuses=report.freeze(),
        retained=frozenset(retained),
    )


def _conclude_policies(snap: Snapshot, index: Index, report: Report) -> None:
    for pa in snap.peer_authentications:
        if pa.spec is not None:
            report.default(
                "PeerAuthentication", pa.meta, "Accepted", "True", "Accepted", "in effect"
            )
            scope = _scope(pa.meta.namespace, snap.settings.operator_namespace, index)
            report.fields("PeerAuthentication", pa.meta)["attachedTo"] = scope
    for ap in snap.authorization_policies:
        if ap.spec is not None:
            report.default(
                "AuthorizationPolicy", ap.meta, "Accepted", "True", "Accepted", "in effect"
            )
            scope = _scope(ap.meta.namespace, snap.settings.operator_namespace, index)
            report.fields("AuthorizationPolicy", ap.meta)["attachedTo"] = scope


def _scope(namespace: str, operator_ns: str, index: Index) -> list[dict[str, Any]]:
    """The meshed namespaces a namespace-scoped policy reaches (all of them from the root)."""
    names = [
        n.name
        for n in index.snapshot.namespaces
        if index.meshed(n.name) and n.name != operator_ns
        and (namespace == operator_ns or n.name == namespace)
    ]  # fmt: skip
    return [{"group": "", "kind": "Namespace", "name": n} for n in names]


def _conclude_routes(
    snap: Snapshot,
    index: Index,
    report: Report,
    rules: RuleCompiler,
    attachments: Attachments,
    mesh: MeshRoutes,
    claims: Claims,
) -> None:
    for route in snap.routes:
        report.track(ROUTE, route.meta)
        if route.spec is None:
            report.set(ROUTE, route.meta, "Accepted", "False", "Invalid", route.error or "")
            continue
        key = route.meta.key
        if key not in rules._counted:  # not attached anywhere: still check its references
            rules.entries(route)
        gateways = sorted(attachments.accepted.get(key, set()))
        hosts = sorted(mesh.hosts.get(key, set()))
        refused = attachments.refused.get(key, []) + mesh.refused.get(key, [])
        shadow = claims.shadowed.get(key, [])
        if (gateways or hosts) and shadow and key not in claims.won:
            report.set(ROUTE, route.meta, "Accepted", "False", "HostnameConflict", shadow[0])
        if gateways or hosts:
            msg = "attached"
            if refused:
                msg += "; not attached: " + "; ".join(m for _, m in refused)
            report.set(ROUTE, route.meta, "Accepted", "True", "Accepted", msg)
        else:
            reason, message = refused[0] if refused else ("NoMatchingParent", "no parent")
            report.set(ROUTE, route.meta, "Accepted", "False", reason, message)
        report.default(ROUTE, route.meta, "ResolvedRefs", "True", "ResolvedRefs", "all refs found")
        total, ok = rules.backend_counts.get((route.meta.namespace, route.meta.name), (0, 0))
        ready = rules.ready.get((route.meta.namespace, route.meta.name), 0)
        where = [f"gateway {g} listener {ln}" for g, ln in gateways]
        where += [f"mesh host {n}.{ns}" for ns, n in hosts]
        if not (gateways or hosts):
            report.set(ROUTE, route.meta, "Served", "False", "NotAttached", "no parent accepts it")
        elif key not in claims.won and shadow:
            report.set(ROUTE, route.meta, "Served", "False", "Shadowed", "; ".join(shadow))
        elif ok and not ready:
            report.set(
                ROUTE, route.meta, "Served", "False", "NoReadyEndpoints",
                "its backends have no ready endpoints; requests get 503",
            )  # fmt: skip
        else:
            report.set(
                ROUTE, route.meta, "Served", "True", "Served", "served on " + ", ".join(where)
            )
        if shadow and key in claims.won:
            pass  # partial shadowing is reported by the Conflicted condition set while ordering
        elif not shadow:
            report.default(ROUTE, route.meta, "Conflicted", "False", "NoConflicts", "no conflicts")
        applied = sorted(rules.applied.get((route.meta.namespace, route.meta.name), set()))
        fields = report.fields(ROUTE, route.meta)
        fields["servedOn"] = {
            "gateways": [
                {"group": "meshgate.io", "kind": "Gateway", "namespace": g.split("/")[0],
                 "name": g.split("/")[1]}
                for g in sorted({g for g, _ in gateways})
            ],
            "hosts": [f"{n}.{ns}" for ns, n in hosts],
        }  # fmt: skip
        fields["appliedPolicies"] = [
            {"kind": k, "namespace": ns, "name": n, "source": s, **({"rule": r} if r else {})}
            for k, ns, n, s, r in applied
        ]
        spec = route.spec
        fields["summary"] = {
            "hosts": ",".join([*(spec.hostnames or []), *(spec.hosts or [])])[:256],
            "parents": f"{len({g for g, _ in gateways})}/{attachments.parents.get(key, 0)}",
            "backends": f"{ok}/{total}",
        }


def _stored_in(gateway: str, parts: int | None) -> str:
    """Which ConfigMaps hold the config, for the Programmed message."""
    index = gateway_config_map(gateway)
    if parts is None:
        return f"stored in ConfigMap {index}"
    names = ", ".join(gateway_config_part(gateway, n) for n in range(parts))
    return f"stored gzip'ed in ConfigMaps {names}, indexed by ConfigMap {index}"
