"""Who gets an identity: accounts of meshed namespaces, of meshed Pods anywhere, and Gateways."""

from __future__ import annotations

from typing import Any

from meshgate.identity.meshed import meshed_namespaces, wanted_identities


def _ns(name: str, *, inject: bool = False, terminating: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name, "labels": {}}}
    if inject:
        body["metadata"]["labels"]["meshgate.io/inject"] = "enabled"
    if terminating:
        body["status"] = {"phase": "Terminating"}
    return body


def _sa(ns: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}}


def _pod(ns: str, account: str | None, *, phase: str = "Running") -> dict[str, Any]:
    spec = {"serviceAccountName": account} if account else {}
    return {
        "metadata": {"namespace": ns, "name": "p", "labels": {"meshgate.io/injected": "true"}},
        "spec": spec,
        "status": {"phase": phase},
    }


def _gw(ns: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}}


def _identities(**kw: Any) -> list[tuple[str, str, str, str]]:
    return [
        (w.namespace, w.secret_name, w.spiffe_id, w.source)
        for w in wanted_identities(trust_domain="td", **kw)
    ]


def test_every_account_of_a_meshed_namespace_and_no_other() -> None:
    got = _identities(
        namespaces=[_ns("shop", inject=True), _ns("plain")],
        service_accounts=[_sa("shop", "cart"), _sa("shop", "default"), _sa("plain", "x")],
        pods=[],
        gateways=[],
    )
    assert got == [
        ("shop", "meshgate-identity-cart", "spiffe://td/ns/shop/sa/cart", "ServiceAccount"),
        ("shop", "meshgate-identity-default", "spiffe://td/ns/shop/sa/default", "ServiceAccount"),
    ]


def test_a_meshed_pod_outside_a_meshed_namespace_brings_its_account() -> None:
    got = _identities(
        namespaces=[_ns("plain")],
        service_accounts=[_sa("plain", "api"), _sa("plain", "other")],
        pods=[_pod("plain", "api"), _pod("plain", None), _pod("plain", "job", phase="Succeeded")],
        gateways=[],
    )
    assert [g[1] for g in got] == ["meshgate-identity-api", "meshgate-identity-default"]


def test_a_gateway_gets_its_own_identity_secret() -> None:
    got = _identities(
        namespaces=[_ns("edge")], service_accounts=[], pods=[], gateways=[_gw("edge", "public")]
    )
    assert got == [
        (
            "edge",
            "meshgate-gw-public-identity",
            "spiffe://td/ns/edge/sa/meshgate-gw-public",
            "Gateway",
        )
    ]


def test_namespaces_being_deleted_and_system_namespaces_get_nothing() -> None:
    got = _identities(
        namespaces=[_ns("gone", inject=True, terminating=True), _ns("kube-system", inject=True)],
        service_accounts=[_sa("gone", "a"), _sa("kube-system", "b")],
        pods=[_pod("gone", "a")],
        gateways=[_gw("gone", "g")],
    )
    assert got == []


def test_meshed_namespaces_are_the_labelled_ones_and_those_with_meshed_pods() -> None:
    namespaces = [_ns("shop", inject=True), _ns("plain"), _ns("other")]
    assert meshed_namespaces(namespaces, [_pod("plain", "x")]) == {"shop", "plain"}
