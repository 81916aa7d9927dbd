"""One Route rule to proxy routes: matches, filters, weighted backends, timeouts, retry. Pure.

Every problem found on the way is recorded on the Route's status; a rule that cannot forward
still gets a route (a 500 direct response, as the Gateway API asks for a rule whose backends are
all invalid) so its traffic fails loudly instead of falling through to a less specific rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msgspec.structs import replace

from meshgate.api.v1alpha1.retry_policy import RetryPolicySpec
from meshgate.api.v1alpha1.route import (
    BackendObjectReference,
    HeaderModifier,
    PathModifier,
    RouteFilter,
    RouteMatch,
    RouteRule,
    RouteSpec,
)
from meshproxy import config as pc

from .clusters import ClusterBook
from .durations import seconds
from .index import Index
from .precedence import match_claim, precedence_key
from .report import Report, q
from .retries import RetryBook, from_inline, from_policy
from .snapshot import Resource, Service, ServicePort

KIND = "Route"


@dataclass(frozen=True)
class Entry:
    """One proxy route with what it needs for ordering and conflict reporting."""

    order: tuple[object, ...]
    claim: tuple[object, ...]
    owner: Resource[RouteSpec]
    label: str  # `rule 0 match 1`, for messages
    route: pc.Route
    rule: str = ""  # the rule's name, for policies that target one rule


@dataclass
class RuleCompiler:
    """Translates rules, remembering which clusters were used and which policies applied."""

    index: Index
    clusters: ClusterBook
    retries: RetryBook
    report: Report
    used: set[str] = field(default_factory=set)
    backend_counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    applied: dict[tuple[str, str], set[tuple[str, str, str, str, str]]] = field(
        default_factory=dict
    )
    ready: dict[tuple[str, str], int] = field(default_factory=dict)
    _memo: dict[tuple[str, float | None], list[Entry]] = field(default_factory=dict)
    _counted: set[str] = field(default_factory=set)

    def entries(
        self, route: Resource[RouteSpec], *, default_timeout: float | None = None
    ) -> list[Entry]:
        """The route's entries; memoised, since one Route may serve many gateways and hosts."""
        memo_key = (route.meta.key, default_timeout)
        if memo_key not in self._memo:
            self._memo[memo_key] = self._entries(route, default_timeout)
            self._counted.add(route.meta.key)
        return self._memo[memo_key]

    def _entries(self, route: Resource[RouteSpec], default_timeout: float | None) -> list[Entry]:
        assert route.spec is not None
        out: list[Entry] = []
        for i, rule in enumerate(route.spec.rules):
            base = self._action(route, i, rule, default_timeout)
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
        return out

    def _action(
        self,
        route: Resource[RouteSpec],
        i: int,
        rule: RouteRule,
        default_timeout: float | None,
    ) -> pc.Route | None:
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
        forward = self._forward(route, i, rule, filters, default_timeout)
        if forward is None:
            fields["direct_response"] = pc.DirectResponse(
                status=500, body="no valid backend for this route\n"
            )
        else:
            fields["forward"] = forward
        return pc.Route(**fields)

    def _forward(
        self,
        route: Resource[RouteSpec],
        i: int,
        rule: RouteRule,
        filters: dict[str, RouteFilter],
        default_timeout: float | None,
    ) -> pc.Forward | None:
        weighted: list[pc.WeightedCluster] = []
        refs = rule.backend_refs or []
        resolved = 0
        key = (route.meta.namespace, route.meta.name)
        first_service: Service | None = None
        for ref in refs:
            target = self._backend(route, ref)
            if target is None:
                continue
            service, port = target
            if ref.subset and not self.clusters.has_subset(
                service.meta.namespace, service.meta.name, ref.subset
            ):
                self.report.set(
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
            name = self.clusters.cluster(service, port, ref.subset)
            self.used.add(name)
            if route.meta.key not in self._counted:
                self.ready[key] = self.ready.get(key, 0) + self.clusters.ready_endpoints(name)
            self._note_destination_rule(route, service)
            if ref.weight > 0:
                weighted.append(pc.WeightedCluster(cluster=name, weight=ref.weight))
        if route.meta.key not in self._counted:
            total, ok = self.backend_counts.get(key, (0, 0))
            self.backend_counts[key] = (total + len(refs), ok + resolved)
        if not weighted:
            if not refs:
                self._partial(route, f"rule {i}: no backendRefs; requests get 500")
            return None
        mirrors = []
        # A rule may mirror to several backends: every RequestMirror filter counts.
        for mirror in rule.filters or []:
            mirror_cfg = mirror.request_mirror
            if mirror.type != "RequestMirror" or mirror_cfg is None:
                continue
            target = self._backend(route, mirror_cfg.backend_ref)
            if target is not None:
                name = self.clusters.cluster(*target)
                self.used.add(name)
                mirrors.append(pc.Mirror(cluster=name, percent=mirror_cfg.percent))
        rewrite = None
        rw = getattr(filters.get("URLRewrite"), "url_rewrite", None)
        if rw is not None:
            rewrite = pc.Rewrite(hostname=rw.hostname, path=_path(rw.path))
        retry = self._retry(route, i, rule, first_service)
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

    def _retry(
        self, route: Resource[RouteSpec], i: int, rule: RouteRule, service: Service | None
    ) -> pc.Retry | None:
        if rule.retry is not None:
            return from_inline(rule.retry)
        ns = route.meta.namespace
        rule_name = rule.name
        if rule.retry_policy_ref is not None:
            rp = self.retries.by_name.get((ns, rule.retry_policy_ref.name))
            if rp is None or rp.spec is None:
                self.report.set(
                    KIND,
                    route.meta,
                    "ResolvedRefs",
                    "False",
                    "RetryPolicyNotFound",
                    f"rule {rule_name or i}: retrypolicy {q(rule.retry_policy_ref.name)} not "
                    f"found in namespace {q(ns)}",
                )
                return None
            self._apply(route, rp, "RouteRef", rule_name)
            return from_policy(rp.spec)
        rp = self.retries.by_route.get((ns, route.meta.name))
        if rp is not None and rp.spec is not None:
            self._apply(route, rp, "TargetRef", None)
            return from_policy(rp.spec)
        if service is not None:
            rp = self.retries.by_service.get((service.meta.namespace, service.meta.name))
            if rp is not None and rp.spec is not None:
                self._apply(route, rp, "TargetRef", rule_name)
                return from_policy(rp.spec)
        return None

    def _apply(
        self,
        route: Resource[RouteSpec],
        rp: Resource[RetryPolicySpec],
        source: str,
        rule: str | None,
    ) -> None:
        self.retries.note_use(rp, "Route", route.meta.namespace, route.meta.name)
        self.note_policy(route, "RetryPolicy", rp.meta.namespace, rp.meta.name, source, rule)

    def note_policy(
        self,
        route: Resource[RouteSpec],
        kind: str,
        namespace: str,
        name: str,
        source: str,
        rule: str | None = None,
    ) -> None:
        key = (route.meta.namespace, route.meta.name)
        self.applied.setdefault(key, set()).add((kind, namespace, name, source, rule or ""))

    def _note_destination_rule(self, route: Resource[RouteSpec], service: Service) -> None:
        dr = self.clusters.rule_for(service.meta.namespace, service.meta.name)
        if dr is not None:
            self.note_policy(route, "DestinationRule", dr.meta.namespace, dr.meta.name, "TargetRef")

    def _backend(
        self, route: Resource[RouteSpec], ref: BackendObjectReference
    ) -> tuple[Service, ServicePort] | None:
        ns = ref.namespace or route.meta.namespace
        service = self.index.services.get((ns, ref.name))
        if service is None:
            self.report.set(
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
            self.report.set(
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

    def _partial(self, route: Resource[RouteSpec], message: str) -> None:
        self.report.set(KIND, route.meta, "PartiallyInvalid", "True", "UnsupportedValue", message)


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
