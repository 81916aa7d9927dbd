"""A generated object whose namespace was deleted under the operator (the API server answers a
server-side apply there with 404) is its owner's error; the other owners' objects are still
written, so one test namespace being torn down never stalls every Gateway's config."""

from __future__ import annotations

from typing import Any, cast

from meshgate.kube.outputs import sync_outputs
from meshgate.kube.rest import NotFound, Rest


class _Rest:
    """Answers applies as the API server does; namespace `gone` no longer exists."""

    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        if meta["namespace"] == "gone":
            raise NotFound(f"/api/v1/namespaces/gone/configmaps/{meta['name']}")
        self.applied.append(f"{meta['namespace']}/{meta['name']}")
        return {**obj, "metadata": {**meta, "resourceVersion": "7"}}


def _config_map(namespace: str, gateway: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"meshgate-gw-{gateway}",
            "namespace": namespace,
            "labels": {"meshgate.io/gateway": gateway},
        },
        "data": {"config.json": "{}"},
    }


def test_an_apply_into_a_deleted_namespace_is_that_gateways_error_and_the_rest_is_written() -> None:
    rest = _Rest()
    desired = [_config_map("gone", "edge"), _config_map("shop", "edge")]
    result = sync_outputs(cast(Rest, rest), desired, {}, frozenset(), {}, force=False)
    assert rest.applied == ["shop/meshgate-gw-edge"]
    assert result.applied == [("ConfigMap", "shop", "meshgate-gw-edge")]
    assert list(result.errors) == ["gone/edge"]
    assert "404" in result.errors["gone/edge"]
