"""Where the operator and the CLI find their credentials: kubectl's order (an explicit kubeconfig,
else the Pod's ServiceAccount, else ~/.kube/config), kubeconfig files merged as kubectl merges
them, paths relative to their file, inline data decoded, an exec plugin run, and a ServiceAccount
token read again once the kubelet may have rotated it. kopf's login is built from the same."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import pytest
import yaml

from meshgate.handlers.startup import connection_info
from meshgate.kube import credentials
from meshgate.kube.credentials import CredentialsError, load


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


Section = dict[str, dict[str, object]]


def _kubeconfig(
    path: Path, *, current: str, contexts: Section, clusters: Section, users: Section
) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "current-context": current,
                "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
                "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
                "users": [{"name": n, "user": u} for n, u in users.items()],
            }
        )
    )
    return path


@pytest.fixture
def service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "sa"
    root.mkdir()
    (root / "token").write_text("sa-token-1\n")
    (root / "ca.crt").write_text("CA")
    (root / "namespace").write_text("mesh-ops")
    monkeypatch.setattr(credentials, "SERVICE_ACCOUNT", root)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return root


def test_in_a_pod_the_service_account_is_used_and_its_token_read_again_later(
    service_account: Path,
) -> None:
    found = load()
    assert (found.server, found.namespace, found.in_cluster) == (
        "https://[fd00::1]:443",
        "mesh-ops",
        True,
    )
    assert found.bearer(now=100.0) == "sa-token-1"
    (service_account / "token").write_text("sa-token-2\n")  # the kubelet rotated it
    assert found.bearer(now=110.0) == "sa-token-1"
    assert found.bearer(now=100.0 + credentials.TOKEN_FILE_SECONDS) == "sa-token-2"
    assert connection_info(found).token == "sa-token-2"


def test_an_explicit_kubeconfig_wins_over_the_service_account(
    service_account: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "client.crt").write_text("-----BEGIN CERTIFICATE-----\nC\n")
    path = _kubeconfig(
        tmp_path / "config",
        current="dev",
        contexts={"dev": {"cluster": "c", "user": "u", "namespace": "team"}},
        clusters={
            "c": {"server": "https://198.18.0.1:6443", "certificate-authority-data": _b64("CA PEM")}
        },
        users={"u": {"client-certificate": "certs/client.crt", "client-key-data": _b64("KEY PEM")}},
    )  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(path))
    found = load()
    assert not found.in_cluster
    assert (found.server, found.ca_pem, found.key_pem) == (
        "https://198.18.0.1:6443",
        "CA PEM",
        "KEY PEM",
    )
    assert found.cert_pem == "-----BEGIN CERTIFICATE-----\nC\n"  # relative to the kubeconfig
    assert credentials.context_namespace() == "team"
    login = connection_info(found)
    assert (login.server, login.ca_data, login.private_key_data, login.default_namespace) == (
        "https://198.18.0.1:6443", "CA PEM", "KEY PEM", "team")  # fmt: skip


def test_kubeconfig_files_merge_with_the_first_naming_a_context_winning(tmp_path: Path) -> None:
    first = _kubeconfig(
        tmp_path / "a", current="", contexts={"x": {"cluster": "one", "user": "u"}},
        clusters={"one": {"server": "https://first"}}, users={"u": {"token": "t1"}},
    )  # fmt: skip
    second = _kubeconfig(
        tmp_path / "b", current="x", contexts={"x": {"cluster": "two", "user": "u"}},
        clusters={"two": {"server": "https://second"}}, users={"u": {"token": "t2"}},
    )  # fmt: skip
    found = load(f"{first}{os.pathsep}{second}")
    assert (found.server, found.bearer()) == ("https://first", "t1")
    with pytest.raises(CredentialsError, match="no context 'y'"):
        load(str(first), "y")


def test_an_exec_plugin_gives_the_token(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    status = {"kind": "ExecCredential", "status": {"token": "from-plugin"}}
    asked = "assert os.environ['KUBERNETES_EXEC_INFO']"
    plugin.write_text(f"import json, os\n{asked}\nprint(json.dumps({status!r}))\n")
    path = _kubeconfig(
        tmp_path / "config", current="c", contexts={"c": {"cluster": "c", "user": "u"}},
        clusters={"c": {"server": "https://198.18.0.1"}},
        users={"u": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                              "command": sys.executable, "args": [str(plugin)]}}},
    )  # fmt: skip
    assert load(str(path)).headers() == {"Authorization": "Bearer from-plugin"}
