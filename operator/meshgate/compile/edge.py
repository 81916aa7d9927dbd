"""Edge policies, EdgeAuthentication and RateLimitPolicy, as proxy `authn` and `rateLimits`. Pure.

Where a policy lands:

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

Key material never reaches a proxy config: API keys arrive here as sha256 digests only
(`EdgeSecret.digests`) and leave as files of the gateway's generated Secret; a Redis URL read
from a Secret goes the same way. A JWKS is public and is inlined, with any private member
removed. Nothing here may put a digest, key or URL from a Secret into a status message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshgate.api.v1alpha1.edge_authentication import EdgeAuthenticationSpec, JWTProvider
from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshgate.api.v1alpha1.rate_limit_policy import RateLimitPolicySpec, RateLimitRule
from meshgate.api.v1alpha1.route import RouteSpec
from meshproxy import config as pc
from meshproxy.policy.jwks import JwksError, parse_jwks

from .durations import seconds
from .index import Index
from .paths import EDGE_SECRET_DIR
from .report import Report, q
from .snapshot import EdgeSecret, Meta, Resource

AUTHN = "EdgeAuthentication"
LIMIT = "RateLimitPolicy"
EMPTY_JWKS = '{"keys":[]}'
MAX_CLOCK_SKEW = 300.0
PER_SECONDS = {"Second": 1.0, "Minute": 60.0, "Hour": 3600.0}
KEY_TYPES: dict[str, pc.RateLimitKeyType] = {
    "ClientIP": "ClientIP",
    "Header": "Header",
    "APIKeyConsumer": "ApiKeyConsumer",
    "JWTClaim": "JwtClaim",
}
# JWK members that hold private or symmetric key material: never copied into a config.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


# --- which Secrets the I/O layer must read, and what it may keep of them -------------------------


@dataclass(frozen=True)
class SecretUse:
    """How edge policies read one Secret: every value as an API key (hashed at once), and/or
    named keys as text (a JWKS document, a Redis URL)."""

    api_keys: bool = False
    text_keys: frozenset[str] = frozenset()


def edge_secret_refs(
    edge_authentications: Iterable[Resource[EdgeAuthenticationSpec]],
    rate_limit_policies: Iterable[Resource[RateLimitPolicySpec]],
) -> dict[tuple[str, str], SecretUse]:
    uses: dict[tuple[str, str], SecretUse] = {}

    def add(ns: str, name: str, *, api_keys: bool = False, text: str | None = None) -> None:
        old = uses.get((ns, name), SecretUse())
        uses[(ns, name)] = SecretUse(
            api_keys=old.api_keys or api_keys,
            text_keys=old.text_keys | ({text} if text else set()),
        )

    for ea in edge_authentications:
        if ea.spec is None:
            continue
        ns = ea.meta.namespace
        if ea.spec.api_keys is not None:
            for ref in ea.spec.api_keys.secret_refs:
                add(ns, ref.name, api_keys=True)
        for provider in ea.spec.jwt.providers if ea.spec.jwt else []:
            if provider.jwks.secret_ref is not None:
                add(ns, provider.jwks.secret_ref.name, text=provider.jwks.secret_ref.key)
    for rl in rate_limit_policies:
        backend = rl.spec.global_ if rl.spec is not None else None
        if backend is not None and backend.secret_ref is not None:
            add(rl.meta.namespace, backend.secret_ref.name, text=backend.secret_ref.key)
    return uses


def edge_secret_of(body: Mapping[str, Any], use: SecretUse) -> EdgeSecret:
    """Reduce a Secret body to what the compiler may see: digests of API keys, named text keys.
    The values themselves are dropped here."""
    meta = body.get("metadata") or {}
    values: dict[str, bytes] = {}
    for k, v in (body.get("data") or {}).items():
        try:
            values[str(k)] = base64.b64decode(str(v), validate=True)
        except (binascii.Error, ValueError):
            continue
    for k, v in (body.get("stringData") or {}).items():
        values[str(k)] = str(v).encode()
    digests = {}
    if use.api_keys:
        for consumer, raw in values.items():
            key = raw.strip()
            if key:
                digests[consumer] = hashlib.sha256(key).hexdigest()
    texts = {}
    for k in use.text_keys:
        if k in values:
            texts[k] = values[k].decode("utf-8", "replace").strip()
    return EdgeSecret(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        digests=digests,
        texts=texts,
    )


def edge_secrets_from_bodies(
    bodies: Iterable[Mapping[str, Any]], uses: Mapping[tuple[str, str], SecretUse]
) -> dict[tuple[str, str], EdgeSecret]:
    out = {}
    for body in bodies:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if key in uses:
            out[key] = edge_secret_of(body, uses[key])
    return out


# --- file names inside the gateway's generated Secret --------------------------------------------


def api_keys_file(meta: Meta) -> str:
    return f"apikeys.{meta.namespace}.{meta.name}.json"


# The operator's own Redis URL (the chart's rateLimit.redisUrl) in a gateway's generated Secret.
DEFAULT_REDIS_FILE = "redis.operator.url"


def redis_url_file(meta: Meta) -> str:
    return f"redis.{meta.namespace}.{meta.name}.url"


# --- compiling ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # Gateway | Route
    namespace: str
    name: str
    section: str | None


@dataclass
class GatewayEdge:
    """What one gateway's config needs: policy definitions and the generated Secret's files."""

    authn: dict[str, pc.AuthnPolicy] = field(default_factory=dict)
    rate_limits: dict[str, pc.RateLimitPolicy] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class EdgeBook:
    """The usable edge policies, indexed by target; records where each one took effect."""

    index: Index
    report: Report
    authns: dict[str, Resource[EdgeAuthenticationSpec]] = field(default_factory=dict)
    limits: dict[str, Resource[RateLimitPolicySpec]] = field(default_factory=dict)
    by_target: dict[tuple[str, str, str], list[tuple[str, str, str | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # (kind, ns, name) -> [(policy kind, policy key, section)]
    attached: dict[tuple[str, str], set[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(set)
    )  # (policy kind, key) -> {(kind, ns, name)}
    won: set[tuple[str, str]] = field(default_factory=set)
    beaten: dict[tuple[str, str], str] = field(default_factory=dict)
    unusable: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def build(cls, index: Index, report: Report) -> EdgeBook:
        book = cls(index=index, report=report)
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
            self.report.set(kind, meta, "Accepted", "False", "NoMatchingTarget", "; ".join(missing))
            return False
        if missing:
            self.report.set(
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
        self.report.set(
            LIMIT,
            rl.meta,
            "Accepted",
            "False",
            "RedisNotResolved",
            "the limit is not enforced: " + problem[1],
        )
        self.report.set(LIMIT, rl.meta, "ResolvedRefs", "False", *problem)
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
        authn = self._one_authn([key for kind, key in candidates if kind == AUTHN], where, gw.meta)
        limits = sorted({key for kind, key in candidates if kind == LIMIT})
        return self._use(authn, limits, gw, where, edge)

    def route_level(
        self,
        gw: Resource[GatewaySpec],
        listener: str,
        route: Resource[RouteSpec],
        rule: str,
        edge: GatewayEdge,
    ) -> tuple[list[str], list[str], list[tuple[str, str, str, str, str]]]:
        """Names for one proxy route of `route`'s rule `rule`, and the policies applied."""
        targets = self.by_target.get(("Route", route.meta.namespace, route.meta.name), [])
        specific = [key for kind, key, section in targets if kind == AUTHN and section == rule]
        broad = [key for kind, key, section in targets if kind == AUTHN and section is None]
        where = ("Route", route.meta.namespace, route.meta.name)
        authn = self._one_authn(specific or broad, where, gw.meta)
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

    def _one_authn(self, keys: list[str], where: tuple[str, str, str], gw: Meta) -> str | None:
        if not keys:
            return None
        ranked = sorted(set(keys), key=lambda k: self.authns[k].meta.age_key)
        winner = ranked[0]
        self.won.add((AUTHN, winner))
        for loser in ranked[1:]:
            self.beaten.setdefault(
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
        where: tuple[str, str, str],
        edge: GatewayEdge,
    ) -> tuple[list[str], list[str]]:
        authn_names: list[str] = []
        if authn is not None:
            self.attached[(AUTHN, authn)].add(where)
            if authn not in edge.authn:
                edge.authn[authn] = self._authn_policy(self.authns[authn], edge)
            authn_names.append(authn)
        limit_names: list[str] = []
        for key in limits:
            self.attached[(LIMIT, key)].add(where)
            for p in self._limit_policies(self.limits[key], gw, edge):
                edge.rate_limits[p.name] = p
                limit_names.append(p.name)
        return authn_names, limit_names

    def _authn_policy(
        self, ea: Resource[EdgeAuthenticationSpec], edge: GatewayEdge
    ) -> pc.AuthnPolicy:
        assert ea.spec is not None
        spec = ea.spec
        api_key = None
        if spec.api_keys is not None:
            entries = []
            for ref in spec.api_keys.secret_refs:
                secret = self.index.snapshot.edge_secrets.get((ea.meta.namespace, ref.name))
                if secret is None:
                    self._unresolved(
                        AUTHN,
                        ea.meta,
                        "SecretNotFound",
                        f"secret {q(ref.name)} not found in namespace {q(ea.meta.namespace)}; "
                        "its consumers are refused",
                    )
                    continue
                if not secret.digests:
                    self._unresolved(
                        AUTHN,
                        ea.meta,
                        "InvalidSecret",
                        f"secret {q(ref.name)} holds no API keys (data: consumer name -> key)",
                    )
                for consumer, digest in sorted(secret.digests.items()):
                    entries.append({"consumer": consumer, "sha256": digest})
            name = api_keys_file(ea.meta)
            edge.files[name] = json.dumps(
                sorted(entries, key=lambda e: (e["consumer"], e["sha256"])), separators=(",", ":")
            )
            api_key = pc.ApiKeyAuthn(
                header=spec.api_keys.header,
                query=spec.api_keys.query,
                keys_file=f"{EDGE_SECRET_DIR}/{name}",
                consumer_header=spec.api_keys.consumer_header,
            )
        jwt = None
        if spec.jwt is not None:
            jwt = pc.JwtAuthn(providers=[self._provider(ea.meta, p) for p in spec.jwt.providers])
        return pc.AuthnPolicy(
            name=ea.meta.key, api_key=api_key, jwt=jwt, optional=spec.mode == "Optional"
        )

    def _provider(self, meta: Meta, p: JWTProvider) -> pc.JwtProvider:
        skew = seconds(p.clock_skew)
        if skew > MAX_CLOCK_SKEW:
            self.report.set(
                AUTHN, meta, "PartiallyInvalid", "True", "UnsupportedValue",
                f"provider {p.name}: clockSkew is capped at {MAX_CLOCK_SKEW:.0f}s",
            )  # fmt: skip
            skew = MAX_CLOCK_SKEW
        fields: dict[str, Any] = {
            "issuer": p.issuer,
            "audiences": list(p.audiences or []),
            "claim_to_headers": [
                pc.ClaimToHeader(claim=c.claim, header=c.header) for c in p.claim_to_headers or []
            ],
            "clock_skew": skew,
        }
        if p.jwks.uri is not None:
            fields["jwks_uri"] = p.jwks.uri
            fields["jwks_cache_seconds"] = seconds(p.jwks.refresh_interval)
        else:
            fields["jwks"] = self._jwks(meta, p)
        return pc.JwtProvider(**fields)

    def _jwks(self, meta: Meta, p: JWTProvider) -> str:
        """The provider's public JWKS, or an empty set (no token validates) when unusable."""
        ref = p.jwks.secret_ref
        assert ref is not None
        secret = self.index.snapshot.edge_secrets.get((meta.namespace, ref.name))
        if secret is None:
            self._unresolved(
                AUTHN,
                meta,
                "SecretNotFound",
                f"secret {q(ref.name)} not found in namespace {q(meta.namespace)}; "
                f"provider {p.name} accepts no token",
            )
            return EMPTY_JWKS
        text = secret.texts.get(ref.key)
        if not text:
            self._unresolved(
                AUTHN,
                meta,
                "InvalidSecret",
                f"secret {q(ref.name)} has no key {q(ref.key)}; provider {p.name} accepts no token",
            )
            return EMPTY_JWKS
        try:
            document = json.loads(text)
            keys = [
                {k: v for k, v in key.items() if k not in PRIVATE_JWK_MEMBERS}
                for key in document["keys"]
                if isinstance(key, dict) and key.get("kty") != "oct"
            ]
            public = json.dumps({"keys": keys}, sort_keys=True, separators=(",", ":"))
            parse_jwks(public)
        except (ValueError, KeyError, TypeError, AttributeError, JwksError) as exc:
            why = str(exc) if isinstance(exc, JwksError) else 'not a JSON object with a "keys" list'
            self._unresolved(
                AUTHN,
                meta,
                "InvalidJWKS",
                f"secret {q(ref.name)} key {q(ref.key)}: {why}; provider {p.name} accepts no token",
            )
            return EMPTY_JWKS
        return public

    def _limit_policies(
        self, rl: Resource[RateLimitPolicySpec], gw: Resource[GatewaySpec], edge: GatewayEdge
    ) -> list[pc.RateLimitPolicy]:
        assert rl.spec is not None
        spec = rl.spec
        divisor = 1
        if spec.mode == "Local" and spec.split_across_replicas:
            runtime = self.index.snapshot.gateway_runtime.get(gw.meta.key)
            divisor = max(1, runtime.ready_replicas if runtime else 0)
        backend: dict[str, Any] = {}
        default_url = self.index.snapshot.settings.default_redis_url
        if spec.mode == "Global" and spec.global_ is None and default_url:
            # The operator's URL may carry a password: a file of the generated Secret, as a
            # URL from a Secret is.
            edge.files[DEFAULT_REDIS_FILE] = default_url
            backend["redis_url_file"] = f"{EDGE_SECRET_DIR}/{DEFAULT_REDIS_FILE}"
        elif spec.mode == "Global" and spec.global_ is not None:
            if spec.global_.redis_url:
                backend["redis_url"] = spec.global_.redis_url
            elif spec.global_.secret_ref is not None:
                ref = spec.global_.secret_ref
                secret = self.index.snapshot.edge_secrets[(rl.meta.namespace, ref.name)]
                name = redis_url_file(rl.meta)
                edge.files[name] = secret.texts[ref.key]
                backend["redis_url_file"] = f"{EDGE_SECRET_DIR}/{name}"
        return [self._limit(rl.meta, spec, rule, divisor, backend) for rule in spec.rules]

    @staticmethod
    def _limit(
        meta: Meta,
        spec: RateLimitPolicySpec,
        rule: RateLimitRule,
        divisor: int,
        backend: dict[str, Any],
    ) -> pc.RateLimitPolicy:
        return pc.RateLimitPolicy(
            name=f"{meta.key}/{rule.name}",
            key=pc.RateLimitKey(type=KEY_TYPES[rule.key], name=rule.header or rule.claim),
            requests=rule.requests,
            per_seconds=PER_SECONDS[rule.per],
            burst=rule.requests + rule.burst,
            mode=spec.mode,
            failure_mode=spec.failure_mode,
            divisor=divisor,
            **backend,
        )

    def _unresolved(self, kind: str, meta: Meta, reason: str, message: str) -> None:
        self.unusable.add((kind, meta.key))
        self.report.set(kind, meta, "ResolvedRefs", "False", reason, message)

    # --- statuses --------------------------------------------------------------------------------

    def finish(self) -> None:
        snap = self.index.snapshot
        for kind, items, usable in (
            (AUTHN, snap.edge_authentications, self.authns),
            (LIMIT, snap.rate_limit_policies, self.limits),
        ):
            for item in items:
                key = item.meta.key
                if key not in usable:
                    continue
                where = sorted(self.attached.get((kind, key), set()))
                fields = self.report.fields(kind, item.meta)
                fields["attachedTo"] = [
                    {"group": "meshgate.io", "kind": k, "namespace": ns, "name": n}
                    for k, ns, n in where
                ]
                if kind == AUTHN and (kind, key) in self.beaten and (kind, key) not in self.won:
                    self.report.set(
                        kind, item.meta, "Accepted", "False", "Conflicted", self.beaten[(kind, key)]
                    )
                elif where:
                    self.report.set(
                        kind, item.meta, "Accepted", "True", "Accepted",
                        "in effect on " + ", ".join(f"{k.lower()} {ns}/{n}" for k, ns, n in where),
                    )  # fmt: skip
                else:
                    self.report.set(
                        kind, item.meta, "Accepted", "True", "NotServed",
                        "its targets exist but no gateway serves them yet",
                    )  # fmt: skip
                self.report.default(
                    kind,
                    item.meta,
                    "ResolvedRefs",
                    "True",
                    "ResolvedRefs",
                    "all references resolved",
                )
