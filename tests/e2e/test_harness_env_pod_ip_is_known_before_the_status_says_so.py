"""A container asking for `status.podIP` through the downward API gets its Pod's address even
when the Pod body it was started from has no status yet (the agent publishes it afterwards):
the chart's webhook listen address depends on it."""

from __future__ import annotations

from harness.commands import environment


def test_status_pod_ip_env_is_the_allocated_address_on_a_fresh_pod() -> None:
    pod = {"metadata": {"name": "op-1", "namespace": "meshgate-system"}, "spec": {}, "status": {}}
    container = {
        "name": "operator",
        "env": [
            {"name": "LISTEN", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
    }

    env = environment(pod, container, "198.18.7.9", {}, {})

    assert env["LISTEN"] == "198.18.7.9"
    assert env["NAME"] == "op-1"
