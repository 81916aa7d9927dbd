"""Authorizer path rules over every reading of a path: the widest toward a denial, the narrowest
toward a pass, case folded only where that widens a denial."""

from __future__ import annotations

from typing import Any

import pytest

from meshproxy import config
from meshproxy.policy.authz import Authorizer
from meshproxy.policy.paths import normalize_path


def authorizer(*policies: dict[str, Any]) -> Authorizer:
    return Authorizer.compile([config.AuthzPolicy.from_data(p) for p in policies], {})


def allows(az: Authorizer, target: str) -> bool:
    normalized = normalize_path(target)
    assert normalized is not None, target
    return az.allows(None, None, "GET", normalized[0], 8080, "api.shop", {})


def policy(action: str, **operation: list[str]) -> dict[str, Any]:
    camel = {"not_paths": "notPaths"}
    to = {camel.get(k, k): v for k, v in operation.items()}
    return {"name": f"{action.lower()}-paths", "action": action, "rules": [{"to": [to]}]}


DENY_ADMIN = policy("DENY", paths=["/admin", "/admin/*"])
ALLOW_PUBLIC = policy("ALLOW", paths=["/public", "/public/*"])
DENY_ALL_BUT_PUBLIC = policy("DENY", not_paths=["/public", "/public/*"])
ALLOW_ALL_BUT_ADMIN = policy("ALLOW", not_paths=["/admin", "/admin/*"])

WALKS_TO_ADMIN = [
    "/x/..%2Fadmin",
    "/x/..\\admin",
    "/admin%2Fusers",
    "/x/%252e%252e/admin",
    "/x/..;/admin",
    "/admin;jsessionid=1",
    "/admin%20",
    "/admin.",
    "/admin%2500.jpg",
    "/ADMIN",
    "/Admin/users",
    "/x/..%2FADMIN",
]
NOT_ADMIN = ["/administrator", "/api/admin", "/adminx", "/x/admin%2Fy", "/api/items", "/a%20b"]


@pytest.mark.parametrize("target", WALKS_TO_ADMIN)
def test_deny_paths_match_when_any_reading_does(target: str) -> None:
    assert not allows(authorizer(DENY_ADMIN), target)


@pytest.mark.parametrize("target", WALKS_TO_ADMIN)
def test_allow_not_paths_refuse_when_any_reading_is_excluded(target: str) -> None:
    assert not allows(authorizer(ALLOW_ALL_BUT_ADMIN), target)


@pytest.mark.parametrize("target", NOT_ADMIN)
def test_paths_no_reading_reaches_stay_allowed(target: str) -> None:
    assert allows(authorizer(DENY_ADMIN), target)
    assert allows(authorizer(ALLOW_ALL_BUT_ADMIN), target)


ESCAPING_PUBLIC = [
    "/public/..%2Fadmin",
    "/public/..%5Cadmin",
    "/public/..\\admin",
    "/public/..;/admin",
    "/public/%252e%252e/admin",
    "/public%2F..%2F..%2Fadmin",
    "/public/..%C0%AFadmin",
    "/public/x/..%252F..%252Fadmin",
    "/PUBLIC/x",
]


@pytest.mark.parametrize("target", ESCAPING_PUBLIC)
def test_allow_paths_pass_only_when_every_reading_matches(target: str) -> None:
    assert not allows(authorizer(ALLOW_PUBLIC), target)


@pytest.mark.parametrize("target", ESCAPING_PUBLIC[:-1])
def test_deny_not_paths_deny_when_any_reading_leaves_them(target: str) -> None:
    assert not allows(authorizer(DENY_ALL_BUT_PUBLIC), target)


@pytest.mark.parametrize(
    "target", ["/public", "/public/a%20b.css", "/public/caf%C3%A9", "/public/x/../y"]
)
def test_ordinary_paths_inside_the_allowed_tree_pass(target: str) -> None:
    assert allows(authorizer(ALLOW_PUBLIC), target)
    assert allows(authorizer(DENY_ALL_BUT_PUBLIC), target)


def test_case_is_folded_only_where_it_widens_a_denial() -> None:
    # A DENY on an upper-case path denies its lower-case spelling, and an ALLOW is exact.
    assert not allows(authorizer(policy("DENY", paths=["/Admin"])), "/admin")
    assert not allows(authorizer(policy("ALLOW", paths=["/Public/*"])), "/public/x")
    assert allows(authorizer(policy("ALLOW", paths=["/Public/*"])), "/Public/x")
    # DENY notPaths compare exactly: a case-sensitive backend has `/PUBLIC/x` outside `/public/*`.
    assert not allows(authorizer(DENY_ALL_BUT_PUBLIC), "/PUBLIC/x")


def test_suffix_rules_see_through_parameters_and_trailing_bytes() -> None:
    az = authorizer(policy("DENY", paths=["*.jsp"]))
    for target in ("/x.jsp", "/x.jsp;jsessionid=1", "/x.jsp%20", "/x.jsp.", "/x.JSP", "/x.jsp%3F"):
        assert not allows(az, target), target
    assert allows(az, "/x.jspx")
