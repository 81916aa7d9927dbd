"""Per-listener status as the Gateway API defines it: UnsupportedProtocol for what meshgate does
not serve, Conflicted for listeners sharing a port, InvalidRouteKinds, and ResolvedRefs for
certificates (InvalidCertificateRef, RefNotPermitted without a ReferenceGrant). A listener that
cannot be served is left out of the proxy config; the others still are."""

from __future__ import annotations

from typing import Any

import pytest
from gwapi_kit import (
    condition,
    gateway,
    gateway_class,
    listener,
    listener_status,
    reference_grant,
    run,
    status,
    tls_secret,
)

from meshgate.compile import compile_snapshot


def _https(ref: dict[str, Any], name: str = "https", port: int = 443) -> dict[str, Any]:
    return listener(name, port, "HTTPS", tls={"mode": "Terminate", "certificateRefs": [ref]})


def _listener(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    adapted, _ = run([gateway_class(), *docs])
    return listener_status(status(adapted, "Gateway", "edge"), name)


def test_unsupported_protocol_is_not_accepted_and_supports_no_kind() -> None:
    ln = _listener([gateway("edge", listener(), listener("tcp", 9000, "TCP"))], "tcp")
    assert condition(ln["conditions"], "Accepted") == ("False", "UnsupportedProtocol")
    assert condition(ln["conditions"], "Programmed") == ("False", "Invalid")
    assert ln["supportedKinds"] == []


@pytest.mark.parametrize(
    ("kinds", "supported"),
    [
        ([{"kind": "InvalidRoute"}], []),
        (
            [{"kind": "InvalidRoute"}, {"kind": "HTTPRoute"}],
            [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
        ),
    ],
)
def test_invalid_route_kinds(kinds: list[dict[str, str]], supported: list[Any]) -> None:
    allowed = {"namespaces": {"from": "All"}, "kinds": kinds}
    ln = _listener([gateway("edge", listener(allowedRoutes=allowed))], "http")
    assert condition(ln["conditions"], "ResolvedRefs") == ("False", "InvalidRouteKinds")
    assert ln["supportedKinds"] == supported
    assert ln["attachedRoutes"] == 0


def test_listeners_sharing_a_port_and_hostname_are_conflicted_and_not_served() -> None:
    gw = gateway("edge", listener("a", 80), listener("b", 80), listener("c", 8080))
    adapted, snap = run([gateway_class(), gw])
    body = status(adapted, "Gateway", "edge")
    for name in ("a", "b"):
        ln = listener_status(body, name)
        assert condition(ln["conditions"], "Conflicted") == ("True", "HostnameConflict")
        assert condition(ln["conditions"], "Accepted")[0] == "False"
    assert condition(listener_status(body, "c")["conditions"], "Conflicted") == (
        "False",
        "NoConflicts",
    )
    assert condition(body["conditions"], "Accepted") == ("True", "ListenersNotValid")
    (out,) = compile_snapshot(snap).gateways
    assert [ln.port for ln in out.config.listeners] == [8080]


def test_listeners_sharing_a_port_with_different_protocols_conflict() -> None:
    ref = {"group": "", "kind": "Secret", "name": "cert"}
    gw = gateway("edge", listener("a", 80), _https(ref, "b", 80))
    ln = _listener([tls_secret("cert"), gw], "b")
    assert condition(ln["conditions"], "Conflicted") == ("True", "ProtocolConflict")


@pytest.mark.parametrize(
    ("ref", "secrets", "reason"),
    [
        ({"group": "", "kind": "Secret", "name": "missing"}, [], "InvalidCertificateRef"),
        ({"group": "", "kind": "WrongKind", "name": "cert"}, ["cert"], "InvalidCertificateRef"),
        (
            {"group": "wrong.io", "kind": "Secret", "name": "cert"},
            ["cert"],
            "InvalidCertificateRef",
        ),
        ({"group": "", "kind": "Secret", "name": "bad"}, [], "InvalidCertificateRef"),
        (
            {"group": "", "kind": "Secret", "name": "cert", "namespace": "certs"},
            [],
            "RefNotPermitted",
        ),
    ],
)
def test_certificate_refs_that_cannot_be_used(
    ref: dict[str, Any], secrets: list[str], reason: str
) -> None:
    docs = [tls_secret(s) for s in secrets]
    docs += [tls_secret("bad", pem=False), tls_secret("cert", "certs")]
    ln = _listener([*docs, gateway("edge", _https(ref))], "https")
    assert condition(ln["conditions"], "ResolvedRefs") == ("False", reason)
    assert condition(ln["conditions"], "Programmed") == ("False", "Invalid")


def test_certificate_in_its_own_namespace_is_served() -> None:
    ref = {"group": "", "kind": "Secret", "name": "cert"}
    adapted, snap = run(
        [gateway_class(), tls_secret("cert"), gateway("edge", _https(ref))],
        addresses={"shop/edge": [("IPAddress", "10.0.0.9")]},
    )
    ln = listener_status(status(adapted, "Gateway", "edge"), "https")
    assert condition(ln["conditions"], "ResolvedRefs") == ("True", "ResolvedRefs")
    assert condition(ln["conditions"], "Programmed") == ("True", "Programmed")
    (out,) = compile_snapshot(snap).gateways
    (served,) = out.config.listeners
    assert served.tls is not None
    assert out.tls_secrets == ("cert",)


def test_certificate_of_another_namespace_allowed_by_a_grant_is_served_from_a_copy() -> None:
    ref = {"group": "", "kind": "Secret", "name": "cert", "namespace": "certs"}
    grant = reference_grant("certs", "Gateway", "shop", "Secret", "cert")
    docs = [gateway_class(), tls_secret("cert", "certs"), grant, gateway("edge", _https(ref))]
    adapted, snap = run(docs, addresses={"shop/edge": [("IPAddress", "10.0.0.9")]})
    ln = listener_status(status(adapted, "Gateway", "edge"), "https")
    assert condition(ln["conditions"], "ResolvedRefs") == ("True", "ResolvedRefs")
    assert condition(ln["conditions"], "Programmed") == ("True", "Programmed")
    (copy,) = adapted.certificate_copies
    assert copy.source == ("certs", "cert")
    assert copy.gateway.name == "edge"
    assert copy.name.startswith("meshgate-gw-edge-cert-")
    (out,) = compile_snapshot(snap).gateways
    assert out.tls_secrets == (copy.name,)
    (served,) = out.config.listeners
    assert served.tls is not None


def test_https_listeners_sharing_a_port_serve_their_certificates_by_sni() -> None:
    docs = [gateway_class(), tls_secret("cert"), tls_secret("other")]
    same = {"group": "", "kind": "Secret", "name": "cert"}
    other = {"group": "", "kind": "Secret", "name": "other"}
    gw = gateway(
        "edge",
        _https(same, "a"),
        {**_https(same, "b"), "hostname": "b.example.com"},
        {**_https(other, "c"), "hostname": "c.example.com"},
    )
    adapted, snap = run([*docs, gw], addresses={"shop/edge": [("IPAddress", "10.0.0.9")]})
    body = status(adapted, "Gateway", "edge")
    programmed = {
        name: condition(listener_status(body, name)["conditions"], "Programmed")[0]
        for name in ("a", "b", "c")
    }
    assert programmed == {"a": "True", "b": "True", "c": "True"}
    (out,) = compile_snapshot(snap).gateways
    (served,) = out.config.listeners
    assert served.tls is not None
    by_sni = {tuple(c.hostnames): c.cert_file for c in served.tls.sni_certificates}
    assert by_sni == {
        ("b.example.com",): "/etc/meshgate/certs/cert/tls.crt",
        ("c.example.com",): "/etc/meshgate/certs/other/tls.crt",
    }
    assert out.tls_secrets == ("cert", "other")
