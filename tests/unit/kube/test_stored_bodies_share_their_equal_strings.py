"""Bodies decoded one by one (each watch event, each write's answer, each listed page) bring
their own copies of the same keys, condition reasons, messages, kinds and hostnames; the store
keeps one shared copy of each short string, and the bodies read back equal what was given."""

from __future__ import annotations

import json
from typing import Any

from meshgate.kube.store import SHARED_STRING, Store


def _route(name: str, version: int) -> dict[str, Any]:
    text = json.dumps(
        {
            "kind": "Route",
            "metadata": {"name": name, "namespace": "shop", "resourceVersion": str(version)},
            "spec": {"hostnames": ["shop.example.com"], "rules": [{"matches": []}]},
            "status": {
                "conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok"}
                ],
                "note": "x" * (SHARED_STRING + 1),
            },
        }
    )
    return dict(json.loads(text))  # decoded on its own, as every event is


def test_two_routes_decoded_apart_share_their_keys_and_short_strings() -> None:
    store = Store()
    a, b = _route("a", 10), _route("b", 11)
    assert a["status"]["conditions"][0]["reason"] is not b["status"]["conditions"][0]["reason"]
    store.observe("Route", "ADDED", a)
    store.observe("Route", "ADDED", b)
    held_a, held_b = store.get("Route", "shop", "a"), store.get("Route", "shop", "b")
    assert held_a is not None
    assert held_b is not None
    assert held_a == a
    assert held_b == b
    cond_a, cond_b = held_a["status"]["conditions"][0], held_b["status"]["conditions"][0]
    assert cond_a["reason"] is cond_b["reason"]
    assert cond_a["message"] is cond_b["message"]
    assert held_a["spec"]["hostnames"][0] is held_b["spec"]["hostnames"][0]
    assert [k for k in cond_a if k is not next(x for x in cond_b if x == k)] == []
    # A string longer than the bound is kept as it came (no table of every long message).
    assert held_a["status"]["note"] is a["status"]["note"]


def test_the_stored_body_is_a_copy_the_decoded_body_can_change_under() -> None:
    store = Store()
    a = _route("a", 10)
    store.observe("Route", "ADDED", a)
    a["spec"]["hostnames"].append("other.example.com")
    a["status"]["conditions"][0]["status"] = "False"
    held = store.get("Route", "shop", "a")
    assert held is not None
    assert held["spec"]["hostnames"] == ["shop.example.com"]
    assert held["status"]["conditions"][0]["status"] == "True"
