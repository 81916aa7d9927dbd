"""Where edge policies (EdgeAuthentication, RateLimitPolicy) land, and which one wins. Pure.

- A policy targeting a Gateway (or named by its `defaults.authenticationRef` /
  `rateLimitPolicyRef`) goes on the proxy listeners, so one bucket counts the whole gateway;
  `sectionName` narrows it to the proxy listener serving that listener's port.
- A policy targeting a Route goes on that Route's proxy routes; `sectionName` narrows it to the
  rule of that name.
- Authentication: one policy per level (the proxy accepts a request when *any* listed policy
  does, so two policies on one level would each weaken the other). The listener level and the
  route level both apply: a Route cannot loosen what its Gateway requires. Among several
  candidates on one level the rule-specific one beats the Route-wide one, then the oldest wins;
  a policy that wins nowhere is `Accepted=False, reason=Conflicted`.
- Rate limits all apply: each rule is its own token bucket, a request over any one gets 429.

`EdgeBook` is built once per compile from the policies; what one gateway's compile used is
recorded in its `GatewayEdge`, and `attachment_notes` turns those records into the policies'
`attachedTo` and Accepted conditions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshgate.api.v1alpha1.edge_authentication import EdgeAuthenticationSpec
from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshgate.api.v1alpha1.rate_limit_policy import RateLimitPolicySpec
from meshgate.api.v1alpha1.route import RouteSpec
from meshproxy import config as pc

from ..index import Index
from ..notes import Notes
from ..report import q
from ..snapshot import Meta, Resource
from .proxy_policies import AUTHN, LIMIT, authn_policy, limit_policies

Where = tuple[str, str, str]  # (Gateway | Route, namespace, name)
Applied = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Target:
    kind: str  # Gateway | Route
    namespace: str
    name: str
    section: str | None


@dataclass
class GatewayEdge:
    """One gateway's edge: policy definitions and generated Secret files for its config, and
    where each policy took effect (for the policies' status)."""

    authn: dict[str, pc.AuthnPolicy] = field(default_factory=dict)
    rate_limits: dict[str, pc.RateLimitPolicy] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    notes: Notes = field(default_factory=Notes)
    # (policy kind, key) -> targets it is in effect on
    attached: dict[tuple[str, str], set[Where]] = field(default_factory=lambda: defaultdict(set))
    won: set[tuple[str, str]] = field(default_factory=set)
    # (policy kind, key) -> why it lost, first reason first
    beaten: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class EdgeBook:
    """The usable edge policies, indexed by target. Read-only once built."""

    index: Index
    notes: Notes
    authns: dict[str, Resource[EdgeAuthenticationSpec]] = field(default_factory=dict)
    limits: dict[str, Resource[RateLimitPolicySpec]] = field(default_factory=dict)
    by_target: dict[Where, list[tuple[str, str, str | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # (kind, ns, name) -> [(policy kind, policy key, section)]

    @classmethod
    def build(cls, index: Index) -> EdgeBook:
        """The book, with what it found about the policies in `notes`."""
        book = cls(index=index, notes=Notes())
        report = book.notes
        snap = index.snapshot
        for ea in snap.edge_authentications:
            report.track(AUTHN, ea.meta)
            if ea.spec is None:
                report.set(AUTHN, ea.meta, "Accepted", "False", "Invalid", ea.error or "")
                continue
            if book._targets(AUTHN, ea.meta, ea.spec.target_refs):
                book.authns[ea.meta.key] = ea
        for rl in snap.rate_limit_policies:
            report.track(LIMIT, rl.meta)
            if rl.spec is None:
                report.set(LIMIT, rl.meta, "Accepted", "False", "Invalid", rl.error or "")
                continue
            if rl.spec.mode == "Global" and not book._redis_resolved(rl):
                continue
            if book._targets(LIMIT, rl.meta, rl.spec.target_refs):
                book.limits[rl.meta.key] = rl
        for gw in snap.gateways:
            defaults = gw.spec.defaults if gw.spec is not None else None
            if defaults is None:
                continue
            for kind, ref, found in (
                (AUTHN, defaults.authentication_ref, book.authns),
                (LIMIT, defaults.rate_limit_policy_ref, book.limits),
            ):
                if ref is None:
                    continue
                key = f"{gw.meta.namespace}/{ref.name}"
                if key in found:
                    entry = (kind, key, None)
                    targets = book.by_target[("Gateway", gw.meta.namespace, gw.meta.name)]
                    if entry not in targets:
                        targets.append(entry)
        return book

    def targets_route(self, namespace: str, name: str) -> bool:
        """Whether any policy names this Route (then a change to it can move a policy)."""
        return ("Route", namespace, name) in self.by_target

    def _targets(self, kind: str, meta: Meta, refs: Iterable[Any]) -> bool:
        """Index the policy by its targets; report the ones that do not exist."""
        missing = []
        found = 0
        for ref in refs:
            target = Target(ref.kind, meta.namespace, ref.name, ref.section_name)
            problem = self._target_problem(target)
            if problem:
                missing.append(problem)
                continue
            found += 1
            self.by_target[(target.kind, target.namespace, target.name)].append(
                (kind, meta.key, target.section)
            )
        if missing and not found:
            self.notes.set(kind, meta, "Accepted", "False", "NoMatchingTarget", "; ".join(missing))
            return False
        if missing:
            self.notes.set(
                kind, meta, "ResolvedRefs", "False", "NoMatchingTarget", "; ".join(missing)
            )
        return True

    def _target_problem(self, t: Target) -> str | None:
        snap = self.index.snapshot
        if t.kind == "Gateway":
            gw = next(
                (
                    g
                    for g in snap.gateways
                    if (g.meta.namespace, g.meta.name) == (t.namespace, t.name)
                ),
                None,
            )
            if gw is None:
                return f"gateway {q(t.name)} not found in namespace {q(t.namespace)}"
            if t.section and gw.spec and t.section not in {ln.name for ln in gw.spec.listeners}:
                return f"gateway {q(t.name)} has no listener {q(t.section)}"
            return None
        route = next(
            (r for r in snap.routes if (r.meta.namespace, r.meta.name) == (t.namespace, t.name)),
            None,
        )
        if route is None:
            return f"route {q(t.name)} not found in namespace {q(t.namespace)}"
        if t.section and route.spec and t.section not in {r.name for r in route.spec.rules}:
            return f"route {q(t.name)} has no rule named {q(t.section)}"
        return None

    def _redis_resolved(self, rl: Resource[RateLimitPolicySpec]) -> bool:
        assert rl.spec is not None
        backend = rl.spec.global_
        if backend is not None and backend.redis_url:
            return True
        if backend is not None and backend.secret_ref is not None:
            ref = backend.secret_ref
            secret = self.index.snapshot.edge_secrets.get((rl.meta.namespace, ref.name))
            if secret is None:
                problem = (
                    "SecretNotFound",
                    f"secret {q(ref.name)} not found in namespace {q(rl.meta.namespace)}",
                )
            elif not secret.texts.get(ref.key):
                problem = ("InvalidSecret", f"secret {q(ref.name)} has no key {q(ref.key)}")
            else:
                return True
        elif backend is None and self.index.snapshot.settings.default_redis_url:
            return True
        else:
            problem = (
                "InvalidSpec",
                "mode Global needs global.redisURL or global.secretRef, or the operator's "
                "Redis (the chart's rateLimit.redisUrl)",
            )
        self.notes.set(
            LIMIT,
            rl.meta,
            "Accepted",
            "False",
            "RedisNotResolved",
            "the limit is not enforced: " + problem[1],
        )
        self.notes.set(LIMIT, rl.meta, "ResolvedRefs", "False", *problem)
        return False

    # --- per gateway -----------------------------------------------------------------------------

    def listener_level(
        self, gw: Resource[GatewaySpec], listeners: list[str], edge: GatewayEdge
    ) -> tuple[list[str], list[str]]:
        """The authn and rate-limit names for one proxy listener made of `listeners`."""
        candidates = [
            (kind, key)
            for kind, key, section in self.by_target.get(
                ("Gateway", gw.meta.namespace, gw.meta.name), []
            )
            if section is None or section in listeners
        ]
        where = ("Gateway", gw.meta.namespace, gw.meta.name)
        authn = self._one_authn([key for kind, key in candidates if kind == AUTHN], where, edge)
        limits = sorted({key for kind, key in candidates if kind == LIMIT})
        return self._use(authn, limits, gw, where, edge)

    def route_level(
        self,
        gw: Resource[GatewaySpec],
        listener: str,
        route: Resource[RouteSpec],
        rule: str,
        edge: GatewayEdge,
    ) -> tuple[list[str], list[str], list[Applied]]:
        """Names for one proxy route of `route`'s rule `rule`, and the policies applied."""
        targets = self.by_target.get(("Route", route.meta.namespace, route.meta.name), [])
        specific = [key for kind, key, section in targets if kind == AUTHN and section == rule]
        broad = [key for kind, key, section in targets if kind == AUTHN and section is None]
        where = ("Route", route.meta.namespace, route.meta.name)
        authn = self._one_authn(specific or broad, where, edge)
        limits = sorted(
            {key for kind, key, section in targets if kind == LIMIT and section in (None, rule)}
        )
        names = self._use(authn, limits, gw, where, edge)
        applied = []
        for kind, keys in ((AUTHN, [authn] if authn else []), (LIMIT, limits)):
            for key in keys:
                ns, name = key.split("/", 1)
                applied.append((kind, ns, name, "TargetRef", rule))
        gw_where = ("Gateway", gw.meta.namespace, gw.meta.name)
        for kind, key, section in self.by_target.get(gw_where, []):
            if section in (None, listener) and key in (
                self.authns if kind == AUTHN else self.limits
            ):
                ns, name = key.split("/", 1)
                applied.append((kind, ns, name, "Gateway", ""))
        return names[0], names[1], applied

    def stripped_headers(self, authn: list[str]) -> list[str]:
        """Key headers the upstream must not see: `apiKeys.stripKey` (the default) with a
        header. A key in the query string stays (the proxy cannot edit the query)."""
        out = set()
        for key in authn:
            spec = self.authns[key].spec
            api_keys = spec.api_keys if spec is not None else None
            if api_keys is not None and api_keys.strip_key and api_keys.header:
                out.add(api_keys.header.lower())
        return sorted(out)

    def _one_authn(self, keys: list[str], where: Where, edge: GatewayEdge) -> str | None:
        if not keys:
            return None
        ranked = sorted(set(keys), key=lambda k: self.authns[k].meta.age_key)
        winner = ranked[0]
        edge.won.add((AUTHN, winner))
        for loser in ranked[1:]:
            edge.beaten.setdefault(
                (AUTHN, loser),
                f"{where[0].lower()} {where[1]}/{where[2]} is already authenticated by the older "
                f"EdgeAuthentication {winner}",
            )
        return winner

    def _use(
        self,
        authn: str | None,
        limits: list[str],
        gw: Resource[GatewaySpec],
        where: Where,
        edge: GatewayEdge,
    ) -> tuple[list[str], list[str]]:
        snap = self.index.snapshot
        authn_names: list[str] = []
        if authn is not None:
            edge.attached[(AUTHN, authn)].add(where)
            if authn not in edge.authn:
                edge.authn[authn] = authn_policy(
                    self.authns[authn], snap.edge_secrets, edge.notes, edge.files
                )
            authn_names.append(authn)
        limit_names: list[str] = []
        runtime = snap.gateway_runtime.get(gw.meta.key)
        for key in limits:
            edge.attached[(LIMIT, key)].add(where)
            for p in limit_policies(
                self.limits[key],
                runtime.ready_replicas if runtime else 0,
                snap.settings.default_redis_url,
                snap.edge_secrets,
                edge.files,
            ):
                edge.rate_limits[p.name] = p
                limit_names.append(p.name)
        return authn_names, limit_names


def attachment_notes(book: EdgeBook, edges: Sequence[GatewayEdge]) -> Notes:
    """Each usable policy's `attachedTo` and Accepted condition, from where it took effect in
    every gateway's compile (`edges`, in the order the gateways compiled)."""
    attached: dict[tuple[str, str], set[Where]] = defaultdict(set)
    won: set[tuple[str, str]] = set()
    beaten: dict[tuple[str, str], str] = {}
    for edge in edges:
        for policy, targets in edge.attached.items():
            attached[policy] |= targets
        won |= edge.won
        for policy, why in edge.beaten.items():
            beaten.setdefault(policy, why)
    notes = Notes()
    snap = book.index.snapshot
    kinds: tuple[tuple[str, Sequence[Resource[Any]], dict[str, Any]], ...] = (
        (AUTHN, snap.edge_authentications, book.authns),
        (LIMIT, snap.rate_limit_policies, book.limits),
    )
    for kind, items, usable in kinds:
        for item in items:
            key = item.meta.key
            if key not in usable:
                continue
            where = sorted(attached.get((kind, key), set()))
            notes.field(
                kind,
                item.meta,
                "attachedTo",
                [
                    {"group": "meshgate.io", "kind": k, "namespace": ns, "name": n}
                    for k, ns, n in where
                ],
            )
            if kind == AUTHN and (kind, key) in beaten and (kind, key) not in won:
                notes.set(kind, item.meta, "Accepted", "False", "Conflicted", beaten[(kind, key)])
            elif where:
                notes.set(
                    kind, item.meta, "Accepted", "True", "Accepted",
                    "in effect on " + ", ".join(f"{k.lower()} {ns}/{n}" for k, ns, n in where),
                )  # fmt: skip
            else:
                notes.set(
                    kind, item.meta, "Accepted", "True", "NotServed",
                    "its targets exist but no gateway serves them yet",
                )  # fmt: skip
            notes.default(
                kind, item.meta, "ResolvedRefs", "True", "ResolvedRefs", "all references resolved"
            )
    return notes
