"""Change under load: a client keeps sending requests through the gateway while the user edits
the Route (`kubectl apply` of `change_under_load/edit/route.yaml`, which moves `/orders` from
orders v1 to v2 and adds a response header). No request fails, the new behaviour is served, and
no answer goes back to the old one once the new one was seen.

How fast the edit is served is measured, not asserted here: a loaded CI machine can take
seconds to run `kubectl apply` alone. bench/delivery times change -> served on 33 proxies; this
test prints its own figure (from the moment the API server stored the edit) for the log.

Manifests: `change_under_load/` (both versions, the Gateway, the Route), then its `edit/`.
"""

from __future__ import annotations

import json
import time

from scenario_kit import HERE, Answer, Load, User, load, request

from meshgate.localcluster.waiting import wait_for

PORT = 8080
# The most the edit may take to be served before the test gives up on it.
DEADLINE_SECONDS = 60.0
# How long the client keeps going once the new behaviour was seen, to see the answers settle.
SETTLE_SECONDS = 2.0


def test_route_edit_under_load_fails_no_request_and_takes_effect(user: User) -> None:
    user.apply("change_under_load")
    user.ready_pods("app=orders", 2)
    user.condition("routes", "orders", "ResolvedRefs")
    address = user.gateway_pods("live")[0]["status"]["podIP"]
    before = user.answer_within(
        lambda: request(address, PORT, "/orders/1"), 200, 15, "the gateway serving /orders"
    )
    assert before.json()["version"] == "v1"

    with load(lambda: request(address, PORT, "/orders/1")) as client:
        # Traffic is flowing before the edit.
        user.answer_within(lambda: _latest(client), 200, 5, "the load client's first answer")
        user.apply(HERE / "change_under_load" / "edit")
        edited_at = time.monotonic()
        first_new = wait_for(
            lambda: _first_v2_at(client, edited_at),
            timeout=DEADLINE_SECONDS,
            what="the load client to be served the edited Route",
        )
        wait_for(
            lambda: client.outcomes[-1][0] > first_new + SETTLE_SECONDS,
            timeout=SETTLE_SECONDS + 15,
            what="the load client to answer past the settling time",
        )
    print(f"route edit: served {first_new - edited_at:.3f} s after kubectl apply returned")

    assert client.errors == [], client.errors[:5]
    assert client.statuses() == {200: len(client.outcomes)}, client.statuses()
    after = [(at, body) for at, _, body in client.outcomes if at >= edited_at]
    versions = [_version(body) for _, body in after]
    assert "v2" in versions, "the edit never took effect"
    flipped = versions.index("v2")
    assert set(versions[flipped:]) == {"v2"}, "an answer went back to the old Route"
    late = [
        v for (at, _), v in zip(after, versions, strict=True) if at > first_new + SETTLE_SECONDS
    ]
    assert late
    assert set(late) == {"v2"}
    tagged = request(address, PORT, "/orders/2")
    assert tagged.headers.get("x-served-by") == "orders-v2"
    assert len(client.outcomes) >= 50, "the client barely sent anything"


def _latest(client: Load) -> Answer:
    if not client.outcomes:
        raise OSError("no answer yet")
    _, status, body = client.outcomes[-1]
    return Answer(status, {}, body)


def _first_v2_at(client: Load, since: float) -> float | None:
    """When the client first got the edited Route's answer at or after `since`, if it has."""
    for at, status, body in list(client.outcomes):
        if at >= since and status == 200 and _version(body) == "v2":
            return at
    return None


def _version(body: bytes) -> str:
    return str(json.loads(body)["version"])
