"""Two injector replicas behind one address (as behind the webhook Service) end with one Secret
and one caBundle, and a Pod is injected whichever of them answers, across restarts, without the
caBundle changing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from inject_helpers import container_names, create_pod, pod_body
from inject_process import ENABLED, Injector, start_injector
from kubernetes import client

from meshgate.inject import kubeio, names, webhook_config
from meshgate.localcluster.ports import free_ports
from meshgate.localcluster.waiting import wait_for

SECRET = "meshgate-webhook-tls"


@pytest.fixture
def replicas(api_client: Any, rest: Any) -> Iterator[list[Injector]]:
    """Every injector the test starts; all stopped by PID, their configuration deleted."""
    started: list[Injector] = []
    try:
        yield started
    finally:
        for injector in started:
            injector.stop()
        if started:
            kubeio.delete_webhook_configuration(rest, started[0].config_name)


def _ca_bundles(api: Any, config_name: str) -> set[str]:
    return webhook_config.ca_bundles(kubeio.read_webhook_configuration(api, config_name))


def _secret(api: Any, namespace: str) -> Any:
    return kubeio.read_secret(api, namespace, SECRET)


def _answered(injector: Injector, namespace: str, pod: str) -> bool:
    """Whether this injector's log (JSON lines, kopf's format) has a webhook call for the Pod."""
    for line in injector.log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        about = record.get("object") or {}
        if str(record.get("message", "")).startswith("Webhook") and (
            about.get("namespace"),
            about.get("name"),
        ) == (namespace, pod):
            return True
    return False


def test_two_injectors_keep_one_secret_and_one_ca_bundle_and_either_one_injects(
    api_client: Any,
    rest: Any,
    kubeconfig: str,
    namespace: str,
    injector_namespace: str,
    label_namespace: Callable[[str, dict[str, str]], None],
    replicas: list[Injector],
    tmp_path: Path,
) -> None:
    label_namespace(namespace, ENABLED)
    (port,) = free_ports(1)
    config = f"meshgate-injector-replicas-{port}"

    def start(_: int = 0) -> Injector:
        injector = start_injector(
            api_client,
            kubeconfig,
            tmp_path,
            operator_namespace=injector_namespace,
            port=port,
            config_name=config,
        )
        replicas.append(injector)
        return injector

    # Both start at once, so both may find no Secret and race to create it.
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(start, range(2))

    listed: Any = client.CoreV1Api(api_client).list_namespaced_secret(injector_namespace)
    assert [s.metadata.name for s in listed.items] == [SECRET]
    secret = _secret(rest, injector_namespace)
    bundle = _ca_bundles(rest, config)
    assert bundle == {secret["data"]["ca.crt"]}

    first.stop()
    pod, _ = create_pod(api_client, namespace, pod_body("second-answers"))
    assert names.PROXY_CONTAINER in container_names(pod)[0]
    assert _answered(second, namespace, "second-answers")

    again = start()
    second.stop()
    pod, _ = create_pod(api_client, namespace, pod_body("restarted-first-answers"))
    assert names.PROXY_CONTAINER in container_names(pod)[0]
    assert _answered(again, namespace, "restarted-first-answers")

    # A restart reads the Secret: neither the caBundle nor the Secret changed.
    assert _ca_bundles(rest, config) == bundle
    assert _secret(rest, injector_namespace) == secret


def test_a_deleted_secret_gives_a_new_ca_that_the_configuration_follows(
    api_client: Any,
    rest: Any,
    kubeconfig: str,
    namespace: str,
    injector_namespace: str,
    label_namespace: Callable[[str, dict[str, str]], None],
    replicas: list[Injector],
    tmp_path: Path,
) -> None:
    label_namespace(namespace, ENABLED)
    injector = start_injector(
        api_client,
        kubeconfig,
        tmp_path,
        operator_namespace=injector_namespace,
        check_seconds=1.0,
    )
    replicas.append(injector)
    before = _ca_bundles(rest, injector.config_name)
    client.CoreV1Api(api_client).delete_namespaced_secret(SECRET, injector_namespace)

    def new_bundle() -> set[str] | None:
        now = _ca_bundles(rest, injector.config_name)
        return now if now != before else None

    after = wait_for(new_bundle, timeout=30, what="the configuration to carry the new CA")
    assert after == {_secret(rest, injector_namespace)["data"]["ca.crt"]}

    # The served certificate follows too (the server reloads its file within seconds).
    def injected() -> bool:
        try:
            pod, _ = create_pod(api_client, namespace, pod_body("after-new-ca"))
        except client.ApiException as e:
            if e.status == 500:  # still serving the old leaf: TLS fails, policy Fail refuses
                return False
            raise
        return names.PROXY_CONTAINER in container_names(pod)[0]

    assert wait_for(injected, timeout=30, what="a Pod injected under the new CA")
