"""A resync's listing costs the operator memory only for what changed: an object listed at the
version the store holds keeps the held body (no second copy; the same object the parse cache
knows), and the listing is reduced to the store's form page by page, before the next page is
asked for, so whole bodies of one page at most are alive at once."""

from __future__ import annotations

from typing import Any

from meshgate.kube.credentials import Credentials
from meshgate.kube.listing import relist
from meshgate.kube.rest import Kind, Rest
from meshgate.kube.store import Store
from meshgate.settings import Settings

MANAGED = [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]


def _route(name: str, version: int, path: str = "/") -> dict[str, Any]:
    return {
        "kind": "Route",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "resourceVersion": str(version),
            "managedFields": MANAGED,
        },
        "spec": {"path": path},
    }


def test_an_object_listed_at_the_version_held_keeps_the_held_body() -> None:
    store = Store()
    store.replace("Route", "", [_route("a", 10), _route("b", 11)], "11")
    held_a, held_b = store.get("Route", "shop", "a"), store.get("Route", "shop", "b")

    listed = [store.kept_or_slim("Route", b) for b in (_route("a", 10), _route("b", 12, "/b2"))]
    store.replace("Route", "", listed, "12", slimmed=True)
    assert store.get("Route", "shop", "a") is held_a
    b = store.get("Route", "shop", "b")
    assert b is not None
    assert b is not held_b
    assert b["spec"] == {"path": "/b2"}
    assert "managedFields" not in b["metadata"]

    # Raw items (no `kept_or_slim`) are slimmed, and an unchanged one still keeps its body.
    store.replace("Route", "", [_route("a", 10), _route("b", 12, "/b2")], "12")
    assert store.get("Route", "shop", "a") is held_a
    assert store.get("Route", "shop", "b") is b


class _Pages(Rest):
    """Answers a list in pages of two Routes; records what happened in which order."""

    def __init__(self, routes: list[dict[str, Any]]) -> None:
        super().__init__(Credentials(server="http://fake.invalid"))
        self.routes = routes
        self.log: list[str] = []
        self.limits: list[int] = []

    def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        query = dict(kw.get("query") or [])
        start = int(query.get("continue") or 0)
        self.limits.append(int(query["limit"]))
        self.log.append(f"page {start // 2}")
        page = self.routes[start : start + 2]
        more = start + 2 < len(self.routes)
        return {
            "metadata": {"resourceVersion": "30", "continue": str(start + 2) if more else ""},
            "items": page,
        }


def test_each_page_is_reduced_before_the_next_is_asked_for() -> None:
    rest = _Pages([_route(f"r{i}", 20 + i) for i in range(5)])

    def each(body: dict[str, Any]) -> dict[str, Any]:
        rest.log.append(f"reduce {body['metadata']['name']}")
        return {"name": body["metadata"]["name"]}

    items, version = rest.list_versioned(
        Kind("meshgate.io", "v1alpha1", "routes", "Route"), each=each
    )
    assert version == "30"
    assert rest.limits
    assert all(0 < n <= 200 for n in rest.limits)
    assert items == [{"name": f"r{i}"} for i in range(5)]
    assert rest.log == [
        "page 0", "reduce r0", "reduce r1",
        "page 1", "reduce r2", "reduce r3",
        "page 2", "reduce r4",
    ]  # fmt: skip


def test_a_relist_stores_slim_bodies_and_keeps_the_unchanged_ones() -> None:
    routes = [_route(f"r{i}", 20 + i) for i in range(5)]
    rest, store = _Pages(routes), Store()
    settings = Settings()

    def list_routes_only(kind: Kind, namespace: str | None = None, **kw: Any) -> Any:
        return (
            Rest.list_versioned(rest, kind, namespace, **kw) if kind.kind == "Route" else ([], "1")
        )

    rest.list_versioned = list_routes_only  # type: ignore[method-assign]
    relist(rest, settings, store)
    kept = {b["metadata"]["name"]: b for b in store.items("Route")}
    assert sorted(kept) == [f"r{i}" for i in range(5)]
    assert all("managedFields" not in b["metadata"] for b in kept.values())

    routes[3] = _route("r3", 40, "/moved")
    relist(rest, settings, store)
    again = {b["metadata"]["name"]: b for b in store.items("Route")}
    assert [n for n in again if again[n] is not kept[n]] == ["r3"]
    assert again["r3"]["spec"] == {"path": "/moved"}
