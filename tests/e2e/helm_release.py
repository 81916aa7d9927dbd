"""meshgate installed the way users install it: `helm install` of `charts/meshgate`.

The e2e session installs the chart once with `charts/meshgate/ci/local-runner-values.yaml`, so
the operator Deployment's Pods run through the node agent as local `meshgate operator`
processes. This module must never apply meshgate's CRDs or run the operator by itself: the chart
does both, and the chart is what is tested.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshgate.localcluster.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "meshgate"
LOCAL_VALUES = CHART / "ci" / "local-runner-values.yaml"
RELEASE = "meshgate"
NAMESPACE = "meshgate-system"
OPERATOR_SELECTOR = "app.kubernetes.io/name=meshgate,app.kubernetes.io/component=operator"
INJECT_LABEL = "meshgate.io/inject"
# Never holds a Pod: only server-side dry runs are created in it.
INJECTION_PROBE_NAMESPACE = "meshgate-e2e-injection-probe"


class HelmError(RuntimeError):
    """A helm command failed; the message carries its output."""


@dataclass(frozen=True)
class Release:
    helm: Path
    kubectl: Path
    kubeconfig: str
    name: str = RELEASE
    namespace: str = NAMESPACE
    # More `--set key=value` for `install`, after the local runner values.
    settings: tuple[str, ...] = ()

    def _run(self, tool: Path, *args: str, timeout: float = 180.0) -> str:
        argv = [str(tool), f"--kubeconfig={self.kubeconfig}", *args]
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO
        )
        if proc.returncode != 0:
            raise HelmError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc.stdout

    def install(self, chart: Path = CHART) -> str:
        """`helm install` with the local runner values; returns what helm printed (NOTES)."""
        return self._run(
            self.helm,
            "install", self.name, str(chart),
            "--namespace", self.namespace, "--create-namespace",
            "--values", str(chart / "ci" / LOCAL_VALUES.name),
            "--set", f"localRunner.kubeconfig={self.kubeconfig}",
        )  # fmt: skip

    def upgrade(self, chart: Path = CHART) -> str:
        """`helm upgrade` to `chart` with the local runner values, waiting for nothing."""
        return self._run(
            self.helm,
            "upgrade", self.name, str(chart),
            "--namespace", self.namespace,
            "--values", str(chart / "ci" / LOCAL_VALUES.name),
            "--set", f"localRunner.kubeconfig={self.kubeconfig}",
            *(arg for setting in self.settings for arg in ("--set", setting)),
        )  # fmt: skip

    def uninstall(self) -> str:
        return self._run(self.helm, "uninstall", self.name, "--namespace", self.namespace, "--wait")

    def status(self) -> dict[str, Any]:
        out = self._run(self.helm, "status", self.name, "--namespace", self.namespace, "-o", "json")
        result: dict[str, Any] = json.loads(out)
        return result

    def history(self) -> list[dict[str, Any]]:
        """`helm history`: each revision's number, chart (name-version) and status."""
        out = self._run(
            self.helm, "history", self.name, "--namespace", self.namespace, "-o", "json"
        )
        result: list[dict[str, Any]] = json.loads(out)
        return result

    def kubectl_run(self, *args: str, timeout: float = 60.0) -> str:
        return self._run(self.kubectl, *args, timeout=timeout)

    def injects(self, namespace: str) -> bool:
        """Whether the API server now calls the injector for a Pod created in `namespace` (a
        server-side dry run: the webhook answers, nothing is stored). The operator reports Ready
        before the API server has seen the webhook configuration it registers."""
        probe = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"generateName": "injection-probe-"},
            "spec": {"containers": [{"name": "probe", "image": "meshgate.local/echo:latest"}]},
        }
        proc = subprocess.run(
            [
                *(str(self.kubectl), f"--kubeconfig={self.kubeconfig}", "create"),
                *("--dry-run=server", "-n", namespace, "-o", "json", "-f", "-"),
            ],
            input=json.dumps(probe),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            return False
        pod = json.loads(proc.stdout)
        init = [c.get("name") for c in pod.get("spec", {}).get("initContainers") or []]
        plain = [c.get("name") for c in pod.get("spec", {}).get("containers") or []]
        return "meshgate-proxy" in init + plain

    def wait_until_injecting(self, timeout: float) -> None:
        """Until a dry-run Pod in a labelled namespace comes back with its sidecar: a namespace
        and its Deployments applied together must have every Pod meet the webhook, which the API
        server learns of a moment after the operator's Ready. Raises WaitTimeout."""
        self.kubectl_run("create", "namespace", INJECTION_PROBE_NAMESPACE)
        self.kubectl_run("label", "namespace", INJECTION_PROBE_NAMESPACE, f"{INJECT_LABEL}=enabled")
        try:
            wait_for(
                lambda: self.injects(INJECTION_PROBE_NAMESPACE),
                timeout=timeout,
                what="a dry-run Pod in a labelled namespace to come back with its sidecar",
            )
        finally:
            self.kubectl_run("delete", "namespace", INJECTION_PROBE_NAMESPACE, "--wait=false")

    def scale_operator(self, replicas: int) -> None:
        self.kubectl_run(
            "scale", "deployment", self.name, "-n", self.namespace, f"--replicas={replicas}"
        )

    def operator_pods(self) -> list[dict[str, Any]]:
        out = self.kubectl_run(
            "get", "pods", "-n", self.namespace, "-l", OPERATOR_SELECTOR, "-o", "json"
        )
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items

    def wanted_replicas(self) -> int:
        out = self.kubectl_run("get", "deployment", self.name, "-n", self.namespace, "-o", "json")
        return int(json.loads(out)["spec"]["replicas"])

    def ready_operator_pods(self) -> list[dict[str, Any]] | None:
        """Every wanted operator Pod, Running and Ready and not terminating; else None."""
        wanted = self.wanted_replicas()
        pods = [p for p in self.operator_pods() if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in pods if pod_is_ready(p)]
        return ready if len(ready) == wanted == len(pods) else None


def pod_is_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
