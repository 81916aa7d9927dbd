"""A Route whose RegularExpression (path, header or query) does not compile in the proxy's engine
is invalid to the operator: it is left out with `Accepted=False, Invalid` naming the field, so
the proxy never receives a config it would refuse whole (which would freeze every Route of the
Gateway at the last config)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from meshgate.api.v1alpha1.route import RouteSpec
from meshgate.compile.ingest import explain


def _spec(match: dict[str, Any]) -> dict[str, Any]:
    return {
        "parentRefs": [{"name": "edge"}],
        "rules": [{"matches": [match], "backendRefs": [{"name": "orders", "port": 8080}]}],
    }


BROKEN = "^/x(["


@pytest.mark.parametrize(
    ("match", "field"),
    [
        ({"path": {"type": "RegularExpression", "value": BROKEN}}, "spec.rules.0.matches.0.path"),
        (
            {"headers": [{"type": "RegularExpression", "name": "x-v", "value": "(a"}]},
            "spec.rules.0.matches.0.headers.0",
        ),
        (
            {"queryParams": [{"type": "RegularExpression", "name": "q", "value": "a{2,1}"}]},
            "spec.rules.0.matches.0.queryParams.0",
        ),
    ],
    ids=["path", "header", "query"],
)
def test_uncompilable_regular_expression_is_invalid_naming_the_field(
    match: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as invalid:
        RouteSpec.model_validate(_spec(match))
    message = explain(invalid.value)
    assert message.startswith(field), message
    assert "invalid regular expression" in message


def test_the_same_characters_are_fine_where_they_are_not_a_regular_expression() -> None:
    RouteSpec.model_validate(_spec({"headers": [{"name": "x-v", "value": "(a"}]}))
    RouteSpec.model_validate(_spec({"path": {"type": "RegularExpression", "value": "^/v[0-9]+/"}}))
