"""The real API server rejects each invalid manifest with a message naming the field and the fix,
and the object already stored under that name is left exactly as it was.

Each case re-applies (server-side, strict field validation, same field manager) an object that
already exists with one fault introduced, as a user pushing a broken edit would.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes.client import ApiClient
from meshgate_apply import Rejected, apply, get

DELETE = object()

BASES: dict[str, dict[str, Any]] = {
    "Gateway": {
        "listeners": [
            {"name": "http", "port": 8080, "protocol": "HTTP"},
            {
                "name": "https",
                "port": 8443,
                "protocol": "HTTPS",
                "hostname": "shop.example.com",
                "tls": {"certificateRefs": [{"name": "shop-tls"}]},
            },
        ],
        "defaults": {"requestTimeout": "30s"},
    },
    "Route": {
        "parentRefs": [{"name": "edge"}],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                "backendRefs": [{"name": "api", "port": 8080}],
                "timeouts": {"request": "10s"},
            }
        ],
    },
    "DestinationRule": {
        "host": "reviews",
        "trafficPolicy": {
            "loadBalancer": {"simple": "ROUND_ROBIN"},
            "outlierDetection": {"consecutive5xxErrors": 3},
            "tls": {"mode": "ISTIO_MUTUAL"},
        },
        "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
    },
    "RetryPolicy": {
        "targetRefs": [{"kind": "Service", "name": "ratings"}],
        "attempts": 2,
        "backoff": {"baseInterval": "25ms", "maxInterval": "250ms"},
    },
    "PeerAuthentication": {
        "selector": {"matchLabels": {"app": "payments"}},
        "mtls": {"mode": "STRICT"},
    },
    "AuthorizationPolicy": {
        "selector": {"matchLabels": {"app": "payments"}},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/checkout"]}}],
                "to": [{"operation": {"methods": ["GET"]}}],
            }
        ],
    },
    "EdgeAuthentication": {
        "targetRefs": [{"kind": "Gateway", "name": "edge"}],
        "apiKeys": {"secretRefs": [{"name": "keys"}], "header": "x-api-key"},
    },
    "RateLimitPolicy": {
        "targetRefs": [{"kind": "Gateway", "name": "edge"}],
        "rules": [{"name": "per-ip", "key": "ClientIP", "requests": 10, "per": "Second"}],
    },
}


def _manifest(kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": f"stored-{kind.lower()}"},
        "spec": copy.deepcopy(BASES[kind]),
    }


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    keys: list[str | int] = [
        int(token[1:-1]) if token.startswith("[") else token
        for token in re.findall(r"[^.\[\]]+|\[\d+\]", path)
    ]
    node: Any = doc
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    edits: dict[str, Any]
    want: tuple[str, ...]

    def manifest(self) -> dict[str, Any]:
        doc = _manifest(self.kind)
        for path, value in self.edits.items():
            _set(doc, path, value)
        return doc


L0, R0, TP = "spec.listeners[0]", "spec.rules[0]", "spec.trafficPolicy"
REDIRECT = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}
REWRITE = {
    "type": "URLRewrite",
    "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
}
HEADERS = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["x-debug"]}}
MIRROR = {"requestMirror": {"backendRef": {"name": "shadow", "port": 8080}}}
MUST_MATCH = "in body should match"

CASES = [
    # --- Gateway ---
    Case(
        "gateway listener protocol not in enum",
        "Gateway",
        {f"{L0}.protocol": "UDP"},
        (f"{L0}.protocol", 'Unsupported value: "UDP"', '"HTTP", "HTTPS", "TCP", "TLS"'),
    ),
    Case(
        "gateway tls listener without passthrough",
        "Gateway",
        {"spec.listeners[1].protocol": "TLS"},
        ("spec.listeners[1].tls", "protocol TLS needs tls.mode Passthrough"),
    ),
    Case(
        "gateway passthrough with certificates",
        "Gateway",
        {"spec.listeners[1].protocol": "TLS", "spec.listeners[1].tls.mode": "Passthrough"},
        (
            "spec.listeners[1].tls.certificateRefs",
            "certificateRefs must not be set when mode is Passthrough",
        ),
    ),
    Case(
        "gateway https listener passing tls through",
        "Gateway",
        {"spec.listeners[1].tls": {"mode": "Passthrough"}},
        ("spec.listeners[1].tls.mode", "an HTTPS listener terminates TLS"),
    ),
    Case(
        "gateway terminate without certificates",
        "Gateway",
        {"spec.listeners[1].tls": {"mode": "Terminate"}},
        (
            "spec.listeners[1].tls.certificateRefs",
            "certificateRefs are required when mode is Terminate",
        ),
    ),
    Case(
        "gateway tcp listener with a hostname",
        "Gateway",
        {f"{L0}.protocol": "TCP", f"{L0}.hostname": "db.example.com"},
        (f"{L0}.hostname", "a TCP listener has no hostname"),
    ),
    Case(
        "gateway tcp listener with tls",
        "Gateway",
        {"spec.listeners[1].protocol": "TCP", "spec.listeners[1].hostname": DELETE},
        ("spec.listeners[1].tls", "tls must not be set when protocol is TCP"),
    ),
    Case(
        "gateway listener port zero",
        "Gateway",
        {f"{L0}.port": 0},
        (f"{L0}.port", "should be greater than or equal to 1"),
    ),
    Case(
        "gateway listener port above 65535",
        "Gateway",
        {f"{L0}.port": 70000},
        (f"{L0}.port", "should be less than or equal to 65535"),
    ),
    Case(
        "gateway https listener without tls",
        "Gateway",
        {"spec.listeners[1].tls": DELETE},
        ("spec.listeners[1].tls", "tls with certificateRefs is required when protocol is HTTPS"),
    ),
    Case(
        "gateway http listener with tls",
        "Gateway",
        {f"{L0}.tls": {"certificateRefs": [{"name": "x"}]}},
        (f"{L0}.tls", "tls must not be set when protocol is HTTP"),
    ),
    Case(
        "gateway duplicate listener names",
        "Gateway",
        {"spec.listeners[1].name": "http"},
        (".spec.listeners", 'duplicate entries for key [name="http"]'),
    ),
    Case(
        "gateway port shared by two protocols",
        "Gateway",
        {"spec.listeners[1].port": 8080},
        ("spec.listeners", "listeners that share a port must use the same protocol"),
    ),
    Case(
        "gateway replicas zero",
        "Gateway",
        {"spec.replicas": 0},
        ("spec.replicas", "should be greater than or equal to 1"),
    ),
    Case(
        "gateway service type not in enum",
        "Gateway",
        {"spec.service": {"type": "External"}},
        ("spec.service.type", 'Unsupported value: "External"'),
    ),
    Case(
        "gateway unknown field",
        "Gateway",
        {"spec.listener": []},
        (".spec.listener", "field not declared in schema"),
    ),
    Case(
        "gateway listeners missing",
        "Gateway",
        {"spec.listeners": DELETE},
        ("spec.listeners", "Required value"),
    ),
    Case(
        "gateway hostname with capitals",
        "Gateway",
        {"spec.listeners[1].hostname": "Shop.Example"},
        ("spec.listeners[1].hostname", MUST_MATCH),
    ),
    Case(
        "gateway default timeout not a duration",
        "Gateway",
        {"spec.defaults.requestTimeout": "30 seconds"},
        ("spec.defaults.requestTimeout", "must be a duration such as 100ms, 10s, 1m or 1h30m"),
    ),
    # --- Route ---
    Case(
        "route with neither parentRefs nor hosts",
        "Route",
        {"spec.parentRefs": DELETE},
        (
            "spec",
            "set parentRefs (Gateways to serve on), hosts (mesh Services to route for), or both",
        ),
    ),
    Case(
        "route path type not in enum",
        "Route",
        {f"{R0}.matches[0].path.type": "Prefix"},
        (f"{R0}.matches[0].path.type", 'Unsupported value: "Prefix"'),
    ),
    Case(
        "route prefix path not absolute",
        "Route",
        {f"{R0}.matches[0].path.value": "api"},
        (f"{R0}.matches[0].path.value", "must be an absolute path starting with '/'"),
    ),
    Case(
        "route empty regular expression",
        "Route",
        {f"{R0}.matches[0].path": {"type": "RegularExpression", "value": ""}},
        (f"{R0}.matches[0].path.value", "must not be empty when type is RegularExpression"),
    ),
    Case(
        "route backend weights all zero",
        "Route",
        {
            f"{R0}.backendRefs": [
                {"name": "a", "port": 80, "weight": 0},
                {"name": "b", "port": 80, "weight": 0},
            ]
        },
        (f"{R0}.backendRefs", "at least one backendRef needs a weight above 0"),
    ),
    Case(
        "route negative weight",
        "Route",
        {f"{R0}.backendRefs[0].weight": -1},
        (f"{R0}.backendRefs[0].weight", "should be greater than or equal to 0"),
    ),
    Case(
        "route redirect and rewrite together",
        "Route",
        {f"{R0}.filters": [REDIRECT, REWRITE], f"{R0}.backendRefs": DELETE},
        (f"{R0}.filters", "use either a RequestRedirect or a URLRewrite filter, not both"),
    ),
    Case(
        "route redirect with backendRefs",
        "Route",
        {f"{R0}.filters": [REDIRECT]},
        (R0, "a rule with a RequestRedirect filter answers itself: remove its backendRefs"),
    ),
    Case(
        "route inline retry and retryPolicyRef together",
        "Route",
        {f"{R0}.retry": {"attempts": 2}, f"{R0}.retryPolicyRef": {"name": "std"}},
        (R0, "set either retry (inline) or retryPolicyRef, not both"),
    ),
    Case(
        "route fault filter without fault",
        "Route",
        {f"{R0}.filters": [{"type": "Fault"}]},
        (f"{R0}.filters[0]", "fault must be set when type is Fault"),
    ),
    Case(
        "route filter field of another type",
        "Route",
        {f"{R0}.filters": [{"type": "CORS", "cors": {"allowOrigins": ["*"]}, **MIRROR}]},
        (f"{R0}.filters[0]", "requestMirror must only be set when type is RequestMirror"),
    ),
    Case(
        "route fault percentage above 100",
        "Route",
        {
            f"{R0}.filters": [
                {"type": "Fault", "fault": {"abort": {"httpStatus": 503, "percentage": 150}}}
            ]
        },
        (f"{R0}.filters[0].fault.abort.percentage", "should be less than or equal to 100"),
    ),
    Case(
        "route fault with neither delay nor abort",
        "Route",
        {f"{R0}.filters": [{"type": "Fault", "fault": {}}]},
        (f"{R0}.filters[0].fault", "set delay, abort or both"),
    ),
    Case(
        "route mirror percent above 100",
        "Route",
        {
            f"{R0}.filters": [
                {
                    "type": "RequestMirror",
                    "requestMirror": {
                        "backendRef": {"name": "shadow", "port": 8080},
                        "percent": 101,
                    },
                }
            ]
        },
        (f"{R0}.filters[0].requestMirror.percent", "should be less than or equal to 100"),
    ),
    Case(
        "route request timeout not a duration",
        "Route",
        {f"{R0}.timeouts.request": "5 sec"},
        (f"{R0}.timeouts.request", "must be a duration such as 100ms, 10s, 1m or 1h30m"),
    ),
    Case(
        "route backend timeout longer than request",
        "Route",
        {f"{R0}.timeouts.backendRequest": "30s"},
        (f"{R0}.timeouts.backendRequest", "backendRequest must be no longer than request"),
    ),
    Case(
        "route without rules",
        "Route",
        {"spec.rules": []},
        ("spec.rules", "should have at least 1 items"),
    ),
    Case(
        "route backendRef without port",
        "Route",
        {f"{R0}.backendRefs[0].port": DELETE},
        (f"{R0}.backendRefs[0].port", "Required value"),
    ),
    Case(
        "route method not in enum",
        "Route",
        {f"{R0}.matches[0].method": "FETCH"},
        (f"{R0}.matches[0].method", 'Unsupported value: "FETCH"'),
    ),
    Case(
        "route retry code outside 400-599",
        "Route",
        {f"{R0}.retry": {"codes": [200]}},
        (f"{R0}.retry.codes[0]", "should be greater than or equal to 400"),
    ),
    Case(
        "route prefix rewrite without a prefix match",
        "Route",
        {f"{R0}.matches[0].path.type": "Exact", f"{R0}.filters": [REWRITE]},
        (R0, "replacePrefixMatch needs exactly one match with a PathPrefix path"),
    ),
    Case(
        "route full path rewrite without the path",
        "Route",
        {
            f"{R0}.filters": [
                {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath"}}}
            ]
        },
        (
            f"{R0}.filters[0].urlRewrite.path",
            "replaceFullPath must be set when type is ReplaceFullPath",
        ),
    ),
    Case(
        "route repeated header modifier",
        "Route",
        {f"{R0}.filters": [HEADERS, HEADERS]},
        (f"{R0}.filters", "a RequestHeaderModifier filter may appear only once per rule"),
    ),
    Case(
        "route redirect status code not in enum",
        "Route",
        {
            f"{R0}.filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 305}}],
            f"{R0}.backendRefs": DELETE,
        },
        (f"{R0}.filters[0].requestRedirect.statusCode", "Unsupported value: 305"),
    ),
    Case(
        "route cors credentials with any origin",
        "Route",
        {
            f"{R0}.filters": [
                {"type": "CORS", "cors": {"allowOrigins": ["*"], "allowCredentials": True}}
            ]
        },
        (f"{R0}.filters[0].cors.allowOrigins", "must list explicit origins, not '*'"),
    ),
    Case(
        "route parentRef to a Service",
        "Route",
        {"spec.parentRefs[0].kind": "Service"},
        ("spec.parentRefs[0].kind", 'Unsupported value: "Service"'),
    ),
    Case(
        "route more than 16 rules",
        "Route",
        {"spec.rules": [BASES["Route"]["rules"][0]] * 17},
        ("spec.rules", "must have at most 16 items"),
    ),
    # --- DestinationRule ---
    Case(
        "destinationrule load balancer not in enum",
        "DestinationRule",
        {f"{TP}.loadBalancer.simple": "ROUNDROBIN"},
        (f"{TP}.loadBalancer.simple", 'Unsupported value: "ROUNDROBIN"'),
    ),
    Case(
        "destinationrule tls mode not in enum",
        "DestinationRule",
        {f"{TP}.tls.mode": "ISTIO"},
        (f"{TP}.tls.mode", 'Unsupported value: "ISTIO"', '"ISTIO_MUTUAL"'),
    ),
    Case(
        "destinationrule simple and consistent hash together",
        "DestinationRule",
        {f"{TP}.loadBalancer.consistentHash": {"useSourceIp": True}},
        (f"{TP}.loadBalancer", "set loadBalancer.simple or loadBalancer.consistentHash, not both"),
    ),
    Case(
        "destinationrule consistent hash on two keys",
        "DestinationRule",
        {
            f"{TP}.loadBalancer": {
                "consistentHash": {"useSourceIp": True, "httpHeaderName": "x-user"}
            }
        },
        (
            f"{TP}.loadBalancer.consistentHash",
            "set exactly one of httpHeaderName, httpCookie or useSourceIp",
        ),
    ),
    Case(
        "destinationrule ejection percent above 100",
        "DestinationRule",
        {f"{TP}.outlierDetection.maxEjectionPercent": 120},
        (f"{TP}.outlierDetection.maxEjectionPercent", "should be less than or equal to 100"),
    ),
    Case(
        "destinationrule interval without unit",
        "DestinationRule",
        {f"{TP}.outlierDetection.interval": "10"},
        (f"{TP}.outlierDetection.interval", "must be a duration"),
    ),
    Case(
        "destinationrule mutual tls without credential",
        "DestinationRule",
        {f"{TP}.tls.mode": "MUTUAL"},
        (
            f"{TP}.tls.credentialName",
            "credentialName (a Secret with tls.crt, tls.key and ca.crt) is required",
        ),
    ),
    Case(
        "destinationrule duplicate subset names",
        "DestinationRule",
        {
            "spec.subsets": [
                {"name": "v1", "labels": {"v": "1"}},
                {"name": "v1", "labels": {"v": "2"}},
            ]
        },
        (".spec.subsets", 'duplicate entries for key [name="v1"]'),
    ),
    Case(
        "destinationrule missing host",
        "DestinationRule",
        {"spec.host": DELETE},
        ("spec.host", "Required value"),
    ),
    Case(
        "destinationrule subset without labels",
        "DestinationRule",
        {"spec.subsets[0].labels": DELETE},
        ("spec.subsets[0].labels", "Required value"),
    ),
    # --- RetryPolicy ---
    Case(
        "retrypolicy attempts above 10",
        "RetryPolicy",
        {"spec.attempts": 11},
        ("spec.attempts", "should be less than or equal to 10"),
    ),
    Case(
        "retrypolicy retryOn not in enum",
        "RetryPolicy",
        {"spec.retryOn": ["timeout"]},
        ("spec.retryOn[0]", 'Unsupported value: "timeout"'),
    ),
    Case(
        "retrypolicy retriable status codes without the list",
        "RetryPolicy",
        {"spec.retryOn": ["retriable-status-codes"]},
        ("spec.retriableStatusCodes", "retryOn retriable-status-codes needs retriableStatusCodes"),
    ),
    Case(
        "retrypolicy max backoff below base",
        "RetryPolicy",
        {"spec.backoff": {"baseInterval": "1s", "maxInterval": "100ms"}},
        ("spec.backoff.maxInterval", "maxInterval must be at least baseInterval"),
    ),
    Case(
        "retrypolicy service target with route group",
        "RetryPolicy",
        {"spec.targetRefs[0].group": "meshgate.io"},
        (
            "spec.targetRefs[0].group",
            "group must be '' for kind Service and meshgate.io for kind Route",
        ),
    ),
    # --- PeerAuthentication ---
    Case(
        "peerauthentication mode not in enum",
        "PeerAuthentication",
        {"spec.mtls.mode": "ON"},
        ("spec.mtls.mode", 'Unsupported value: "ON"', '"STRICT"'),
    ),
    Case(
        "peerauthentication port modes without selector",
        "PeerAuthentication",
        {"spec.selector": DELETE, "spec.portLevelMtls": {"8080": {"mode": "PERMISSIVE"}}},
        ("spec.portLevelMtls", "portLevelMtls needs a selector"),
    ),
    Case(
        "peerauthentication port key not a number",
        "PeerAuthentication",
        {"spec.portLevelMtls": {"http": {"mode": "PERMISSIVE"}}},
        ("spec.portLevelMtls", "keys must be port numbers from 1 to 65535"),
    ),
    # --- AuthorizationPolicy ---
    Case(
        "authorizationpolicy action not in enum",
        "AuthorizationPolicy",
        {"spec.action": "AUDIT"},
        ("spec.action", 'Unsupported value: "AUDIT"'),
    ),
    Case(
        "authorizationpolicy empty source",
        "AuthorizationPolicy",
        {"spec.rules[0].from[0].source": {}},
        ("spec.rules[0].from[0].source", "source needs at least one of principals"),
    ),
    Case(
        "authorizationpolicy condition without values",
        "AuthorizationPolicy",
        {"spec.rules[0].when": [{"key": "source.ip"}]},
        ("spec.rules[0].when[0]", "set values, notValues or both"),
    ),
    Case(
        "authorizationpolicy port not a number",
        "AuthorizationPolicy",
        {"spec.rules[0].to[0].operation.ports": ["http"]},
        ("spec.rules[0].to[0].operation.ports[0]", MUST_MATCH),
    ),
    # --- EdgeAuthentication ---
    Case(
        "edgeauthentication key in header and query",
        "EdgeAuthentication",
        {"spec.apiKeys.query": "api_key"},
        ("spec.apiKeys", "read the key from exactly one place"),
    ),
    Case(
        "edgeauthentication with no method",
        "EdgeAuthentication",
        {"spec.apiKeys": DELETE},
        ("spec", "set apiKeys, jwt or both"),
    ),
    Case(
        "edgeauthentication jwks from secret and url",
        "EdgeAuthentication",
        {
            "spec.jwt": {
                "providers": [
                    {
                        "name": "idp",
                        "issuer": "https://idp",
                        "jwks": {
                            "uri": "https://idp/jwks",
                            "secretRef": {"name": "jwks", "key": "jwks.json"},
                        },
                    }
                ]
            }
        },
        ("spec.jwt.providers[0].jwks", "set exactly one of jwks.secretRef"),
    ),
    Case(
        "edgeauthentication jwks over plain http",
        "EdgeAuthentication",
        {
            "spec.jwt": {
                "providers": [
                    {"name": "idp", "issuer": "https://idp", "jwks": {"uri": "http://idp/jwks"}}
                ]
            }
        },
        ("spec.jwt.providers[0].jwks.uri", MUST_MATCH),
    ),
    Case(
        "edgeauthentication without targets",
        "EdgeAuthentication",
        {"spec.targetRefs": []},
        ("spec.targetRefs", "should have at least 1 items"),
    ),
    Case(
        "edgeauthentication targeting a Service",
        "EdgeAuthentication",
        {"spec.targetRefs[0].kind": "Service"},
        ("spec.targetRefs[0].kind", 'Unsupported value: "Service"'),
    ),
    # --- RateLimitPolicy ---
    Case(
        "ratelimitpolicy header key without header",
        "RateLimitPolicy",
        {"spec.rules[0].key": "Header"},
        ("spec.rules[0].header", "header must be set when key is Header"),
    ),
    Case(
        "ratelimitpolicy window not in enum",
        "RateLimitPolicy",
        {"spec.rules[0].per": "Day"},
        ("spec.rules[0].per", 'Unsupported value: "Day"'),
    ),
    Case(
        "ratelimitpolicy zero requests",
        "RateLimitPolicy",
        {"spec.rules[0].requests": 0},
        ("spec.rules[0].requests", "should be greater than or equal to 1"),
    ),
    Case(
        "ratelimitpolicy redis url without scheme",
        "RateLimitPolicy",
        {"spec.mode": "Global", "spec.global": {"redisURL": "localhost:6379"}},
        ("spec.global.redisURL", MUST_MATCH),
    ),
    Case(
        "ratelimitpolicy failure mode not in enum",
        "RateLimitPolicy",
        {"spec.failureMode": "Fail"},
        ("spec.failureMode", 'Unsupported value: "Fail"'),
    ),
]


@pytest.fixture(scope="module")
def stored(api_client: ApiClient, meshgate_crds: None, module_namespace: str) -> dict[str, Any]:
    """One valid object of each kind, applied before the broken edits."""
    return {kind: apply(api_client, _manifest(kind), module_namespace) for kind in BASES}


def test_table_has_at_least_forty_cases_covering_every_kind() -> None:
    assert len(CASES) >= 40
    assert {case.kind for case in CASES} == set(BASES)
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name.replace(" ", "-") for case in CASES])
def test_invalid_manifest_is_rejected_and_the_stored_object_is_unchanged(
    case: Case, api_client: ApiClient, module_namespace: str, stored: dict[str, Any]
) -> None:
    manifest = case.manifest()
    with pytest.raises(Rejected) as rejected:
        apply(api_client, manifest, module_namespace)
    message = rejected.value.message
    for want in case.want:
        assert want in message, f"{want!r} not in the server's message:\n{message}"

    now = get(api_client, manifest, module_namespace)
    before = stored[case.kind]
    assert now["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert now["spec"] == before["spec"]
