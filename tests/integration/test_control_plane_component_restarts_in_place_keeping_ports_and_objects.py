"""`LocalCluster.restart`: a component stopped by its PID comes back on the same ports with the
same data, so clients reconnect to the address they know and nothing stored is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshgate.localcluster import processes
from meshgate.localcluster.cluster import LocalCluster
from meshgate.localcluster.probe import get

pytestmark = pytest.mark.integration


def _config_map(cluster: LocalCluster, name: str) -> int:
    ep = cluster.endpoints()
    assert ep is not None
    status, _ = get(
        f"{ep.server}/api/v1/namespaces/default/configmaps/{name}",
        context=cluster._admin_tls().context(),
    )
    return status


def test_apiserver_and_etcd_restart_in_place(tmp_path: Path, kube_cluster: LocalCluster) -> None:
    from kubernetes import client, config

    # A cluster of its own (the session's binaries): the session's must not blink.
    bin_dir = kube_cluster.recorded_bin_dir()
    with LocalCluster(tmp_path / "cluster", bin_dir, tie_to_parent=True) as cluster:
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map(
            "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="kept"))
        )
        endpoints = cluster.endpoints()
        for component in ("kube-apiserver", "etcd"):
            before = processes.read_record(
                component, cluster._pid_path(component), cluster._log_path(component)
            )
            assert before is not None
            seconds = cluster.restart(component, down_for=0.5)
            after = processes.read_record(
                component, cluster._pid_path(component), cluster._log_path(component)
            )
            assert after is not None
            assert after.pid != before.pid
            assert not processes.is_alive(before)
            assert seconds >= 0.5
            assert cluster.endpoints() == endpoints
            assert cluster.is_running()
            # The same client, on the same address, reads what was stored before.
            assert core.read_namespaced_config_map("kept", "default").metadata.name == "kept"
        assert _config_map(cluster, "kept") == 200
        api.close()


def test_restart_refuses_a_component_it_does_not_know(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown component"):
        LocalCluster(tmp_path).restart("kubelet")
