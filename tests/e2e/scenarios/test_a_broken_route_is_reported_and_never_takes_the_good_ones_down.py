"""Bad-object isolation through the running operator. While a client loops on a Route already
served, one `kubectl apply` adds a good Route, a Route whose regular expression the proxy cannot
compile (the API server accepts it) and a Route naming a missing Service. The good Routes are
served (the old one without a single failure, the new one within seconds), the broken one is
`Accepted=False, Invalid` with the field and the reason, the orphan `ResolvedRefs=False,
BackendNotFound` naming the Service, and the Gateway stays Programmed on a new config.

Were the broken Route compiled into the config, the proxy would refuse the whole config and keep
its last one: the new good Route would never be served.

Manifests: `bad_object/` (Gateway, backend, Route `accounts`), then `bad_object/change/`.
"""

from __future__ import annotations

from scenario_kit import HERE, User, load, request

from meshgate.localcluster.waiting import wait_for

PORT = 8080
CONVERGE_SECONDS = 20.0
# The client keeps going this long after the new Route is served: the push must be settled.
MIN_REQUESTS = 50


def _condition(user: User, route: str, ctype: str, status: str) -> dict[str, str]:
    def found() -> dict[str, str] | None:
        obj = user.get("routes", route)
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c["type"] == ctype and c["status"] == status:
                return dict(c)
        return None

    return wait_for(found, timeout=30, what=f"route {route} {ctype}={status}")


def _programmed_version(user: User) -> str:
    gateway = user.get("gateways.meshgate.io", "edge")
    for c in gateway["status"]["conditions"]:
        if c["type"] == "Programmed" and c["status"] == "True":
            return str(c["message"])
    return ""


def test_good_routes_are_served_and_the_broken_one_reported_after_one_bad_push(
    user: User,
) -> None:
    user.apply("bad_object")
    user.ready_pods("app=api", 1)
    user.condition("routes", "accounts", "Accepted")
    user.condition("gateways.meshgate.io", "edge", "Programmed", timeout=60)
    address = user.gateway_pods("edge")[0]["status"]["podIP"]
    user.answer_within(
        lambda: request(address, PORT, "/accounts/1"), 200, CONVERGE_SECONDS, "/accounts"
    )
    programmed_before = _programmed_version(user)

    with load(lambda: request(address, PORT, "/accounts/1")) as client:
        user.apply(HERE / "bad_object" / "change")
        served = user.answer_within(
            lambda: request(address, PORT, "/payments/9"), 200, CONVERGE_SECONDS, "/payments"
        )
        wait_for(
            lambda: len(client.outcomes) >= MIN_REQUESTS,
            timeout=60,
            what=f"{MIN_REQUESTS} answers to the load client",
        )

    # Nothing already served was lost, not even for one request.
    assert client.errors == [], client.errors[:5]
    assert client.statuses() == {200: len(client.outcomes)}, client.statuses()
    assert served.json()["path"] == "/payments/9"

    invalid = _condition(user, "broken-regex", "Accepted", "False")
    assert invalid["reason"] == "Invalid", invalid
    assert "spec.rules.0.matches.0.path" in invalid["message"], invalid
    assert "invalid regular expression" in invalid["message"], invalid

    orphan = _condition(user, "orphan", "ResolvedRefs", "False")
    assert orphan["reason"] == "BackendNotFound", orphan
    assert '"ledger"' in orphan["message"], orphan

    # The Gateway took the change: a new config, still Programmed, with both good Routes.
    programmed_after = _programmed_version(user)
    assert programmed_after
    assert programmed_after != programmed_before
    gateway = user.get("gateways.meshgate.io", "edge")
    assert gateway["status"]["summary"]["routes"] >= 2
    for path in ("/reports/12", "/orphan/1"):
        assert request(address, PORT, path).status != 200, path
    assert request(address, PORT, "/accounts/2").status == 200
