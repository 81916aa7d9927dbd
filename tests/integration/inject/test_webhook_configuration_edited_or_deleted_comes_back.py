"""The injector keeps its MutatingWebhookConfiguration as it applies it: deleted, it comes back
with the same caBundle; a field edited by hand is set back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inject_process import Injector, start_injector
from kubernetes import client

from meshgate.inject import kubeio
from meshgate.localcluster.waiting import wait_for


@pytest.fixture
def own_injector(
    api_client: Any, rest: Any, kubeconfig: str, injector_namespace: str, tmp_path: Path
) -> Iterator[Injector]:
    running = start_injector(
        api_client, kubeconfig, tmp_path, operator_namespace=injector_namespace
    )
    try:
        # The configuration exists before the injector's watch on it is up; a change made in
        # between is seen only at the next resync. The watch has delivered the configuration
        # once (kopf logs its handler) when it is listening.
        wait_for(
            lambda: _WATCH_DELIVERED in running.log.read_text(errors="replace"),
            timeout=60,
            what="the injector's watch of its webhook configuration",
        )
        yield running
    finally:
        running.stop()
        kubeio.delete_webhook_configuration(rest, running.config_name)


_WATCH_DELIVERED = "Handler 'meshgate-mutatingwebhookconfigurations' succeeded"


def _read(api: Any, name: str) -> Any:
    return kubeio.read_webhook_configuration(api, name)


def test_deleted_webhook_configuration_comes_back_with_the_same_ca_bundle(
    api_client: Any, rest: Any, own_injector: Injector
) -> None:
    name = own_injector.config_name
    before = _read(rest, name)
    client.AdmissionregistrationV1Api(api_client).delete_mutating_webhook_configuration(name)

    def recreated() -> Any:
        got = _read(rest, name)
        return (
            got if got is not None and got["metadata"]["uid"] != before["metadata"]["uid"] else None
        )

    after = wait_for(recreated, timeout=30, what="the webhook configuration to come back")
    assert [w["clientConfig"]["caBundle"] for w in after["webhooks"]] == [
        w["clientConfig"]["caBundle"] for w in before["webhooks"]
    ]


def test_hand_edited_webhook_configuration_is_set_back(
    api_client: Any, rest: Any, own_injector: Injector
) -> None:
    name = own_injector.config_name
    client.AdmissionregistrationV1Api(api_client).patch_mutating_webhook_configuration(
        name,
        [
            {"op": "replace", "path": "/webhooks/0/timeoutSeconds", "value": 29},
            {"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"},
        ],
    )

    def set_back() -> bool:
        hook = _read(rest, name)["webhooks"][0]
        return bool(hook["timeoutSeconds"] == 5 and hook["failurePolicy"] == "Fail")

    assert wait_for(set_back, timeout=30, what="the hand edit to be undone")
