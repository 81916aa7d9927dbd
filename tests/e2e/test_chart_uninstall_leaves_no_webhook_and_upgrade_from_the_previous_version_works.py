"""The chart's life cycle on the local control plane, as a user runs it.

`helm uninstall` leaves nothing cluster-wide that still acts: the MutatingWebhookConfiguration
the operator created is garbage-collected with the chart's ClusterRole (its owner), so no Pod
creation anywhere calls a deleted operator; the chart's RBAC is gone. Kept on purpose: the CRDs
and custom resources (`crds.keep`), and what serves traffic in the users' namespaces.

`helm upgrade` from the previous chart version (the last commit of charts/meshgate with another
`version:`, taken from git) to this one: the operator comes back Ready, now owning its webhook
configuration, and reconciles a new Gateway.

The session's release is what this test uninstalls and installs again: it leaves it installed
from this checkout's chart with the same values, as the session fixture made it.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml
from helm_release import CHART, REPO, HelmError, Release

from meshgate.localcluster.waiting import wait_for

WEBHOOK = "meshgate-sidecar-injector"
CHART_PATH = "charts/meshgate"


def _git(*args: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, check=True, timeout=60
    ).stdout


def previous_chart(into: Path) -> tuple[str, Path]:
    """(version, folder) of the chart just before the commit that set its current `version:`
    (its last state under the previous version), from git history."""
    current = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    bump = None
    for line in _git("log", "--format=%H", "--", f"{CHART_PATH}/Chart.yaml").split():
        commit = line.decode()
        chart = yaml.safe_load(_git("show", f"{commit}:{CHART_PATH}/Chart.yaml"))
        if chart["version"] == current:
            bump = commit
            continue
        assert bump is not None, "the checkout's Chart.yaml version is not committed"
        archive = _git("archive", "--format=tar", f"{bump}^", CHART_PATH)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
        old = yaml.safe_load((into / CHART_PATH / "Chart.yaml").read_text())["version"]
        return str(old), into / CHART_PATH
    raise AssertionError(f"no chart version before {current} in git history (a shallow clone?)")


def _get(release: Release, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(release.kubectl_run("get", *args, "-o", "json"))
    return result


def _webhook(release: Release) -> dict[str, Any] | None:
    items = _get(release, "mutatingwebhookconfigurations")["items"]
    return next((w for w in items if w["metadata"]["name"] == WEBHOOK), None)


def _release_objects(release: Release) -> list[str]:
    """Cluster-scoped objects the chart labels as this release's."""
    selector = f"app.kubernetes.io/instance={release.name}"
    found = []
    for kind in ("clusterroles", "clusterrolebindings", "mutatingwebhookconfigurations"):
        for obj in _get(release, kind, "-l", selector)["items"]:
            found.append(f"{kind}/{obj['metadata']['name']}")
    return found


def _ready(release: Release) -> None:
    wait_for(release.ready_operator_pods, timeout=120, what="the operator Pods Ready")


def test_uninstall_removes_the_webhook_and_upgrade_from_the_previous_chart_serves(
    meshgate_release: Release, tmp_path: Path, namespace: str
) -> None:
    release = meshgate_release
    webhook = _webhook(release)
    assert webhook is not None, "the operator applies its webhook configuration at start"
    (owner,) = webhook["metadata"]["ownerReferences"]
    assert owner["kind"] == "ClusterRole"

    release.uninstall()
    try:
        _uninstalled_then_upgraded(release, owner, tmp_path, namespace)
    except BaseException:
        # Whatever failed, the session gets its release back as it made it.
        with contextlib.suppress(HelmError):
            release.uninstall()
        release.install()
        _ready(release)
        _injecting(release, namespace)
        raise


def _uninstalled_then_upgraded(
    release: Release, owner: dict[str, Any], tmp_path: Path, namespace: str
) -> None:
    wait_for(
        lambda: _webhook(release) is None,
        timeout=60,
        what=f"the garbage collector to delete {WEBHOOK} with ClusterRole {owner['name']}",
    )
    assert _release_objects(release) == []
    wait_for(lambda: not release.operator_pods(), timeout=60, what="the operator Pods gone")

    version, old_chart = previous_chart(tmp_path)
    release.install(old_chart)
    _ready(release)
    wait_for(lambda: _webhook(release) is not None, timeout=60, what="the old chart's webhook")

    release.upgrade()
    current = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    assert [(r["revision"], r["chart"], r["status"]) for r in release.history()] == [
        (1, f"meshgate-{version}", "superseded"),
        (2, f"meshgate-{current}", "deployed"),
    ]
    _ready(release)

    def owned() -> dict[str, Any] | None:
        hook = _webhook(release)
        return hook if hook and hook["metadata"].get("ownerReferences") else None

    upgraded = wait_for(owned, timeout=60, what="the upgraded operator to own its webhook")
    assert upgraded["metadata"]["ownerReferences"][0]["kind"] == "ClusterRole"

    # The upgraded operator reconciles: a new Gateway is Programmed.
    release.kubectl_run(
        "apply",
        "-n",
        namespace,
        "-f",
        str(REPO / "tests" / "e2e" / "scenarios" / "edge_api_versions" / "gateway.yaml"),
    )

    def programmed() -> bool:
        gw = _get(release, "gateways.meshgate.io", "edge", "-n", namespace)
        return any(
            c["type"] == "Programmed" and c["status"] == "True"
            for c in (gw.get("status") or {}).get("conditions") or []
        )

    wait_for(programmed, timeout=60, what="the Gateway Programmed after the upgrade")
    _injecting(release, namespace)


def _injecting(release: Release, namespace: str) -> None:
    """The API server calls the (new) operator's injector again: what the next tests need."""
    release.kubectl_run("label", "namespace", namespace, "meshgate.io/inject=enabled")
    wait_for(lambda: release.injects(namespace), timeout=120, what="Pods injected again")
