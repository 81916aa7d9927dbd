"""Change under load: a client keeps sending requests through the gateway while the user edits
the Route (`kubectl apply` of `change_under_load/edit/route.yaml`, which moves `/orders` from
orders v1 to v2 and adds a response header). No request fails, and every answer from 5 s after
the edit on has the new behaviour, with no answer going back to the old one once the new one
was seen.

Manifests: `change_under_load/` (both versions, the Gateway, the Route), then its `edit/`.
"""

from __future__ import annotations

import json
import time

from scenario_kit import HERE, Answer, Load, User, load, request

from meshgate.localcluster.waiting import wait_for

PORT = 8080
WITHIN_SECONDS = 5.0
# How long the client keeps going after the edit: past the deadline, to see the answers settle.
OBSERVE_SECONDS = WITHIN_SECONDS + 2.0


def test_route_edit_under_load_fails_no_request_and_takes_effect_within_5s(user: User) -> None:
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
        edited_at = time.monotonic()
        user.apply(HERE / "change_under_load" / "edit")
        end = edited_at + OBSERVE_SECONDS
        wait_for(
            lambda: bool(client.outcomes) and client.outcomes[-1][0] > end,
            timeout=OBSERVE_SECONDS + 15,
            what="the load client to answer past the observation window",
        )

    assert client.errors == [], client.errors[:5]
    assert client.statuses() == {200: len(client.outcomes)}, client.statuses()
    after = [(at, body) for at, _, body in client.outcomes if at >= edited_at]
    versions = [_version(body) for _, body in after]
    assert "v2" in versions, "the edit never took effect"
    first_new = next(at for (at, _), v in zip(after, versions, strict=True) if v == "v2")
    assert first_new - edited_at <= WITHIN_SECONDS, first_new - edited_at
    flipped = versions.index("v2")
    assert set(versions[flipped:]) == {"v2"}, "an answer went back to the old Route"
    late = [
        v for (at, _), v in zip(after, versions, strict=True) if at > edited_at + WITHIN_SECONDS
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


def _version(body: bytes) -> str:
    return str(json.loads(body)["version"])
