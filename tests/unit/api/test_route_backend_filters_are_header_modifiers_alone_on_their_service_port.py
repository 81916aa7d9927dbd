"""A Route backendRef's filters: header modifiers only, and a backendRef with filters must be the
only one of its rule naming that Service port (the proxy keys a backend's modifiers by its
cluster). The pydantic model says so for translated rules; the CRD says so at admission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from meshgate.api.v1alpha1.route import RouteRule

CRD = Path(__file__).resolve().parents[3] / "crds" / "meshgate.io_routes.yaml"
SET = {
    "type": "RequestHeaderModifier",
    "requestHeaderModifier": {"set": [{"name": "b", "value": "1"}]},
}


def _rule(*refs: dict[str, Any]) -> dict[str, Any]:
    return {"backendRefs": list(refs)}


def test_header_modifiers_on_distinct_backends_are_accepted() -> None:
    rule = RouteRule.model_validate(
        _rule({"name": "a", "port": 80, "filters": [SET]}, {"name": "b", "port": 80})
    )
    assert rule.backend_refs is not None
    assert rule.backend_refs[0].filters is not None
    assert rule.backend_refs[1].filters is None


def test_a_filtered_backend_sharing_its_service_port_is_refused() -> None:
    with pytest.raises(ValidationError, match="the only backendRef of its rule"):
        RouteRule.model_validate(
            _rule({"name": "a", "port": 80, "filters": [SET]}, {"name": "a", "port": 80})
        )


def test_another_filter_type_on_a_backend_is_refused() -> None:
    rewrite = {"type": "URLRewrite", "urlRewrite": {"hostname": "x"}}
    with pytest.raises(ValidationError):
        RouteRule.model_validate(_rule({"name": "a", "port": 80, "filters": [rewrite]}))


def test_the_crd_refuses_the_same_at_admission() -> None:
    crd = yaml.safe_load(CRD.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    rule = schema["properties"]["spec"]["properties"]["rules"]["items"]
    messages = [v["message"] for v in rule["x-kubernetes-validations"]]
    assert any("the only backendRef of its rule" in m for m in messages)
    ref = rule["properties"]["backendRefs"]["items"]
    assert ref["properties"]["filters"]["items"]["properties"]["type"]["enum"] == [
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
    ]
