"""The watch-fed store ends where a listing would, whatever order its events arrive in.

Events are ordered by resourceVersion: an older event never overwrites a newer object, never
revives a deleted one, and a listing keeps what newer events already brought.
"""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

from meshgate.kube.store import LAST_APPLIED, Store


def _route(name: str, version: int, path: str = "/", ns: str = "shop") -> dict[str, Any]:
    return {
        "kind": "Route",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(version)},
        "spec": {"path": path},
    }


def _contents(store: Store, kind: str = "Route") -> dict[str, Any]:
    return {b["metadata"]["name"]: b["spec"]["path"] for b in store.items(kind)}


# One history: a created, changed twice; b created then deleted; c created late.
HISTORY: list[tuple[str | None, dict[str, Any]]] = [
    ("ADDED", _route("a", 10, "/a1")),
    ("ADDED", _route("b", 11, "/b1")),
    ("MODIFIED", _route("a", 12, "/a2")),
    ("DELETED", _route("b", 13, "/b1")),
    ("MODIFIED", _route("a", 14, "/a3")),
    ("ADDED", _route("c", 15, "/c1")),
]
FINAL = {"a": "/a3", "c": "/c1"}


def test_events_applied_in_every_order_converge_to_the_final_state() -> None:
    for order in itertools.permutations(HISTORY):
        store = Store()
        for event_type, body in order:
            store.observe("Route", event_type, body)
        assert _contents(store) == FINAL, order


def test_a_late_event_does_not_revive_a_deleted_object() -> None:
    store = Store()
    store.observe("Route", "ADDED", _route("b", 11))
    assert store.observe("Route", "DELETED", _route("b", 13))
    assert not store.observe("Route", "MODIFIED", _route("b", 12))
    assert _contents(store) == {}
    # Created again under the same name: a newer version, so it is back.
    assert store.observe("Route", "ADDED", _route("b", 20, "/again"))
    assert _contents(store) == {"b": "/again"}


def test_an_older_event_is_ignored_and_reports_no_change() -> None:
    store = Store()
    assert store.observe("Route", None, _route("a", 12, "/new"))
    assert not store.observe("Route", "MODIFIED", _route("a", 11, "/old"))
    assert not store.observe("Route", "MODIFIED", _route("a", 12, "/new"))  # an echo
    assert _contents(store) == {"a": "/new"}


def test_a_listing_replaces_the_contents_but_keeps_newer_events() -> None:
    store = Store()
    store.observe("Route", "ADDED", _route("gone", 5))  # deleted before the listing, unseen
    store.observe("Route", "MODIFIED", _route("a", 30, "/after-list"))  # newer than the listing
    store.observe("Route", "ADDED", _route("new", 31, "/created-after"))
    store.replace("Route", "", [_route("a", 20, "/listed"), _route("b", 21, "/b")], "25")
    assert _contents(store) == {"a": "/after-list", "b": "/b", "new": "/created-after"}


def test_a_deletion_seen_before_the_listing_arrives_still_wins() -> None:
    store = Store()
    store.observe("Route", "DELETED", _route("b", 26))
    store.replace("Route", "", [_route("b", 21)], "25")  # listed just before the deletion
    assert _contents(store) == {}


def test_events_from_before_a_listing_cannot_add_what_it_did_not_contain() -> None:
    store = Store()
    store.replace("Route", "", [_route("a", 20)], "25")
    # kopf's own initial listing may deliver an object deleted before our listing.
    assert not store.observe("Route", None, _route("gone", 7))
    assert store.observe("Route", "ADDED", _route("fresh", 26))
    assert set(_contents(store)) == {"a", "fresh"}


def test_a_namespace_listing_leaves_other_namespaces_alone() -> None:
    store = Store()
    store.observe("Route", "ADDED", _route("a", 10, ns="web"))
    store.replace("Route", "shop", [_route("s", 20)], "25")
    assert {(b["metadata"]["namespace"], b["metadata"]["name"]) for b in store.items("Route")} == {
        ("web", "a"),
        ("shop", "s"),
    }


def test_random_interleavings_of_events_and_a_listing_converge() -> None:
    rng = random.Random(7)
    for _ in range(300):
        events = list(HISTORY)
        rng.shuffle(events)
        cut = rng.randrange(len(events) + 1)
        # A listing taken at version 13 holds `a` at 12 and nothing of `b` (deleted at 13).
        listing = [_route("a", 12, "/a2")]
        store = Store()
        for event_type, body in events[:cut]:
            store.observe("Route", event_type, body)
        store.replace("Route", "", listing, "13")
        for event_type, body in events[cut:]:
            store.observe("Route", event_type, body)
        assert _contents(store) == FINAL, (events, cut)


def test_unknown_versions_always_apply() -> None:
    store = Store()
    store.observe("Route", "ADDED", _route("a", 10, "/a"))
    body = _route("a", 0, "/opaque")
    body["metadata"]["resourceVersion"] = "not-a-number"
    assert store.observe("Route", "MODIFIED", body)
    assert _contents(store) == {"a": "/opaque"}


def test_secret_values_and_managed_fields_are_never_stored() -> None:
    store = Store()
    store.observe(
        "Secret",
        "ADDED",
        {
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": "tls", "namespace": "shop", "resourceVersion": "3",
                         "managedFields": [{"manager": "kubectl"}]},
            "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"},
            "stringData": {"extra": "plain"},
        },
    )  # fmt: skip
    (stored,) = store.items("Secret")
    assert stored["data"] == {"tls.crt": "", "tls.key": ""}
    assert "stringData" not in stored
    assert "managedFields" not in stored["metadata"]


def test_last_applied_configuration_is_not_stored_and_other_annotations_are() -> None:
    store = Store()
    body = _route("a", 10, "/a")
    body["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(body), "team": "shop"}
    store.observe("Route", "ADDED", body)
    (stored,) = store.items("Route")
    assert stored["metadata"]["annotations"] == {"team": "shop"}
    assert LAST_APPLIED in body["metadata"]["annotations"]  # the event's body is left alone
