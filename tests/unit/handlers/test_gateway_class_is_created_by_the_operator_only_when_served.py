"""The operator, not the chart, creates meshgate's GatewayClass: only when the Gateway API is
served and a class name is set, and always for meshgate's controller."""

from __future__ import annotations

from meshgate.gatewayapi import CONTROLLER_NAME
from meshgate.handlers.startup import gateway_class_body
from meshgate.settings import Settings


def test_no_class_when_the_gateway_api_is_not_served() -> None:
    settings = Settings.from_env({"MESHGATE_GATEWAY_CLASS": "meshgate"})
    assert gateway_class_body(settings) is None


def test_no_class_when_no_name_is_set() -> None:
    settings = Settings.from_env({"MESHGATE_GATEWAY_API": "true"})
    assert gateway_class_body(settings) is None


def test_the_class_names_meshgates_controller() -> None:
    env = {"MESHGATE_GATEWAY_API": "true", "MESHGATE_GATEWAY_CLASS": "edge-class"}
    body = gateway_class_body(Settings.from_env(env))
    assert body is not None
    assert body["metadata"]["name"] == "edge-class"
    assert body["spec"]["controllerName"] == CONTROLLER_NAME
    assert len(body["spec"]["description"].encode()) <= 64  # the CRD's limit
