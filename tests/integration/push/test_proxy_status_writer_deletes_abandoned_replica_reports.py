"""Replicas come and go (a rollout gives every operator Pod a new name): the proxy status writer of
any live replica deletes the reports of replicas gone long ago, keeps those of replicas that are
merely late, and publishes its own, against the real API server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.kube.rest import Rest
from meshgate.push.server import ConfigServer
from meshgate.push.status import ABANDONED_SECONDS, report_body, report_name
from meshgate.push.status_writer import StatusWriter


def _names(core: client.CoreV1Api, namespace: str) -> set[str]:
    listed = core.list_namespaced_config_map(namespace)
    return {cm.metadata.name for cm in listed.items if cm.metadata.name.startswith("meshgate-")}


def test_abandoned_reports_are_deleted_and_late_ones_kept(
    api_client: ApiClient, rest: Rest, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    now = datetime.now(UTC)
    gone = report_body("198.18.0.9", namespace, {}, now - timedelta(seconds=ABANDONED_SECONDS + 60))
    late = report_body("198.18.0.8", namespace, {}, now - timedelta(seconds=120))
    for body in (gone, late):
        core.create_namespaced_config_map(namespace, body)

    writer = StatusWriter(ConfigServer("cluster.local"), rest, namespace, "198.18.0.2")
    writer.once()

    assert _names(core, namespace) == {report_name("198.18.0.8"), report_name("198.18.0.2")}
