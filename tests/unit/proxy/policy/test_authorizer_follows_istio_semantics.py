"""Authorizer: DENY wins, ALLOW policies deny what they do not match, plaintext has no identity."""

from __future__ import annotations

from typing import Any

import pytest

from meshproxy import config
from meshproxy.policy.authz import Authorizer
from meshproxy.policy.paths import normalize_path

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
OTHER = "spiffe://cluster.local/ns/shop/sa/other"


def authorizer(*policies: dict[str, Any], labels: dict[str, str] | None = None) -> Authorizer:
    return Authorizer.compile(
        [config.AuthzPolicy.from_data(p) for p in policies], labels or {"app": "api"}
    )


def allows(
    az: Authorizer,
    principal: str | None = FRONTEND,
    method: str = "GET",
    path: str = "/api/items",
    *,
    namespace: str | None = "shop",
    port: int = 8080,
    host: str = "api.shop",
    headers: dict[str, str] | None = None,
) -> bool:
    return az.allows(principal, namespace, method, path, port, host, headers or {})


FRONTEND_GETS_API = {
    "name": "frontend-read",
    "rules": [
        {
            "from": [{"principals": ["cluster.local/ns/shop/sa/frontend"]}],
            "to": [{"methods": ["GET"], "paths": ["/api/*"]}],
        }
    ],
}
DENY_ADMIN = {"name": "no-admin", "action": "DENY", "rules": [{"to": [{"paths": ["/admin*"]}]}]}


def test_no_policy_allows_everything() -> None:
    assert allows(authorizer(), None, "DELETE", "/admin")


def test_allow_policy_lets_only_what_it_matches() -> None:
    az = authorizer(FRONTEND_GETS_API)
    assert allows(az)
    assert not allows(az, OTHER)
    assert not allows(az, FRONTEND, "DELETE")
    assert not allows(az, FRONTEND, "GET", "/internal")
    assert not allows(az, None)  # plaintext never matches a principal rule


def test_deny_wins_over_allow() -> None:
    az = authorizer(
        {"name": "all", "rules": [{}]},
        DENY_ADMIN,
    )
    assert allows(az, path="/api")
    assert not allows(az, path="/admin")
    assert not allows(az, path="/admin/users")


@pytest.mark.parametrize(
    "target", ["/api/%2e%2e/admin", "//admin", "/API/../admin", "/x/./../admin"]
)
def test_encoded_paths_do_not_bypass_a_deny_once_normalised(target: str) -> None:
    normalised = normalize_path(target)
    assert normalised is not None
    assert not allows(authorizer(DENY_ADMIN), path=normalised[0])


def test_allow_without_rules_allows_nothing_and_deny_without_rules_denies_nothing() -> None:
    assert not allows(authorizer({"name": "nothing"}))
    assert allows(authorizer({"name": "nothing", "action": "DENY"}))


def test_selector_picks_the_workloads_a_policy_applies_to() -> None:
    deny_all = {"name": "d", "action": "DENY", "selector": {"app": "db"}, "rules": [{}]}
    assert allows(authorizer(deny_all, labels={"app": "api"}))
    assert not allows(authorizer(deny_all, labels={"app": "db", "tier": "x"}))


@pytest.mark.parametrize(
    ("principals", "principal", "want"),
    [
        (["*"], FRONTEND, True),
        (["*"], None, False),
        (["cluster.local/ns/shop/*"], OTHER, True),
        (["cluster.local/ns/other/*"], OTHER, False),
        (["*/sa/frontend"], FRONTEND, True),
        (["spiffe://cluster.local/ns/shop/sa/frontend"], FRONTEND, True),
        (["cluster.local/ns/shop/sa/frontend"], "cluster.local/ns/shop/sa/frontend", True),
    ],
)
def test_principal_patterns(principals: list[str], principal: str | None, want: bool) -> None:
    az = authorizer({"name": "p", "rules": [{"from": [{"principals": principals}]}]})
    assert allows(az, principal) is want


def test_not_principals_star_in_deny_refuses_plaintext() -> None:
    az = authorizer(
        {"name": "mtls-only", "action": "DENY", "rules": [{"from": [{"notPrincipals": ["*"]}]}]}
    )
    assert not allows(az, None)
    assert allows(az, FRONTEND)


def test_namespaces_and_not_namespaces() -> None:
    az = authorizer(
        {"name": "ns", "rules": [{"from": [{"namespaces": ["shop"], "notNamespaces": ["x"]}]}]}
    )
    assert allows(az, namespace="shop")
    assert not allows(az, namespace="other")
    assert not allows(az, None, namespace=None)


def test_sources_and_operations_are_alternatives_fields_are_all_required() -> None:
    az = authorizer(
        {
            "name": "alt",
            "rules": [
                {
                    "from": [{"principals": ["*/sa/frontend"]}, {"namespaces": ["ops"]}],
                    "to": [
                        {"methods": ["GET"], "ports": [8080]},
                        {"notMethods": ["GET", "DELETE"]},
                    ],
                }
            ],
        }
    )
    assert allows(az, FRONTEND, "GET")
    assert allows(az, OTHER, "GET", namespace="ops")
    assert not allows(az, OTHER, "GET")
    assert not allows(az, FRONTEND, "GET", port=9090)
    assert allows(az, FRONTEND, "POST", port=9090)
    assert not allows(az, FRONTEND, "DELETE")


@pytest.mark.parametrize(
    ("operation", "request_kw", "want"),
    [
        ({"hosts": ["*.shop"]}, {"host": "API.SHOP"}, True),
        ({"hosts": ["api.shop"]}, {"host": "evil.com"}, False),
        ({"notHosts": ["admin.shop"]}, {"host": "admin.shop"}, False),
        ({"paths": ["*.json"]}, {"path": "/a/b.json"}, True),
        ({"paths": ["/exact"]}, {"path": "/exact/more"}, False),
        ({"notPaths": ["/private*"]}, {"path": "/private/x"}, False),
        ({"notPorts": [9090]}, {"port": 9090}, False),
    ],
)
def test_operation_fields(
    operation: dict[str, Any], request_kw: dict[str, Any], want: bool
) -> None:
    az = authorizer({"name": "op", "rules": [{"to": [operation]}]})
    assert allows(az, **request_kw) is want


def test_when_conditions_all_hold() -> None:
    az = authorizer(
        {
            "name": "tenant",
            "rules": [
                {
                    "when": [
                        {"key": "request.headers[X-Tenant]", "values": ["acme", "beta-*"]},
                        {"key": "source.principal", "notValues": ["*/sa/other"]},
                        {"key": "destination.port", "values": ["8080"]},
                    ]
                }
            ],
        }
    )
    assert allows(az, headers={"x-tenant": "acme"})
    assert allows(az, headers={"x-tenant": "beta-7"})
    assert not allows(az, headers={"x-tenant": "evil"})
    assert not allows(az, headers={})
    assert not allows(az, OTHER, headers={"x-tenant": "acme"})
    assert not allows(az, headers={"x-tenant": "acme"}, port=9090)


def test_unknown_condition_key_fails_at_compile() -> None:
    with pytest.raises(ValueError, match=r"request\.auth\.claims"):
        authorizer(
            {
                "name": "jwt",
                "rules": [{"when": [{"key": "request.auth.claims[sub]", "values": ["a"]}]}],
            }
        )
