"""The one status pass: every object's status from the stages' immutable usage records. Pure.

Stages never write status; each hands back what it found (`notes`) and used (claims, applied
policies, translations). This pass replays the records in one fixed order (the policy books,
the Gateways by key, the meshed namespaces by name, each Route's translation), then concludes
what only the whole picture can say: whether a Route is attached, served or shadowed, and where
each policy is in effect. So a status is the same whether its stage ran in this compile or was
kept from an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from meshgate.api.v1alpha1.route import RouteSpec

from .attach import Attachments
from .clusters import ClusterBook
from .edge import EdgeBook, attachment_notes
from .gateways import GatewayUse
from .index import Index
from .mesh import MeshUse
from .mesh_routes import MeshRoutes
from .names import ClusterRef
from .notes import NoteLog
from .report import ObjectState, ObjectStatus, Report
from .retries import RetryBook
from .rules import KIND as ROUTE
from .rules import Applied, RouteTranslation
from .snapshot import Resource, Snapshot
from .vhosts import Claims


@dataclass(frozen=True)
class Books:
    """The per-compile indexes whose findings come first."""

    index: Index
    clusters: ClusterBook
    retries: RetryBook
    edge: EdgeBook
    attachments: Attachments
    mesh: MeshRoutes


def statuses(
    snap: Snapshot,
    books: Books,
    gateway_notes: NoteLog,
    gateways: Sequence[tuple[GatewayUse, NoteLog]],
    policy_notes: NoteLog,
    meshes: Sequence[MeshUse],
    translations: Mapping[str, RouteTranslation],
    memo: StatusMemo | None = None,
    pause: Callable[[], None] | None = None,
) -> tuple[ObjectStatus, ...]:
    """`gateways` in key order, each with the notes of its config's fate (Programmed);
    `meshes` in namespace order; `translations` holds each valid Route's translation by key
    (any default timeout: what it found does not depend on it). `memo`: kept by the caller
    from pass to pass, so a Route whose inputs all held is not concluded again. `pause` is
    called every `PAUSE_EVERY` Routes: the caller may wait there (`Compiler.pause_statuses`)."""
    report = Report()
    report.replay(books.clusters.notes.freeze())
    report.replay(books.retries.notes.freeze())
    report.replay(books.edge.notes.freeze())
    report.replay(gateway_notes)
    claims = Claims()
    applied: dict[tuple[str, str], set[Applied]] = {}
    for use, fate in gateways:
        report.replay(use.notes.freeze())
        report.replay(use.edge.notes.freeze())
        report.replay(fate)
        claims.merge(use.claims)
        for key, items in use.applied.items():
            if items:
                applied.setdefault(key, set()).update(items)
    report.replay(policy_notes)
    retry_uses: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
    for mesh in meshes:
        report.replay(mesh.notes.freeze())
        claims.merge(mesh.claims)
        for policy, where in mesh.retry_uses:
            retry_uses.setdefault(policy, set()).add(where)
    _conclude_policies(snap, books.index, report)
    report.replay(attachment_notes(books.edge, [use.edge for use, _ in gateways]).freeze())
    for tr in translations.values():
        for policy in tr.retry_uses:
            meta = tr.route.meta
            retry_uses.setdefault(policy, set()).add(("Route", meta.namespace, meta.name))
    report.replay(books.retries.attached_to(retry_uses).freeze())
    _conclude_routes(
        snap, books, report, translations, applied, claims, memo or StatusMemo(), pause
    )
    return report.freeze()


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
    books: Books,
    report: Report,
    translations: Mapping[str, RouteTranslation],
    edge_applied: dict[tuple[str, str], set[Applied]],
    claims: Claims,
    memo: StatusMemo,
    pause: Callable[[], None] | None = None,
) -> None:
    """Every Route concluded, or its kept status placed when everything it was concluded from
    holds. The check of a kept status builds nothing (identity first, then the few findings
    compared in place): at 10,000 Routes a one-Route change keeps 9,999 of them, and building
    and copying each one's inputs to compare them was most of the pass."""
    attachments, mesh = books.attachments, books.mesh
    accepted_of, refused_of = attachments.accepted, attachments.refused
    parents_of = attachments.parents
    hosts_of, mesh_refused_of = mesh.hosts, mesh.refused
    shadowed_of, won = claims.shadowed, claims.won
    kept, now, concluded_now = memo.routes, {}, 0
    # By identity: refs are one object per value (`cluster_ref`) and live through the pass.
    counted: dict[int, int] = {}

    def ready(ref: ClusterRef) -> int:
        n = counted.get(id(ref))
        if n is None:
            n = counted[id(ref)] = books.clusters.ready_endpoints(ref)
        return n

    for n, route in enumerate(snap.routes):
        if pause is not None and not n % PAUSE_EVERY:
            pause()
        meta = route.meta
        status_key = (ROUTE, meta.namespace, meta.name)
        report.track(ROUTE, meta)
        if route.spec is None:
            report.set(ROUTE, meta, "Accepted", "False", "Invalid", route.error or "")
            continue
        key = meta.key
        tr = translations[key]
        report.replay(tr.notes)
        accepted = accepted_of.get(key)
        hosts = hosts_of.get(key)
        refused = refused_of.get(key, _NONE)
        mesh_refused = mesh_refused_of.get(key)
        if mesh_refused:
            refused = (*refused, *mesh_refused)
        found = (
            _sorted(accepted),
            _sorted(hosts),
            tuple(refused),
            tuple(shadowed_of.get(key, _NONE)),
            key in won,
            sum(map(ready, tr.ready_from)) if tr.ready_from else 0,
            edge_applied.get((meta.namespace, meta.name)) or _NOTHING,
            parents_of.get(key, 0),
        )
        prev = kept.get(key)
        if (
            prev is not None
            and prev[0].route is route
            and prev[0].translation is tr
            and prev[0].found == found
            and report.says(status_key, prev[0].before)
        ):
            report.place(prev[1])
            now[key] = prev
            continue
        given = _RouteGiven(route, tr, report.state(status_key), found)
        _conclude_route(route, report, given, key in won)
        concluded_now += 1
        status = report.made(status_key)
        report.place(status)
        now[key] = (given, status)
    memo.routes, memo.concluded = now, concluded_now


# How many Routes the pass concludes between two calls of its `pause`: a few milliseconds.
PAUSE_EVERY = 256

_NOTHING: frozenset[Applied] = frozenset()
_NONE: tuple[Any, ...] = ()


def _sorted(items: AbstractSet[Any] | None) -> tuple[Any, ...]:
    if not items:
        return _NONE
    return tuple(items) if len(items) == 1 else tuple(sorted(items))


@dataclass(frozen=True)
class _RouteGiven:
    """Everything a Route's status is concluded from: the same again gives the same status."""

    route: Resource[RouteSpec]
    translation: RouteTranslation
    before: ObjectState  # what earlier stages said about it
    # parents, hosts, refusals, shadowing, won, endpoints, policies, parentRefs: tuples and
    # frozensets made for this pass alone
    found: tuple[Any, ...]


class StatusMemo:
    """What one status pass keeps for the next: each Route's status with what it was concluded
    from. A one-Route change then concludes that Route again, not all of them (at 10,000 Routes
    the whole conclusion was most of the pass). Passes may run in any order and thread: an
    entry is used only when everything it was concluded from holds."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[_RouteGiven, ObjectStatus]] = {}
        self.concluded = 0  # Routes the last pass concluded again (for tests and metrics)


def _conclude_route(
    route: Resource[RouteSpec], report: Report, given: _RouteGiven, won: bool
) -> None:
    assert route.spec is not None
    tr = given.translation
    gateways, hosts, refused, shadow, _, ready, edge_applied, parents = given.found
    if (gateways or hosts) and shadow and not won:
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
    total, ok = tr.backends
    where = [f"gateway {g} listener {ln}" for g, ln in gateways]
    where += [f"mesh host {n}.{ns}" for ns, n in hosts]
    if not (gateways or hosts):
        report.set(ROUTE, route.meta, "Served", "False", "NotAttached", "no parent accepts it")
    elif not won and shadow:
        report.set(ROUTE, route.meta, "Served", "False", "Shadowed", "; ".join(shadow))
    elif ok and not ready:
        report.set(
            ROUTE, route.meta, "Served", "False", "NoReadyEndpoints",
            "its backends have no ready endpoints; requests get 503",
        )  # fmt: skip
    else:
        report.set(ROUTE, route.meta, "Served", "True", "Served", "served on " + ", ".join(where))
    if shadow and won:
        pass  # partial shadowing is reported by the Conflicted condition set while ordering
    elif not shadow:
        report.default(ROUTE, route.meta, "Conflicted", "False", "NoConflicts", "no conflicts")
    applied = sorted(tr.applied | edge_applied)
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
        "parents": f"{len({g for g, _ in gateways})}/{parents}",
        "backends": f"{ok}/{total}",
    }
