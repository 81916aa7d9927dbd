"""`kubectl exec` and `kubectl logs` through the real API server reach a container of the local
node: the API server dials the Node's kubelet endpoint (`kubelet-api`, started by the agent),
which runs the command with the container's environment and reports its stdout, stderr and exit
code, and serves the container's log."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from harness.kubeletapi import DEFAULT_BINARY, PORT
from harness.session import NodeAgent
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "shell"},
    "spec": {
        "terminationGracePeriodSeconds": 2,
        "containers": [
            {
                "name": "app",
                "image": "meshgate.local/echo:latest",
                "env": [{"name": "PORT", "value": "8080"}, {"name": "GREETING", "value": "hi"}],
            }
        ],
    },
}


def _run(kubectl: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kubectl), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _running(core: client.CoreV1Api, namespace: str) -> bool:
    pod = core.read_namespaced_pod("shell", namespace)
    return any(s.state.running for s in pod.status.container_statuses or [])


def test_exec_returns_stdout_stderr_and_exit_code_and_logs_return_the_containers_output(
    node_agent: NodeAgent, api_client: ApiClient, kubeconfig: str, kubectl: Path, namespace: str
) -> None:
    if not DEFAULT_BINARY.is_file():
        pytest.fail(f"{DEFAULT_BINARY} is not built: run `make harness-bins` (needs Go)")
    core = client.CoreV1Api(api_client)
    node = core.read_node("meshgate-local-node")
    assert node.status.daemon_endpoints.kubelet_endpoint.port == PORT
    core.create_namespaced_pod(namespace, POD)
    wait_for(lambda: _running(core, namespace), timeout=60, what="the shell Pod running")
    kc = f"--kubeconfig={kubeconfig}"

    script = 'echo "out $HOSTNAME $GREETING"; echo err >&2; exit 3'
    done = _run(
        kubectl, kc, "exec", "-n", namespace, "shell", "-c", "app", "--", "sh", "-c", script
    )

    assert (done.stdout, done.returncode) == ("out shell hi\n", 3), done
    assert done.stderr.startswith("err\n"), done.stderr

    failed = _run(kubectl, kc, "exec", "-n", namespace, "shell", "--", "false")
    assert (failed.stdout, failed.returncode) == ("", 1), failed

    def logged() -> str | None:
        out = _run(kubectl, kc, "logs", "-n", namespace, "shell", "-c", "app")
        return out.stdout if out.returncode == 0 and "listening on" in out.stdout else None

    text = wait_for(logged, timeout=30, what="kubectl logs to show the echo app's start line")
    assert "echo: pod shell listening on" in text
