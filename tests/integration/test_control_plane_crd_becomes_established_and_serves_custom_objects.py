"""A CRD created on the real API server becomes Established and serves custom objects."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for

pytestmark = pytest.mark.integration


def _crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer", "minimum": 1}},
                                    "required": ["size"],
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def test_crd_becomes_established_and_custom_object_reads_back(
    api_client: ApiClient, namespace: str
) -> None:
    # A group of its own: the CRD is cluster-wide and the cluster may be shared (make up).
    group = f"t{secrets.token_hex(4)}.test.meshgate.io"
    ext = client.ApiextensionsV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    ext.create_custom_resource_definition(_crd(group))
    try:

        def established() -> bool:
            crd = ext.read_custom_resource_definition(f"widgets.{group}")
            conds = crd.status.conditions or []
            return any(c.type == "Established" and c.status == "True" for c in conds)

        wait_for(established, timeout=60, what=f"widgets.{group} to be Established")

        body = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 3},
        }
        custom.create_namespaced_custom_object(group, "v1", namespace, "widgets", body)
        got = custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "w1")
        assert got["spec"] == {"size": 3}
        assert got["metadata"]["uid"]

        # The schema is enforced by the server, so the CRD is really in force.
        bad = {**body, "metadata": {"name": "w2"}, "spec": {"size": 0}}
        with pytest.raises(client.ApiException) as err:
            custom.create_namespaced_custom_object(group, "v1", namespace, "widgets", bad)
        assert err.value.status == 422
    finally:
        ext.delete_custom_resource_definition(f"widgets.{group}")
