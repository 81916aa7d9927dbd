"""With the injector stopped, the documented failure policy holds: a labelled namespace refuses
new Pods (`Fail`: nothing joins un-meshed), other namespaces keep admitting them (`Ignore`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inject_helpers import container_names, create_pod, pod_body
from inject_process import ENABLED, Injector, start_injector
from kubernetes.client.exceptions import ApiException

from meshgate.inject import kubeio


@pytest.fixture
def stopped_injector(
    api_client: Any, rest: Any, kubeconfig: str, tmp_path: Path, injector_namespace: str
) -> Iterator[Injector]:
    """An injector that registered its webhooks and then died: the configuration stays."""
    stopped = start_injector(
        api_client, kubeconfig, tmp_path, operator_namespace=injector_namespace
    )
    stopped.stop()
    try:
        yield stopped
    finally:
        kubeio.delete_webhook_configuration(rest, stopped.config_name)


def test_labelled_namespace_refuses_pods_while_the_injector_is_down(
    api_client: Any,
    namespace: str,
    stopped_injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
) -> None:
    label_namespace(namespace, ENABLED)
    with pytest.raises(ApiException) as err:
        create_pod(api_client, namespace, pod_body("web"))
    assert err.value.status == 500
    assert "namespace.inject.meshgate.io" in str(err.value.body)


def test_other_namespaces_admit_pods_while_the_injector_is_down(
    api_client: Any, namespace: str, stopped_injector: Injector
) -> None:
    pod, _ = create_pod(api_client, namespace, pod_body("bystander"))
    assert container_names(pod) == ([], ["app"])
