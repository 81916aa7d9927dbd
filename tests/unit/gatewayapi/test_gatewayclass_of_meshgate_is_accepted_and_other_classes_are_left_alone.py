"""A GatewayClass whose controllerName is meshgate's gets Accepted and SupportedVersion; a class
of another controller, and its Gateways and routes, get no status from meshgate at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from gwapi_kit import condition, gateway, gateway_class, http_route, run, service, status

from meshgate.gatewayapi import adapt
from meshgate.gatewayapi.features import SUPPORTED_FEATURES
from meshgate.gatewayapi.objects import objects_from_bodies

REPO = Path(__file__).resolve().parents[3]


def test_meshgate_class_is_accepted_with_supported_version() -> None:
    adapted, _ = run([gateway_class()])
    body = status(adapted, "GatewayClass", "meshgate")
    assert condition(body["conditions"], "Accepted") == ("True", "Accepted")
    assert condition(body["conditions"], "SupportedVersion") == ("True", "SupportedVersion")
    assert all(c["observedGeneration"] == 1 for c in body["conditions"])
    names = [f["name"] for f in body["supportedFeatures"]]
    assert names == sorted(names)
    assert {"Gateway", "HTTPRoute", "ReferenceGrant"} <= set(names)


def test_supported_features_are_what_the_conformance_run_claims() -> None:
    claimed = REPO / "conformance" / "supported-features.txt"
    if not claimed.exists():
        pytest.skip("conformance/supported-features.txt is not in this checkout yet")
    lines = [ln.strip() for ln in claimed.read_text().splitlines()]
    assert sorted(ln for ln in lines if ln and not ln.startswith("#")) == list(SUPPORTED_FEATURES)


def test_crds_of_another_minor_version_are_reported_unsupported() -> None:
    _adapted, snap = run([])
    objs = objects_from_bodies([gateway_class()], bundle_version="v1.2.0")
    body = status(adapt(objs, snap), "GatewayClass", "meshgate")
    assert condition(body["conditions"], "SupportedVersion") == ("False", "UnsupportedVersion")
    assert condition(body["conditions"], "Accepted") == ("False", "UnsupportedVersion")


def test_objects_of_another_controller_get_no_status_and_compile_to_nothing() -> None:
    docs = [
        gateway_class("other", controller="example.com/other"),
        gateway(class_name="other"),
        http_route(),
        service(),
    ]
    adapted, _ = run(docs)
    assert adapted.statuses == ()
    assert adapted.gateways == ()
    assert adapted.routes == ()
