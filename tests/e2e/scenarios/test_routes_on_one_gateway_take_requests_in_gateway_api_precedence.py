"""Precedence through the running operator: nine Routes on one Gateway, one per kind of match,
each tagging what it forwards with its own name. Every request reaches the backend through the
most specific match (Exact, then RegularExpression, then the longest PathPrefix; then a method
match, more header matches, more query matches), whatever order the Routes were written in.
Two Routes making the same claim: the older one is served, the newer one is reported
`Conflicted` and `Shadowed` naming the winner, although its name sorts first.

Manifests: `precedence/` (Gateway, backend, the nine Routes), then `precedence/conflict/`
(older.yaml, and newer.yaml once the clock has moved a second: creation times are in seconds).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from scenario_kit import HERE, Body, User, request

from meshgate.localcluster.waiting import wait_for

PORT = 8080
CONVERGE_SECONDS = 20.0
ROUTES = (
    "catch-all",
    "prefix-short",
    "prefix-long",
    "regex",
    "exact",
    "method",
    "header",
    "two-headers",
    "query",
)

# (method, path, headers) -> the Route that must win, and why.
EXPECTED = [
    ("GET", "/api/v1/status", {}, "exact"),  # Exact beats every prefix and the regex
    ("POST", "/api/v1/status", {"x-canary": "true"}, "exact"),  # path type before method
    ("GET", "/api/v1/items.json", {}, "regex"),  # regex between Exact and PathPrefix
    ("GET", "/api/v1/items", {}, "prefix-long"),  # longer prefix first
    ("GET", "/api/other", {}, "prefix-short"),
    ("GET", "/apiary", {}, "catch-all"),  # a prefix matches whole segments only
    ("POST", "/api/v1/items", {}, "method"),  # a method match before none
    ("POST", "/api/v1/items", {"x-canary": "true", "x-tenant": "blue"}, "method"),
    ("GET", "/api/v1/items", {"x-canary": "true"}, "header"),
    ("GET", "/api/v1/items", {"x-canary": "true", "x-tenant": "blue"}, "two-headers"),
    ("GET", "/api/v1/items?debug=1", {}, "query"),
    ("GET", "/api/v1/items?debug=1", {"x-canary": "true"}, "header"),  # headers before query
]


def test_each_request_takes_the_most_specific_route_and_the_older_of_two_equal_claims(
    user: User,
) -> None:
    user.apply("precedence")
    user.ready_pods("app=api", 1)
    for route in ROUTES:
        user.condition("routes", route, "Accepted")
    user.condition("gateways.meshgate.io", "edge", "Programmed", timeout=60)
    address = user.gateway_pods("edge")[0]["status"]["podIP"]

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        answer = request(address, PORT, path, headers, method=method)
        assert answer.status == 200, (method, path, answer)
        return str(answer.json()["headers"].get("x-rule"))

    # The last Route written must be in the proxy's table before the table is judged.
    user.answer_within(
        lambda: request(address, PORT, "/api/v1/items?debug=1"), 200, CONVERGE_SECONDS, "query"
    )
    wait_for(
        lambda: rule("GET", "/api/v1/items?debug=1", {}) == "query",
        timeout=CONVERGE_SECONDS,
        what="the gateway serving every Route",
    )
    got = [(m, p, h, rule(m, p, h)) for m, p, h, _ in EXPECTED]
    assert got == EXPECTED

    older = user.apply(HERE / "precedence" / "conflict" / "older.yaml")
    assert "orders-z-older" in older
    created = user.get("routes", "orders-z-older")["metadata"]["creationTimestamp"]
    born = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    wait_for(lambda: time.time() >= born + 1.05, timeout=5, what="the next second")
    user.apply(HERE / "precedence" / "conflict" / "newer.yaml")

    newer = _conflicted(user, "orders-a-newer")
    conditions = {c["type"]: c for c in newer["status"]["conditions"]}
    assert conditions["Conflicted"]["reason"] == "HostnameConflict"
    assert "orders-z-older" in conditions["Conflicted"]["message"]
    assert (conditions["Accepted"]["status"], conditions["Accepted"]["reason"]) == (
        "False",
        "HostnameConflict",
    )
    assert (conditions["Served"]["status"], conditions["Served"]["reason"]) == ("False", "Shadowed")
    assert newer["metadata"]["creationTimestamp"] > created
    wait_for(
        lambda: rule("GET", "/orders/7", {}) == "orders-z-older",
        timeout=CONVERGE_SECONDS,
        what="the older Route serving /orders",
    )
    # Settled: never the newer one.
    assert {rule("GET", f"/orders/{i}", {}) for i in range(20)} == {"orders-z-older"}
    user.condition("routes", "orders-z-older", "Accepted")


def _conflicted(user: User, name: str) -> Body:
    def reported() -> Body | None:
        obj = user.get("routes", name)
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c["type"] == "Conflicted" and c["status"] == "True":
                return obj
        return None

    result: Body = wait_for(reported, timeout=30, what=f"route {name} Conflicted=True")
    return result
