"""Every meshgate.io document in examples/ (and every kind's doc example) is valid for its model."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from api_examples import example_documents
from pydantic import BaseModel, ValidationError

from meshgate.api.v1alpha1 import KINDS, parse

DOCS = example_documents()


@pytest.mark.parametrize(("where", "doc"), DOCS, ids=[where for where, _ in DOCS])
def test_example_document_parses_with_its_kind_model(where: str, doc: dict[str, Any]) -> None:
    model = parse(doc)
    assert type(model).__name__ == doc["kind"]
    # What the model reads back is what the file says: no field silently dropped or renamed.
    dumped = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert dumped["spec"].keys() == doc["spec"].keys()


def test_examples_cover_every_kind() -> None:
    assert {doc["kind"] for _, doc in DOCS} == {info.kind for info in KINDS}


@pytest.mark.parametrize("info", KINDS, ids=[info.kind for info in KINDS])
def test_doc_example_of_each_kind_parses(info: Any) -> None:
    model: BaseModel = info.model.model_validate(yaml.safe_load(info.model.example))
    assert model.model_dump(by_alias=True)["kind"] == info.kind


def test_model_rejects_an_unknown_field_in_an_example() -> None:
    _, doc = next((w, d) for w, d in DOCS if d["kind"] == "Route")
    broken = {**doc, "spec": {**doc["spec"], "backendRef": []}}
    with pytest.raises(ValidationError, match="backendRef"):
        parse(broken)


def test_parse_refuses_a_foreign_api_version() -> None:
    with pytest.raises(ValueError, match=r"not a meshgate\.io/v1alpha1 kind"):
        parse({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule"})
