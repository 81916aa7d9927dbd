"""`Compiler`: the whole desired state, proxy configs and status, from a snapshot, redoing only
what a change reaches. Pure (no I/O), though it keeps what it compiled between calls.

A compile has three kinds of work:

- the books, rebuilt every time because they are cheap and everything reads them: lookups by
  key, DestinationRules by Service, RetryPolicies and edge policies by target, and which Gateway
  listener and which mesh host accepts which Route;
- the stages, kept between compiles and redone only when an input they read moved: each Route's
  translation (redone when the Route or any lookup it made answers differently), each Gateway's
  config (when the Gateway, the Routes attached to it, their translations, the clusters they
  name, its runtime or a policy that can reach it moved), each meshed namespace's sidecar config
  (when a Service, endpoint, Pod, mesh Route or mesh-wide policy moved);
- the status pass (`status_pass`), run every time over the stages' usage records.

`compile_snapshot(snap)` is a compile with nothing kept: the reference that a property test holds
every sequence of incremental compiles equal to. Nothing here raises for bad user input: a
resource that cannot be used is reported and left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshgate.api.v1alpha1.route import RouteSpec
from meshproxy.configparts import ConfigPartsError, split

from .attach import Attachment, RouteAttachment, attach
from .changes import Changes, changes
from .clusters import ClusterBook
from .edge import EdgeBook
from .gateway_text import Pieces, gzip_members, versioned_in_pieces
from .gateways import GatewayMemo, GatewayUse, compile_gateway
from .index import SYSTEM_NAMESPACES, Index
from .mesh import MeshUse, compile_namespace
from .mesh_routes import mesh_routes
from .notes import NoteLog, Notes
from .paths import gateway_config_map, gateway_config_part
from .result import CompileResult, GatewayOutput, MeshOutput, versioned
from .retries import RetryBook
from .rules import Lookups, RouteTranslation, translate
from .same import same
from .snapshot import GatewayRuntime, Resource, Snapshot
from .status_pass import Books, StatusMemo, statuses

# Changes to these reach every Gateway's config (policies by target, cluster policies, the
# Gateways' own defaults and listeners); they are rare, so they simply redo every Gateway.
GATEWAY_WIDE = (
    "gateways",
    "destination_rules",
    "retry_policies",
    "peer_authentications",
    "edge_authentications",
    "rate_limit_policies",
)
# What the tables of `Lookups` are built from: while none of these moved, every lookup answers
# as it did in the previous compile, so a kept translation of an unchanged Route holds without
# checking its reads one by one (at 1,000 Routes that check was 8% of a one-Route change's CPU).
LOOKUP_SOURCES = ("services", "destination_rules", "retry_policies")
# What an upstream cluster is built from: while none of these moved, the previous compile's
# clusters are taken as they are (200 clusters rebuilt per Route change were 11% of its compile).
CLUSTER_SOURCES = (
    "services",
    "endpoint_slices",
    "pods",
    "destination_rules",
    "peer_authentications",
)
# Changes to these reach every meshed namespace's config (each lists every Service).
MESH_WIDE = (
    "services",
    "endpoint_slices",
    "pods",
    "destination_rules",
    "retry_policies",
    "peer_authentications",
    "authorization_policies",
)


def compile_snapshot(snap: Snapshot) -> CompileResult:
    """Compile everything from nothing: the reference for `Compiler`."""
    return Compiler().compile(snap)


@dataclass(frozen=True)
class GatewayStage:
    gateway: Resource[GatewaySpec]
    attachments: tuple[Attachment, ...]
    runtime: GatewayRuntime | None
    use: GatewayUse
    fate: NoteLog  # Programmed, or why the config cannot be stored
    output: GatewayOutput | None  # None: the last good outputs stay in place
    # Its config's virtual hosts and the rest, checked and dumped: the next compile of this
    # Gateway re-dumps only the pieces that changed.
    pieces: Pieces = field(default_factory=Pieces)
    memo: GatewayMemo | None = None  # the next compile's reusable contributions and hosts
    hosts_built: int = 0


@dataclass(frozen=True)
class MeshStage:
    use: MeshUse
    output: MeshOutput


@dataclass(frozen=True)
class CompileStats:
    """What the last compile redid and what it kept, for tests, logs and metrics."""

    gateways_compiled: int = 0
    gateways_kept: int = 0
    meshes_compiled: int = 0
    meshes_kept: int = 0
    translations_made: int = 0
    translations_kept: int = 0
    clusters_built: int = 0
    virtual_hosts_built: int = 0  # by the Gateways compiled (the others are kept whole)


class _Translations:
    """Route translations for one compile, reusing the previous compile's while valid."""

    def __init__(
        self,
        kept: dict[tuple[str, float | None], RouteTranslation],
        lookups: Lookups,
        lookups_held: bool,
    ):
        self.kept = kept
        self.lookups = lookups
        # Every lookup answers as in the compile that made the kept translations.
        self.lookups_held = lookups_held
        self.now: dict[tuple[str, float | None], RouteTranslation] = {}
        self.by_route: dict[str, RouteTranslation] = {}
        self.made = 0

    def get(self, route: Resource[RouteSpec], default_timeout: float | None) -> RouteTranslation:
        # Called once per attached Route per compile: the common case (a kept translation of
        # the very same Route while every lookup holds) is checked inline.
        key = (route.meta.key, default_timeout)
        tr = self.now.get(key)
        if tr is not None:
            return tr
        tr = self.kept.get(key)
        if tr is None or not (
            (self.lookups_held and tr.route is route) or tr.still_valid(route, self.lookups)
        ):
            tr = translate(route, default_timeout, self.lookups)
            self.made += 1
        self.now[key] = tr
        if key[0] not in self.by_route:
            self.by_route[key[0]] = tr
        return tr

    def holds(self, tr: RouteTranslation, route: Resource[RouteSpec]) -> bool:
        """Whether translating `route` now would give `tr` again."""
        if self.lookups_held and tr.route is route:
            return True
        return tr.still_valid(route, self.lookups)

    def adopt(self, translations: Iterable[RouteTranslation]) -> None:
        """Translations a kept stage holds: still valid (the stage was checked)."""
        for tr in translations:
            key = (tr.route.meta.key, tr.default_timeout)
            if key not in self.now:
                self._add(key, tr)

    def any_of(self, route: Resource[RouteSpec]) -> RouteTranslation:
        """One translation of the Route, for its status (whatever its default timeout)."""
        return self.by_route.get(route.meta.key) or self.get(route, None)

    def _add(self, key: tuple[str, float | None], tr: RouteTranslation) -> None:
        self.now[key] = tr
        self.by_route.setdefault(key[0], tr)


class Compiler:
    """Compiles snapshot after snapshot; each result equals `compile_snapshot` of its snapshot."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._translations: dict[tuple[str, float | None], RouteTranslation] = {}
        self._gateways: dict[str, GatewayStage] = {}
        self._attached: dict[str, RouteAttachment] = {}
        self._status_memo = StatusMemo()  # read and written by the status passes
        self._meshes: dict[str, MeshStage] = {}
        self._edge_route_targets: frozenset[tuple[str, str]] = frozenset()
        self._clusters: ClusterBook | None = None
        self._index: Index | None = None
        # Called by the status passes between Routes; the caller may wait there while
        # something more urgent runs (the operator: a reconcile writing configs).
        self.pause_statuses: Callable[[], None] | None = None
        self.stats = CompileStats()

    def compile(self, snap: Snapshot) -> CompileResult:
        moved = changes(self._snapshot, snap)
        index = Index.build(snap, self._index)
        clusters_held = not (
            moved.everything or moved.settings or moved.namespaces or moved.any(*CLUSTER_SOURCES)
        )
        clusters = ClusterBook.build(index, self._clusters if clusters_held else None)
        retries = RetryBook.build(index)
        edge = EdgeBook.build(index)
        lookups = Lookups(
            index.services, clusters.rules, retries.by_name, retries.by_route, retries.by_service
        )
        lookups_held = not (
            moved.everything or moved.settings or moved.namespaces or moved.any(*LOOKUP_SOURCES)
        )
        translations = _Translations(self._translations, lookups, lookups_held)

        gateway_notes = Notes()
        gateways: dict[str, Resource[GatewaySpec]] = {}
        retained: set[str] = set()
        for gw in snap.gateways:
            gateway_notes.track("Gateway", gw.meta)
            gateways[gw.meta.key] = gw
            if gw.spec is None:
                gateway_notes.set(
                    "Gateway", gw.meta, "Accepted", "False", "Invalid", gw.error or ""
                )
                gateway_notes.set(
                    "Gateway", gw.meta, "Programmed", "False", "Invalid",
                    "the last good configuration stays in place until the spec is fixed",
                )  # fmt: skip
                retained.add(gw.meta.key)
        # Which listeners take a Route reads only the Route, the Gateways and the Namespaces.
        attach_held = not (
            moved.everything or moved.settings or moved.namespaces or moved.of("gateways")
        )
        attachments, attached = attach(index, gateways, self._attached if attach_held else None)
        routes_in_mesh = mesh_routes(index)
        edge_route_targets = frozenset(
            (ns, name) for kind, ns, name in edge.by_target if kind == "Route"
        )

        all_gateways = (
            moved.everything
            or moved.settings
            or moved.namespaces
            or moved.edge_secrets
            or moved.any(*GATEWAY_WIDE)
            or any(
                key in self._edge_route_targets or key in edge_route_targets
                for key in moved.of("routes")
            )
        )
        touched = _touched_services(moved)
        stages: dict[str, GatewayStage] = {}
        compiled = kept = hosts_built = 0
        for key, gw in sorted(gateways.items()):
            if gw.spec is None:
                continue
            atts = tuple(attachments.by_gateway.get(key, []))
            runtime = snap.gateway_runtime.get(key)
            prev = self._gateways.get(key)
            if (
                prev is not None
                and not all_gateways
                and _gateway_holds(prev, gw, atts, runtime, moved, touched, clusters, translations)
            ):
                stage = prev
                translations.adopt(prev.use.translations)
                kept += 1
            else:
                stage = _compile_gateway(
                    gw, atts, runtime, index, translations, clusters, edge,
                    prev.pieces if prev is not None else Pieces(),
                    prev.memo if prev is not None else None,
                )  # fmt: skip
                compiled += 1
                hosts_built += stage.hosts_built
            stages[key] = stage
            if stage.output is None:
                retained.add(key)

        policy_notes = Notes()
        for pa in snap.peer_authentications:
            policy_notes.track("PeerAuthentication", pa.meta)
            if pa.spec is None:
                policy_notes.set(
                    "PeerAuthentication", pa.meta, "Accepted", "False", "Invalid", pa.error or ""
                )
        for ap in snap.authorization_policies:
            policy_notes.track("AuthorizationPolicy", ap.meta)
            if ap.spec is None:
                policy_notes.set(
                    "AuthorizationPolicy", ap.meta, "Accepted", "False", "Invalid", ap.error or ""
                )

        all_meshes = (
            moved.everything
            or moved.settings
            or moved.namespaces
            or moved.any(*MESH_WIDE)
            or any(
                (old is not None and old.spec is not None and old.spec.hosts)
                or (new is not None and new.spec is not None and new.spec.hosts)
                for old, new in moved.of("routes").values()
            )
        )
        meshes: dict[str, MeshStage] = {}
        mesh_compiled = mesh_kept = 0
        operator_ns = snap.settings.operator_namespace
        for ns in snap.namespaces:
            if not ns.meshed or ns.name in SYSTEM_NAMESPACES or ns.name == operator_ns:
                continue
            prev_mesh = self._meshes.get(ns.name)
            if prev_mesh is not None and not all_meshes:
                meshes[ns.name] = prev_mesh
                translations.adopt(prev_mesh.use.translations)
                mesh_kept += 1
                continue
            use = MeshUse()
            config = compile_namespace(
                ns.name,
                index,
                translations.get,
                clusters,
                retries,
                routes_in_mesh,
                snap.peer_authentications,
                snap.authorization_policies,
                use,
            )
            config, text = versioned(config)
            try:
                output = MeshOutput(ns.name, config, text, split(text, config.version))
            except ConfigPartsError:
                output = MeshOutput(ns.name, config, text, None, too_large=True)
            meshes[ns.name] = MeshStage(use=use, output=output)
            mesh_compiled += 1

        # A sidecar config past what its Pods mount (tens of thousands of Services in one
        # namespace) is written inline, so the API server's refusal names the namespace in the
        # reconcile's errors; retained, the namespace's stored config and parts stay.
        retained.update(m.output.namespace for m in meshes.values() if m.output.too_large)
        books = Books(index, clusters, retries, edge, attachments, routes_in_mesh)
        # Every valid Route's translation, now: the status pass may run in another thread later
        # and must find them all made (translating mutates this compile's cache).
        made = translations.by_route
        route_facts = {
            r.meta.key: made.get(r.meta.key) or translations.any_of(r)
            for r in snap.routes
            if r.spec is not None
        }
        gateway_log = gateway_notes.freeze()
        gateway_uses = [(s.use, s.fate) for s in stages.values()]
        policy_log = policy_notes.freeze()
        mesh_uses = [m.use for m in meshes.values()]
        result = CompileResult(
            gateways=tuple(s.output for s in stages.values() if s.output is not None),
            meshes=tuple(m.output for m in meshes.values()),
            retained=frozenset(retained),
            status_pass=lambda: statuses(
                snap,
                books,
                gateway_log,
                gateway_uses,
                policy_log,
                mesh_uses,
                route_facts,
                self._status_memo,
                self.pause_statuses,
            ),
        )
        self.stats = CompileStats(
            gateways_compiled=compiled,
            gateways_kept=kept,
            meshes_compiled=mesh_compiled,
            meshes_kept=mesh_kept,
            translations_made=translations.made,
            translations_kept=len(translations.now) - translations.made,
            clusters_built=clusters.built_here,
            virtual_hosts_built=hosts_built,
        )
        self._snapshot = snap
        self._translations = translations.now
        self._gateways = stages
        self._attached = attached
        self._meshes = meshes
        self._edge_route_targets = edge_route_targets
        self._clusters = clusters
        self._index = index
        return result


def _touched_services(moved: Changes) -> tuple[set[tuple[str, str]], set[str]]:
    """Services whose clusters may have moved (Service or EndpointSlice changes), and the
    namespaces where a Pod moved (subsets and peer modes read Pods' labels)."""
    services = set(moved.of("services"))
    for old, new in moved.of("endpoint_slices").values():
        for sl in (old, new):
            if sl is not None and sl.service:
                services.add((sl.meta.namespace, sl.service))
    pod_namespaces = {ns for ns, _ in moved.of("pods")}
    return services, pod_namespaces


def _gateway_holds(
    prev: GatewayStage,
    gw: Resource[GatewaySpec],
    attachments: tuple[Attachment, ...],
    runtime: GatewayRuntime | None,
    moved: Changes,
    touched: tuple[set[tuple[str, str]], set[str]],
    clusters: ClusterBook,
    translations: _Translations,
) -> bool:
    """Whether a Gateway's kept stage is what compiling it again would give (the changes that
    reach every Gateway are ruled out by the caller)."""
    assert gw.spec is not None
    if not same(prev.gateway, gw) or prev.attachments != attachments or prev.runtime != runtime:
        return False
    if gw.spec.catalog is not None and moved.of("routes"):
        return False  # the catalog page describes every Route
    if any(ns == gw.meta.namespace for ns, _ in moved.of("secrets")):
        return False  # listener certificates
    if not all(translations.holds(tr, tr.route) for tr in prev.use.translations):
        return False
    services, pod_namespaces = touched
    return all(
        clusters.ensure(ref) == cluster
        for ref, cluster in prev.use.clusters.items()
        if (ref.namespace, ref.service) in services or ref.namespace in pod_namespaces
    )


def _compile_gateway(
    gw: Resource[GatewaySpec],
    attachments: tuple[Attachment, ...],
    runtime: GatewayRuntime | None,
    index: Index,
    translations: _Translations,
    clusters: ClusterBook,
    edge: EdgeBook,
    kept: Pieces,
    memo: GatewayMemo | None,
) -> GatewayStage:
    assert gw.spec is not None
    use = GatewayUse()
    plan = compile_gateway(
        gw, list(attachments), index, translations.get, clusters, edge, use, memo
    )
    config, text, pieces = versioned_in_pieces(plan.config, kept)
    fate = Notes()
    members: dict[str, bytes] = {}

    def packed() -> bytes:
        data, kept_members = gzip_members(pieces.segments, kept.members)
        members.update(kept_members)
        return data

    try:
        parts = split(text, config.version, packed)
        pieces = replace(pieces, members=members)
    except ConfigPartsError as exc:
        fate.set("Gateway", gw.meta, "Programmed", "False", "ConfigTooLarge", str(exc))
        return GatewayStage(gw, attachments, runtime, use, fate.freeze(), None, pieces, plan.memo)
    fate.set(
        "Gateway", gw.meta, "Programmed", "True", "Programmed",
        f"proxy config {config.version} ({len(text)} bytes) compiled; "
        + _stored_in(gw.meta.name, None if parts is None else len(parts.parts)),
    )  # fmt: skip
    spec = gw.spec
    resources = spec.resources
    output = GatewayOutput(
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
    return GatewayStage(
        gw, attachments, runtime, use, fate.freeze(), output, pieces, plan.memo, plan.hosts_built
    )


def _stored_in(gateway: str, parts: int | None) -> str:
    """Which ConfigMaps hold the config, for the Programmed message."""
    index = gateway_config_map(gateway)
    if parts is None:
        return f"stored in ConfigMap {index}"
    names = ", ".join(gateway_config_part(gateway, n) for n in range(parts))
    return f"stored gzip'ed in ConfigMaps {names}, indexed by ConfigMap {index}"
