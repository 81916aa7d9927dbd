"""With the Gateway API served but its CRDs absent, a full listing stores those kinds as empty
instead of failing; with it off, they are never asked for. A TLS Secret in the store keeps a
mark of whether it holds PEM, never its value."""

from __future__ import annotations

from typing import Any

import pytest

from meshgate.kube.listing import relist
from meshgate.kube.rest import GATEWAY_API_KINDS, Kind, NotFound
from meshgate.kube.store import Store, slim
from meshgate.settings import Settings


class FakeRest:
    """Every kind lists empty; the Gateway API kinds and CRDs are absent (404)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def list_versioned(self, kind: Kind, namespace: str | None = None, **_: Any) -> Any:
        self.asked.append(f"{kind.group}/{kind.plural}")
        if kind.group == "gateway.networking.k8s.io":
            raise NotFound(kind.path(namespace))
        return [], "7"

    def read(self, kind: Kind, namespace: str, name: str) -> Any:
        self.asked.append(f"{kind.plural}/{name}")
        return None


@pytest.mark.parametrize("enabled", [False, True])
def test_absent_gateway_api_crds_list_as_empty(enabled: bool) -> None:
    rest, store = FakeRest(), Store()
    relist(rest, Settings(gateway_api=enabled), store)  # type: ignore[arg-type]
    standard = {f"{k.group}/{k.plural}" for k in GATEWAY_API_KINDS}
    assert standard & set(rest.asked) == (standard if enabled else set())
    assert store.items("Gateway.gateway.networking.k8s.io") == []


def test_tls_secret_in_the_store_keeps_a_pem_mark_only() -> None:
    pem = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
    body = {
        "kind": "Secret",
        "metadata": {"name": "cert"},
        "data": {"tls.crt": pem, "tls.key": "SGVsbG8K", "ca.crt": pem},
    }
    assert slim("Secret", body)["data"] == {"tls.crt": "pem", "tls.key": "", "ca.crt": ""}
