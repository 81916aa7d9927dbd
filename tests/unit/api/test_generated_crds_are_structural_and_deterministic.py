"""The generator turns the models into structural CRD schemas, the same bytes every time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from api_examples import REPO

from meshgate.api.generate import crd_files, docs, model_schema
from meshgate.api.v1alpha1 import KINDS, RouteSpec


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _nodes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, f"{path}[{i}]")


def _schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, text in crd_files().items():
        crd = yaml.safe_load(text)
        yield name, crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_no_ref_title_const_or_nullable_anyof_is_left() -> None:
    for name, schema in _schemas():
        for path, node in _nodes(schema):
            assert "$ref" not in node, f"{name}{path}"
            assert "$defs" not in node, f"{name}{path}"
            assert "title" not in node or not isinstance(node["title"], str), f"{name}{path}"
            assert "const" not in node, f"{name}{path}"
            assert node.get("additionalProperties") is not False, f"{name}{path}"
            if "anyOf" in node:
                # Only int-or-string (quantities) may keep anyOf, as Kubernetes requires.
                assert node.get("x-kubernetes-int-or-string") is True, f"{name}{path}"


def test_every_schema_node_under_properties_has_a_type() -> None:
    for name, schema in _schemas():
        for path, node in _nodes(schema):
            if path.endswith(".properties") or path.endswith(".validations"):
                continue
            if "properties" in node or "items" in node:
                assert node.get("type") in {"object", "array"}, f"{name}{path}"


def test_optional_field_is_plain_optional_and_carries_its_docstring() -> None:
    timeouts = model_schema(RouteSpec)["properties"]["rules"]["items"]["properties"]["timeouts"]
    assert timeouts["type"] == "object"
    assert "anyOf" not in timeouts
    assert timeouts["description"] == "Request and per-attempt timeouts."
    # The model's CEL rule travels with the inlined schema.
    messages = [rule["message"] for rule in timeouts["x-kubernetes-validations"]]
    assert "backendRequest must be no longer than request" in messages


def test_defaults_of_nested_objects_are_complete_so_the_server_can_default_them() -> None:
    path = model_schema(RouteSpec)["properties"]["rules"]["items"]["properties"]["matches"]
    assert path["default"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert path["items"]["properties"]["path"]["default"] == {"type": "PathPrefix", "value": "/"}


def test_every_kind_has_status_subresource_columns_and_category() -> None:
    files = crd_files()
    assert len(files) == len(KINDS)
    for info in KINDS:
        crd = yaml.safe_load(files[f"meshgate.io_{info.plural}.yaml"])
        version = crd["spec"]["versions"][0]
        assert crd["spec"]["scope"] == "Namespaced"
        assert crd["spec"]["names"]["categories"] == ["meshgate"]
        assert crd["spec"]["names"]["shortNames"] == list(info.short_names)
        assert version["subresources"] == {"status": {}}
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        assert {"observedGeneration", "conditions"} <= status.keys()
        assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]


def test_generation_is_deterministic() -> None:
    assert crd_files() == crd_files()
    assert docs() == docs()


def test_committed_crds_chart_copy_and_docs_match_the_models() -> None:
    for name, text in crd_files().items():
        assert (REPO / "crds" / name).read_text() == text, f"crds/{name} is stale: run make crds"
        assert (REPO / "charts/meshgate/files/crds" / name).read_text() == text
    assert (REPO / "docs/api.md").read_text() == docs(), "docs/api.md is stale: run make crds"
