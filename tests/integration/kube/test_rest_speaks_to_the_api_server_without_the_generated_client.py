"""meshgate's own client against the real API server: a listing's version, a watch from it that
yields the changes made since as plain dicts, writes as the `meshgate` field manager, a status
and reason word on failure, raw paths and the server's version."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from meshgate.kube.rest import CONFIG_MAP, KubeError, NotFound, Rest


def _cm(namespace: str, name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"watched": "yes"}},
        "data": {"v": value},
    }


def test_a_watch_from_the_listings_version_yields_what_changed_since(
    rest: Rest, namespace: str
) -> None:
    rest.apply(_cm(namespace, "before", "0"))
    items, version = rest.list_versioned(CONFIG_MAP, namespace, labels="watched=yes")
    assert [i["metadata"]["name"] for i in items] == ["before"]

    seen: list[tuple[str, str, str]] = []
    done = threading.Event()

    def follow() -> None:
        for event in rest.watch(CONFIG_MAP, namespace, version, labels="watched=yes",
                                timeout_seconds=20):  # fmt: skip
            obj = event["object"]
            if event["type"] in ("ADDED", "MODIFIED"):
                seen.append((event["type"], obj["metadata"]["name"], obj["data"]["v"]))
            if len(seen) == 2:
                done.set()
                return

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    created = rest.create(CONFIG_MAP, namespace, _cm(namespace, "after", "1"))
    assert [m["manager"] for m in created["metadata"]["managedFields"]] == ["meshgate"]
    rest.merge_patch(CONFIG_MAP, namespace, "after", {"data": {"v": "2"}})
    assert done.wait(20), seen
    assert seen == [("ADDED", "after", "1"), ("MODIFIED", "after", "2")]


def test_failures_carry_the_status_and_reason_word_only(rest: Rest, namespace: str) -> None:
    rest.create(CONFIG_MAP, namespace, _cm(namespace, "twice", "secret-value"))
    with pytest.raises(KubeError) as raised:
        rest.create(CONFIG_MAP, namespace, _cm(namespace, "twice", "secret-value"))
    assert (raised.value.status, raised.value.reason) == (409, "AlreadyExists")
    assert "secret-value" not in str(raised.value)
    with pytest.raises(NotFound):
        rest.merge_patch(CONFIG_MAP, namespace, "absent", {"data": {}})
    assert rest.read(CONFIG_MAP, namespace, "absent") is None


def test_raw_paths_and_the_servers_version(rest: Rest) -> None:
    status, body = rest.fetch("/healthz")
    assert (status, body) == (200, b"ok")
    assert rest.server_version()["major"] == "1"
