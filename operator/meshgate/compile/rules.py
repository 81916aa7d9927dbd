"""One Route's rules to proxy routes: matches, filters, weighted backends, timeouts, retry. Pure.

`translate` is a function of the Route and of the few lookups it makes (its backend Services,
their DestinationRules, the RetryPolicies that may apply), which it records in the result: a
kept translation is still right while every recorded lookup answers the same
(`RouteTranslation.still_valid`), which is what lets an incremental compile reuse it.

Every problem found on the way is recorded in the translation's notes for the Route's status; a
rule that cannot forward still gets a route (a 500 direct response, as the Gateway API asks for a
rule whose backends are all invalid) so its traffic fails loudly instead of falling through to a
less specific rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msgspec.structs import replace

from meshgate.api.v1alpha1.destination_rule import DestinationRuleSpec
from meshgate.api.v1alpha1.retry_policy import RetryPolicySpec
from meshgate.api.v1alpha1.route import (
    BackendObjectReference,
    BackendRef,
    HeaderModifier,
    PathModifier,
    RouteFilter,
    RouteMatch,
    RouteRule,
    RouteSpec,
)
from meshproxy import config as pc

from .durations import seconds
from .names import ClusterRef, cluster_ref
from .notes import NoteLog, Notes
from .precedence import match_claim, precedence_key
from .report import q
from .retries import from_inline, from_policy
from .same import same
from .snapshot import Resource, Service, ServicePort

KIND = "Route"

# (kind, namespace, name, source, rule) of a policy in effect on a Route, for `appliedPolicies`.
Applied = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Entry:
    """One proxy route with what it needs for ordering and conflict reporting."""

    order: tuple[object, ...]
    claim: tuple[object, ...]
    owner: Resource[RouteSpec]
    label: str  # `rule 0 match 1`, for messages
    route: pc.Route
    rule: str = ""  # the rule's name, for policies that target one rule


class Lookups:
    """The tables a translation may read, each answering by (namespace, name)."""

    def __init__(
        self,
        services: dict[tuple[str, str], Service],
        destination_rules: dict[tuple[str, str], Resource[DestinationRuleSpec]],
        retries_by_name: dict[tuple[str, str], Resource[RetryPolicySpec]],
        retries_by_route: dict[tuple[str, str], Resource[RetryPolicySpec]],
        retries_by_service: dict[tuple[str, str], Resource[RetryPolicySpec]],
    ) -> None:
        self.tables: dict[str, dict[tuple[str, str], Any]] = {
            "service": services,
            "destination_rule": destination_rules,
            "retry_by_name": retries_by_name,
            "retry_by_route": retries_by_route,
            "retry_by_service": retries_by_service,
        }

    def get(self, table: str, key: tuple[str, str]) -> Any:
        return self.tables[table].get(key)


Read = tuple[str, tuple[str, str], Any]  # (table, key, what it answered)


@dataclass(frozen=True)
class RouteTranslation:
    """A Route's proxy routes and what its translation found, for configs and its status."""

    route: Resource[RouteSpec]
    default_timeout: float | None
    entries: tuple[Entry, ...]
    notes: NoteLog
    backends: tuple[int, int]  # (backendRefs, resolved)
    ready_from: tuple[ClusterRef, ...]  # the forward clusters whose ready endpoints it counts
    clusters: tuple[ClusterRef, ...]  # every cluster its entries name (mirrors too)
    applied: frozenset[Applied]
    retry_uses: frozenset[tuple[str, str]]  # RetryPolicies in effect on it
    reads: tuple[Read, ...]

    def still_valid(self, route: Resource[RouteSpec], lookups: Lookups) -> bool:
        """Whether translating `route` now would give this translation again."""
        if not same(self.route, route):
            return False
        return all(same(lookups.get(table, key), value) for table, key, value in self.reads)


def translate(
    route: Resource[RouteSpec], default_timeout: float | None, lookups: Lookups
) -> RouteTranslation:
    return _Translator(route, lookups).run(default_timeout)


@dataclass
class _Translator:
    """The state of one translation; what it read and found becomes the `RouteTranslation`."""

    route: Resource[RouteSpec]
    lookups: Lookups
    notes: Notes = field(default_factory=Notes)
    reads: dict[tuple[str, tuple[str, str]], Any] = field(default_factory=dict)
    total: int = 0
    resolved: int = 0
    ready_from: list[ClusterRef] = field(default_factory=list)
    clusters: dict[ClusterRef, None] = field(default_factory=dict)
    applied: set[Applied] = field(default_factory=set)
    retry_uses: set[tuple[str, str]] = field(default_factory=set)

    def run(self, default_timeout: float | None) -> RouteTranslation:
        route = self.route
        assert route.spec is not None
        out: list[Entry] = []
        for i, rule in enumerate(route.spec.rules):
            base = self._action(i, rule, default_timeout)
            if base is None:
                continue
            for j, m in enumerate(rule.matches):
                match = _match(m)
                name = f"{route.meta.key}/{rule.name or f'rule{i}'}/{j}"
                out.append(
                    Entry(
                        order=precedence_key(match, route.meta, i, j),
                        claim=match_claim(match),
                        owner=route,
                        label=f"rule {rule.name or i} match {j}",
                        route=replace(base, name=name, match=match),
                        rule=rule.name or "",
                    )
                )
        return RouteTranslation(
            route=route,
            default_timeout=default_timeout,
            entries=tuple(out),
            notes=self.notes.freeze(),
            backends=(self.total, self.resolved),
            ready_from=tuple(self.ready_from),
            clusters=tuple(self.clusters),
            applied=frozenset(self.applied),
            retry_uses=frozenset(self.retry_uses),
            reads=tuple((table, key, value) for (table, key), value in self.reads.items()),
        )

    def _read(self, table: str, key: tuple[str, str]) -> Any:
        value = self.lookups.get(table, key)
        self.reads[(table, key)] = value
        return value

    def _action(self, i: int, rule: RouteRule, default_timeout: float | None) -> pc.Route | None:
        route = self.route
        filters: dict[str, RouteFilter] = {f.type: f for f in rule.filters or []}
        fields: dict[str, Any] = {"name": "", "source": route.meta.key}
        if (f := filters.get("RequestHeaderModifier")) and f.request_header_modifier:
            fields["request_headers"] = _headers(f.request_header_modifier)
        if (f := filters.get("ResponseHeaderModifier")) and f.response_header_modifier:
            fields["response_headers"] = _headers(f.response_header_modifier)
        if (f := filters.get("Fault")) and f.fault:
            fields["fault"] = pc.Fault(
                delay=pc.FaultDelay(
                    fixed_delay=seconds(f.fault.delay.fixed_delay),
                    percent=f.fault.delay.percentage,
                )
                if f.fault.delay
                else None,
                abort=pc.FaultAbort(
                    status=f.fault.abort.http_status, percent=f.fault.abort.percentage
                )
                if f.fault.abort
                else None,
            )
        if (f := filters.get("CORS")) and f.cors:
            c = f.cors
            fields["cors"] = pc.Cors(
                allow_origins=list(c.allow_origins),
                allow_methods=list(c.allow_methods or []),
                allow_headers=list(c.allow_headers or []),
                expose_headers=list(c.expose_headers or []),
                max_age=float(c.max_age),
                allow_credentials=bool(c.allow_credentials),
            )
        if (f := filters.get("Cache")) and f.cache:
            fields["cache"] = pc.Cache(
                max_entries=f.cache.max_entries,
                max_body_bytes=f.cache.max_entry_bytes,
                default_ttl=seconds(f.cache.ttl),
                vary=sorted({name.lower() for name in f.cache.vary or []}),
            )
        if (f := filters.get("JSONProjection")) and f.json_projection:
            fields["json_projection"] = pc.JsonProjection(
                fields=list(f.json_projection.fields),
                max_body_bytes=f.json_projection.max_body_bytes,
                mode=f.json_projection.mode,
            )
        if (f := filters.get("RequestRedirect")) and f.request_redirect:
            r = f.request_redirect
            fields["redirect"] = pc.Redirect(
                scheme=r.scheme,
                hostname=r.hostname,
                port=r.port,
                path=_path(r.path),
                status_code=r.status_code,
            )
            return pc.Route(**fields)
        forward = self._forward(i, rule, filters, default_timeout)
        if forward is None:
            fields["direct_response"] = pc.DirectResponse(
                status=500, body="no valid backend for this route\n"
            )
        else:
            fields["forward"] = forward
        return pc.Route(**fields)

    def _forward(
        self,
        i: int,
        rule: RouteRule,
        filters: dict[str, RouteFilter],
        default_timeout: float | None,
    ) -> pc.Forward | None:
        route = self.route
        weighted: list[pc.WeightedCluster] = []
        refs = rule.backend_refs or []
        resolved = 0
        first_service: Service | None = None
        for ref in refs:
            target = self._backend(ref)
            if target is None:
                continue
            service, port = target
            if ref.subset and not self._has_subset(service, ref.subset):
                self.notes.set(
                    KIND,
                    route.meta,
                    "ResolvedRefs",
                    "False",
                    "InvalidSubset",
                    f"subset {q(ref.subset)} is not defined by a DestinationRule for service "
                    f"{q(service.meta.name)} in namespace {q(service.meta.namespace)}",
                )
                continue
            resolved += 1
            first_service = first_service or service
            cluster = cluster_ref(service.meta.namespace, service.meta.name, port.port, ref.subset)
            self.clusters[cluster] = None
            self.ready_from.append(cluster)
            self._note_destination_rule(service)
            if ref.weight > 0:
                weighted.append(
                    pc.WeightedCluster(
                        cluster=cluster.name, weight=ref.weight, **_backend_headers(ref)
                    )
                )
        self.total += len(refs)
        self.resolved += resolved
        if not weighted:
            if not refs:
                self._partial(f"rule {i}: no backendRefs; requests get 500")
            return None
        mirrors = []
        # A rule may mirror to several backends: every RequestMirror filter counts.
        for mirror in rule.filters or []:
            mirror_cfg = mirror.request_mirror
            if mirror.type != "RequestMirror" or mirror_cfg is None:
                continue
            target = self._backend(mirror_cfg.backend_ref)
            if target is not None:
                service, port = target
                cluster = cluster_ref(service.meta.namespace, service.meta.name, port.port)
                self.clusters[cluster] = None
                mirrors.append(pc.Mirror(cluster=cluster.name, percent=mirror_cfg.percent))
        rewrite = None
        rw = getattr(filters.get("URLRewrite"), "url_rewrite", None)
        if rw is not None:
            rewrite = pc.Rewrite(hostname=rw.hostname, path=_path(rw.path))
        retry = self._retry(i, rule, first_service)
        timeout = default_timeout
        if rule.timeouts and rule.timeouts.request is not None:
            timeout = seconds(rule.timeouts.request) or None  # 0s disables the timeout
        if rule.timeouts and rule.timeouts.backend_request is not None:
            per_try = seconds(rule.timeouts.backend_request) or None
            if retry is not None and per_try is not None:
                retry = replace(retry, per_try_timeout=per_try)
            elif per_try is not None:
                timeout = min(timeout, per_try) if timeout else per_try
        return pc.Forward(
            clusters=sorted(weighted, key=lambda w: w.cluster),
            timeout=timeout,
            retry=retry,
            rewrite=rewrite,
            mirrors=mirrors,
        )

    def _has_subset(self, service: Service, subset: str) -> bool:
        dr = self._read("destination_rule", (service.meta.namespace, service.meta.name))
        return (
            dr is not None
            and dr.spec is not None
            and any(s.name == subset for s in dr.spec.subsets or [])
        )

    def _retry(self, i: int, rule: RouteRule, service: Service | None) -> pc.Retry | None:
        route = self.route
        if rule.retry is not None:
            return from_inline(rule.retry)
        ns = route.meta.namespace
        rule_name = rule.name
        if rule.retry_policy_ref is not None:
            rp = self._read("retry_by_name", (ns, rule.retry_policy_ref.name))
            if rp is None or rp.spec is None:
                self.notes.set(
                    KIND,
                    route.meta,
                    "ResolvedRefs",
                    "False",
                    "RetryPolicyNotFound",
                    f"rule {rule_name or i}: retrypolicy {q(rule.retry_policy_ref.name)} not "
                    f"found in namespace {q(ns)}",
                )
                return None
            self._apply(rp, "RouteRef", rule_name)
            return from_policy(rp.spec)
        rp = self._read("retry_by_route", (ns, route.meta.name))
        if rp is not None and rp.spec is not None:
            self._apply(rp, "TargetRef", None)
            return from_policy(rp.spec)
        if service is not None:
            rp = self._read("retry_by_service", (service.meta.namespace, service.meta.name))
            if rp is not None and rp.spec is not None:
                self._apply(rp, "TargetRef", rule_name)
                return from_policy(rp.spec)
        return None

    def _apply(self, rp: Resource[RetryPolicySpec], source: str, rule: str | None) -> None:
        self.retry_uses.add((rp.meta.namespace, rp.meta.name))
        self.applied.add(("RetryPolicy", rp.meta.namespace, rp.meta.name, source, rule or ""))

    def _note_destination_rule(self, service: Service) -> None:
        dr = self._read("destination_rule", (service.meta.namespace, service.meta.name))
        if dr is not None:
            self.applied.add(("DestinationRule", dr.meta.namespace, dr.meta.name, "TargetRef", ""))

    def _backend(self, ref: BackendObjectReference) -> tuple[Service, ServicePort] | None:
        route = self.route
        ns = ref.namespace or route.meta.namespace
        service = self._read("service", (ns, ref.name))
        if service is None:
            self.notes.set(
                KIND,
                route.meta,
                "ResolvedRefs",
                "False",
                "BackendNotFound",
                f"service {q(ref.name)} not found in namespace {q(ns)}",
            )
            return None
        port = next((p for p in service.ports if p.port == ref.port), None)
        if port is None:
            have = ", ".join(str(p.port) for p in service.ports) or "none"
            self.notes.set(
                KIND,
                route.meta,
                "ResolvedRefs",
                "False",
                "BackendNotFound",
                f"service {q(ref.name)} in namespace {q(ns)} has no port {ref.port} "
                f"(ports: {have})",
            )
            return None
        return service, port

    def _partial(self, message: str) -> None:
        self.notes.set(
            KIND, self.route.meta, "PartiallyInvalid", "True", "UnsupportedValue", message
        )


def _match(m: RouteMatch) -> pc.RouteMatch:
    return pc.RouteMatch(
        path=pc.PathMatch(type=m.path.type, value=m.path.value),
        headers=[
            pc.HeaderMatch(name=h.name.lower(), type=h.type, value=h.value)
            for h in sorted(m.headers or [], key=lambda h: h.name.lower())
        ],
        query_params=[
            pc.QueryParamMatch(name=q.name, type=q.type, value=q.value)
            for q in sorted(m.query_params or [], key=lambda q: q.name)
        ],
        method=m.method,
    )


def _backend_headers(ref: BackendRef) -> dict[str, pc.HeaderModifier]:
    """The header modifiers of a backendRef's own filters, for its weighted cluster: the proxy
    applies them only to the requests it sends there."""
    out: dict[str, pc.HeaderModifier] = {}
    for f in ref.filters or []:
        if f.type == "RequestHeaderModifier" and f.request_header_modifier:
            out["request_headers"] = _headers(f.request_header_modifier)
        elif f.type == "ResponseHeaderModifier" and f.response_header_modifier:
            out["response_headers"] = _headers(f.response_header_modifier)
    return out


def _headers(h: HeaderModifier) -> pc.HeaderModifier:
    return pc.HeaderModifier(
        set={x.name: x.value for x in h.set or []},
        add={x.name: x.value for x in h.add or []},
        remove=sorted(h.remove or []),
    )


def _path(p: PathModifier | None) -> pc.PathRewrite | None:
    if p is None:
        return None
    if p.type == "ReplaceFullPath":
        return pc.PathRewrite(type="ReplaceFullPath", value=p.replace_full_path or "/")
    return pc.PathRewrite(type="ReplacePrefixMatch", value=p.replace_prefix_match or "/")
