"""A one-Route change leaves the sidecar config of the namespace as the compiler kept it: its
ConfigMap is not rendered, encoded or hashed again (at 1,000 Routes that hash was a tenth of the
change's reconcile), and is still re-applied when the live object is replaced."""

from __future__ import annotations

from typing import Any

import pytest
from test_reconcile_reads_the_store_and_lists_only_when_forced import (
    NS,
    _cluster,
    _reconciler,
    _route,
    _served_paths,
)

from meshgate.kube import outputs


def _hashed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    real = outputs.content_hash

    def counted(obj: dict[str, Any]) -> str:
        seen.append((obj["kind"], obj["metadata"]["name"]))
        return real(obj)

    monkeypatch.setattr(outputs, "content_hash", counted)
    return seen


def test_a_route_change_hashes_the_gateway_objects_and_not_the_kept_sidecar_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = _cluster()
    api.put({"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": NS, "labels": {"meshgate.io/inject": "enabled"}}})  # fmt: skip
    rec = _reconciler(api)
    rec.run(force=True)
    rec.run()  # the Gateway now reports its generated Service's address
    assert api.get("ConfigMap", NS, "meshgate-mesh") is not None
    hashed = _hashed(monkeypatch)
    rec.store.observe("Route", "MODIFIED", api.put(_route("orders", "/carts")))
    summary = rec.run()
    assert _served_paths(api) == {"/carts"}
    assert ("ConfigMap", "meshgate-gw-edge") in hashed
    assert ("ConfigMap", "meshgate-mesh") not in hashed
    assert summary["applied"] == [f"ConfigMap/{NS}/meshgate-gw-edge"]

    # The live sidecar config replaced by someone else: the kept objects are applied again.
    live = api.get("ConfigMap", NS, "meshgate-mesh")
    assert live is not None
    api.put({**live, "metadata": {**live["metadata"], "annotations": {}},
             "data": {"config.json": "{}"}})  # fmt: skip
    rec.store.observe("ConfigMap", "MODIFIED", api.get("ConfigMap", NS, "meshgate-mesh") or {})
    again = rec.run()
    assert f"ConfigMap/{NS}/meshgate-mesh" in again["applied"]
    restored = api.get("ConfigMap", NS, "meshgate-mesh")
    assert restored is not None
    assert restored["data"]["config.json"] != "{}"
