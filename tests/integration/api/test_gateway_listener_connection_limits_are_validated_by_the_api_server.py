"""Gateway listener `connectionLimits` against the real API server: accepted when listeners that
share a port agree, refused (naming the rule) when they do not, and every field's bound
enforced."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient
from meshgate_apply import Rejected, apply

pytestmark = pytest.mark.usefixtures("meshgate_crds")


def gateway(name: str, *listeners: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "Gateway",
        "metadata": {"name": name},
        "spec": {"listeners": list(listeners)},
    }


def listener(name: str, hostname: str, **limits: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "port": 8080, "protocol": "HTTP", "hostname": hostname}
    if limits:
        body["connectionLimits"] = limits
    return body


def test_listeners_sharing_a_port_with_the_same_limits_are_accepted(
    api_client: ApiClient, module_namespace: str
) -> None:
    limits = {"headerTimeout": "5s", "maxConnectionsPerClient": 256, "sendTimeout": "1m"}
    stored = apply(
        api_client,
        gateway("same", listener("a", "a.example.com", **limits),
                listener("b", "b.example.com", **limits)),
        module_namespace,
    )  # fmt: skip
    assert stored["spec"]["listeners"][0]["connectionLimits"] == limits


@pytest.mark.parametrize(
    ("first", "second"),
    [({"headerTimeout": "5s"}, {"headerTimeout": "6s"}), ({"maxConnections": 10}, {})],
    ids=["different values", "one without"],
)
def test_listeners_sharing_a_port_with_different_limits_are_refused(
    api_client: ApiClient, module_namespace: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    with pytest.raises(Rejected) as rejected:
        apply(
            api_client,
            gateway("differ", listener("a", "a.example.com", **first),
                    listener("b", "b.example.com", **second)),
            module_namespace,
        )  # fmt: skip
    assert "listeners that share a port must set the same connectionLimits" in (
        rejected.value.message
    )


@pytest.mark.parametrize(
    ("limits", "want"),
    [
        ({"writeBufferBytes": 100}, "should be greater than or equal to 4096"),
        ({"maxPendingRequests": -1}, "should be greater than or equal to 0"),
        ({"bodyTimeout": "soon"}, "bodyTimeout"),
        ({"maxConections": 5}, "connectionLimits.maxConections: field not declared in schema"),
    ],
    ids=["write buffer too small", "negative cap", "not a duration", "misspelt field"],
)
def test_a_bad_limit_is_refused_naming_the_field(
    api_client: ApiClient, module_namespace: str, limits: dict[str, Any], want: str
) -> None:
    with pytest.raises(Rejected) as rejected:
        apply(
            api_client, gateway("bad", listener("a", "a.example.com", **limits)), module_namespace
        )
    assert want in rejected.value.message, rejected.value.message
