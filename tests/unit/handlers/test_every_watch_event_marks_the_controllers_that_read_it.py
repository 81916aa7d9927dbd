"""The one watch registry: each event reaches exactly the controllers whose reconcile reads it,
and the operator's own writes reach none."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from meshgate.handlers.reconcile import Reconciler
from meshgate.handlers.watches import Watched, watches
from meshgate.ownership import HASH_ANNOTATION
from meshgate.runtime import Runtime, Wake
from meshgate.settings import Settings


class _Named:
    name: ClassVar[str] = ""

    def reconcile(self, wake: Wake) -> float | None:
        return None


class _Routing(_Named):
    name: ClassVar[str] = "routing"


class _Identity(_Named):
    name: ClassVar[str] = "identity"


class _Injection(_Named):
    name: ClassVar[str] = "injection"


@pytest.fixture
def served() -> Watched:
    runtime = Runtime(debounce=0.01, resync=3600)
    for controller in (_Routing(), _Identity(), _Injection()):
        runtime.add(controller)
    routing = Reconciler(rest=None, settings=Settings())  # type: ignore[arg-type]
    return Watched(
        runtime=runtime,
        routing=routing,
        identity_ca=("meshgate-system", "meshgate-ca"),
        webhook_config="meshgate-sidecar-injector",
        gateway_api=True,
    )


def _event(w: Watched, watch_id: str, body: dict[str, Any], type: str | None = "ADDED") -> None:
    (handler,) = [x.handler for x in watches(w) if x.id == watch_id]
    asyncio.run(handler(type=type, body=body))


def _body(kind: str, ns: str, name: str, **extra: Any) -> dict[str, Any]:
    meta = {"namespace": ns, "name": name, "resourceVersion": "1", **extra.pop("meta", {})}
    return {"kind": kind, "metadata": meta, **extra}


def _marked(w: Watched) -> dict[str, set[tuple[str, str, str]]]:
    names = ("routing", "identity", "injection")
    return {n: set(w.runtime.pending(n)) for n in names if w.runtime.pending(n)}


def test_every_resource_is_watched_once(served: Watched) -> None:
    ids = [x.id for x in watches(served)]
    assert len(ids) == len(set(ids))
    assert {"secrets", "pods", "namespaces", "gateways", "peerauthentications"} <= set(ids)
    assert "mutatingwebhookconfigurations" in ids


def test_a_gateway_reaches_routing_and_identity(served: Watched) -> None:
    _event(served, "gateways", _body("Gateway", "shop", "edge", meta={"generation": 1}))
    key = ("Gateway", "shop", "edge")
    assert _marked(served) == {"routing": {key}, "identity": {key}}


def test_a_gateway_api_gateway_reaches_routing_and_identity(served: Watched) -> None:
    _event(served, "gateway-api-gateways", _body("Gateway", "shop", "edge", meta={"generation": 1}))
    key = ("Gateway.gateway.networking.k8s.io", "shop", "edge")
    marked = _marked(served)
    assert marked["identity"] == marked["routing"] == {key}


def test_a_route_reaches_routing_only(served: Watched) -> None:
    _event(served, "routes", _body("Route", "shop", "r", meta={"generation": 1}))
    assert _marked(served) == {"routing": {("Route", "shop", "r")}}


def test_a_status_write_on_a_route_reaches_nobody(served: Watched) -> None:
    _event(served, "routes", _body("Route", "shop", "r", meta={"generation": 1}))
    before = _marked(served)
    later = _body("Route", "shop", "r", meta={"generation": 1, "resourceVersion": "2"})
    later["status"] = {"observedGeneration": 1}
    _event(served, "routes", later, "MODIFIED")
    assert _marked(served) == before


def test_a_spec_change_reaches_routing_even_when_our_status_write_stored_it_first() -> None:
    # The status write for the previous change answers with the user's newer spec, and the store
    # records that answer before the spec change's own event arrives.
    runtime = Runtime(debounce=0.01, resync=3600)
    waiting: dict[str, int] = {}
    runtime.add(_Routing(), on_queue=lambda n: waiting.update({"routing": n}))
    routing = Reconciler(rest=None, settings=Settings())  # type: ignore[arg-type]
    w = Watched(runtime=runtime, routing=routing)
    _event(w, "routes", _body("Route", "shop", "r", meta={"generation": 1}))
    assert waiting == {"routing": 1}
    answer = _body("Route", "shop", "r", meta={"generation": 2, "resourceVersion": "3"})
    answer["status"] = {"observedGeneration": 1}
    routing.store.record("Route", answer)
    spec = _body("Route", "shop", "r", meta={"generation": 2, "resourceVersion": "2"})
    _event(w, "routes", spec, "MODIFIED")
    assert waiting == {"routing": 2}
    _event(w, "routes", answer, "MODIFIED")  # the status write's own event: nothing new
    assert waiting == {"routing": 2}


def test_a_status_write_on_a_gateway_reaches_neither_routing_nor_identity() -> None:
    # Every Route change rewrites its Gateway's status (the config version it names); an
    # identity pass lists the whole cluster, so it must not follow.
    runtime = Runtime(debounce=0.01, resync=3600)
    waiting: dict[str, int] = {}
    for controller in (_Routing(), _Identity()):
        runtime.add(controller, on_queue=lambda n, name=controller.name: waiting.update({name: n}))
    routing = Reconciler(rest=None, settings=Settings())  # type: ignore[arg-type]
    w = Watched(runtime=runtime, routing=routing, identity_ca=("meshgate-system", "meshgate-ca"))
    _event(w, "gateways", _body("Gateway", "shop", "edge", meta={"generation": 1}))
    assert waiting == {"routing": 1, "identity": 1}
    status = _body("Gateway", "shop", "edge", meta={"generation": 1, "resourceVersion": "2"})
    status["status"] = {"observedGeneration": 1}
    _event(w, "gateways", status, "MODIFIED")
    assert waiting == {"routing": 1, "identity": 1}
    spec = _body("Gateway", "shop", "edge", meta={"generation": 2, "resourceVersion": "3"})
    _event(w, "gateways", spec, "MODIFIED")
    assert waiting == {"routing": 2, "identity": 2}


def test_secrets_go_by_what_they_are(served: Watched) -> None:
    _event(served, "secrets", _body("Secret", "shop", "plain", type="Opaque"))
    assert _marked(served) == {}
    _event(served, "secrets", _body("Secret", "shop", "cert", type="kubernetes.io/tls"))
    assert _marked(served) == {"routing": {("Secret", "shop", "cert")}}
    ca = _body("Secret", "meshgate-system", "meshgate-ca", type="Opaque")
    _event(served, "secrets", ca)
    assert _marked(served)["identity"] == {("Secret", "meshgate-system", "meshgate-ca")}
    labels = {"app.kubernetes.io/managed-by": "meshgate", "meshgate.io/component": "identity"}
    ours = _body("Secret", "shop", "id", type="Opaque", meta={"labels": labels})
    _event(served, "secrets", ours)
    assert ("Secret", "shop", "id") in _marked(served)["identity"]


def test_only_injected_pods_reach_identity(served: Watched) -> None:
    _event(served, "pods", _body("Pod", "shop", "plain"))
    assert "identity" not in _marked(served)
    injected = _body("Pod", "shop", "meshed", meta={"labels": {"meshgate.io/injected": "true"}})
    _event(served, "pods", injected)
    assert _marked(served)["identity"] == {("Pod", "shop", "meshed")}


def test_a_generated_config_map_carrying_our_hash_reaches_nobody(served: Watched) -> None:
    key = ("ConfigMap", "shop", "meshgate-gw-edge")
    assert served.routing is not None
    served.routing.applied[key] = "abc"
    meta = {"labels": {"app.kubernetes.io/managed-by": "meshgate"}}
    ours = _body(*key, meta={**meta, "annotations": {HASH_ANNOTATION: "abc"}})
    _event(served, "configmaps", ours)
    assert _marked(served) == {}
    edited = _body(
        *key, meta={**meta, "annotations": {HASH_ANNOTATION: "x"}, "resourceVersion": "2"}
    )
    _event(served, "configmaps", edited, "MODIFIED")
    assert _marked(served) == {"routing": {key}}


def test_only_our_webhook_configuration_reaches_injection(served: Watched) -> None:
    other = {"metadata": {"name": "someone-elses"}}
    _event(served, "mutatingwebhookconfigurations", other)
    assert _marked(served) == {}
    ours = {"metadata": {"name": "meshgate-sidecar-injector"}}
    _event(served, "mutatingwebhookconfigurations", ours, "DELETED")
    key = ("MutatingWebhookConfiguration", "", "meshgate-sidecar-injector")
    assert _marked(served) == {"injection": {key}}


def test_without_routing_only_what_identity_reads_is_watched() -> None:
    runtime = Runtime(debounce=0.01, resync=3600)
    w = Watched(runtime=runtime, identity_ca=("meshgate-system", "meshgate-ca"))
    ids = {x.id for x in watches(w)}
    assert ids == {
        "gateways",
        "peerauthentications",
        "namespaces",
        "pods",
        "secrets",
        "serviceaccounts",
        "networkpolicies",
    }
