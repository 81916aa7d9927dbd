"""The real API server calls the injector: labelled namespaces and opted-in Pods come back with
the sidecar, everything else comes back as sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inject_helpers import container_names, create_pod, pod_body
from inject_process import ENABLED, Injector

from meshgate.inject import names


def test_pod_in_labelled_namespace_comes_back_injected(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, ENABLED)
    pod, _ = create_pod(api_client, namespace, pod_body("web"))
    inits, containers = container_names(pod)
    assert inits == [names.PROXY_CONTAINER]
    assert containers == ["app"]
    assert pod["spec"]["initContainers"][0]["restartPolicy"] == "Always"
    assert pod["metadata"]["labels"][names.INJECTED_LABEL] == "true"
    assert names.INJECTED_VERSION_ANNOTATION in pod["metadata"]["annotations"]
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["HTTP_PROXY"] == "http://127.0.0.1:15001"
    volumes = {v["name"] for v in pod["spec"]["volumes"]}
    assert volumes >= names.OUR_VOLUMES


def test_unlabelled_namespace_is_untouched(
    api_client: Any, namespace: str, injector: Injector
) -> None:
    pod, _ = create_pod(api_client, namespace, pod_body("bystander"))
    assert container_names(pod) == ([], ["app"])
    assert names.INJECTED_LABEL not in pod["metadata"]["labels"]


def test_pod_annotation_opts_in_outside_labelled_namespaces(
    api_client: Any, namespace: str, injector: Injector
) -> None:
    pod, _ = create_pod(api_client, namespace, pod_body("single", {names.INJECT_KEY: "true"}))
    assert container_names(pod) == ([names.PROXY_CONTAINER], ["app"])


def test_pod_annotation_opts_out_of_a_labelled_namespace(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, ENABLED)
    pod, _ = create_pod(api_client, namespace, pod_body("outside", {names.INJECT_KEY: "false"}))
    assert container_names(pod) == ([], ["app"])


def test_host_network_pod_is_skipped_with_an_admission_warning(
    api_client: Any,
    namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, ENABLED)
    pod, warning = create_pod(api_client, namespace, pod_body("agent", hostNetwork=True))
    assert container_names(pod) == ([], ["app"])
    assert "hostNetwork" in warning
