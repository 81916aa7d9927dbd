"""Injected Pods are real Pods: the controller-manager's Pods are injected, and the API server's
validation and Pod Security Admission at `restricted` accept the sidecar (but not iptables
capture, which docs/injection.md says)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from inject_helpers import container_names, create_pod, pod_body
from inject_process import ENABLED, RESTRICTED, Injector
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from meshgate.inject import names
from meshgate.localcluster.waiting import wait_for


def test_deployment_pods_created_by_the_controller_manager_are_injected(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, ENABLED)
    template = pod_body("web")
    del template["apiVersion"], template["kind"]
    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": template,
            },
        },
    )
    core = client.CoreV1Api(api_client)

    def two_pods() -> list[Any] | None:
        pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
        return pods if len(pods) == 2 else None

    pods = wait_for(two_pods, timeout=60, what="the Deployment's two Pods")
    for pod in pods:
        inits = [c.name for c in pod.spec.init_containers or []]
        assert inits == [names.PROXY_CONTAINER], pod.metadata.name
        assert pod.metadata.labels[names.INJECTED_LABEL] == "true"


def test_injected_pod_is_admitted_by_pod_security_restricted(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, {**ENABLED, **RESTRICTED})
    pod, _ = create_pod(api_client, namespace, pod_body("secure"))
    assert container_names(pod) == ([names.PROXY_CONTAINER], ["app"])


def test_restricted_namespace_refuses_a_pod_that_breaks_it_despite_injection(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    # The control: PSA really enforces here, so the test above proves something.
    label_namespace(namespace, {**ENABLED, **RESTRICTED})
    body = pod_body("loose")
    body["spec"]["containers"][0]["securityContext"] = {}
    with pytest.raises(ApiException) as err:
        create_pod(api_client, namespace, body)
    assert err.value.status == 403
    assert "restricted" in str(err.value.body)


def test_iptables_capture_is_refused_by_restricted_with_our_warning(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, {**ENABLED, **RESTRICTED})
    body = pod_body("transparent", {names.CAPTURE_KEY: names.CAPTURE_IPTABLES})
    with pytest.raises(ApiException) as err:
        create_pod(api_client, namespace, body)
    assert err.value.status == 403
    assert names.CAPTURE_CONTAINER in str(err.value.body)
    assert "NET_ADMIN" in str(err.value.body)


def test_iptables_capture_is_admitted_where_pod_security_allows_it(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, {**ENABLED, "pod-security.kubernetes.io/enforce": "privileged"})
    body = pod_body("transparent", {names.CAPTURE_KEY: names.CAPTURE_IPTABLES})
    pod, _ = create_pod(api_client, namespace, body)
    assert container_names(pod) == ([names.CAPTURE_CONTAINER, names.PROXY_CONTAINER], ["app"])
