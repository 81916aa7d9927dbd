"""Where meshgate finds the API server and how it proves who it is: the one credential source of
the operator (its `Rest` client and kopf's login alike) and of the CLI.

The order is kubectl's: a kubeconfig named explicitly (argument or `$KUBECONFIG`) wins, since a
process given one means it; otherwise the Pod's ServiceAccount when running in a cluster; else
`~/.kube/config`. A kubeconfig may name a CA, a client certificate and key (files or inline data),
a bearer token (inline or a file), a user name and password, or an `exec` credential plugin (as
cloud providers' kubeconfigs do). A ServiceAccount token is a file the kubelet rotates: it is read
again when used, never kept for the process's life.

Reads files and runs the exec plugin; never logs what it reads. Key material stays in memory: an
SSL context loads a client key from a file only, so `ssl_context` writes it to a private
temporary file for the moment of loading and removes it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
# How long a token read from a file is used before the file is read again (the kubelet rotates
# ServiceAccount tokens well before they expire; the Kubernetes clients re-read every minute).
TOKEN_FILE_SECONDS = 60.0
EXEC_SECONDS = 60.0


class CredentialsError(Exception):
    """No usable credentials; the message says what is missing or unreadable (never a secret)."""


@dataclass(frozen=True)
class Credentials:
    """An API server and how to authenticate to it. PEM text, never base64."""

    server: str
    ca_file: str | None = None
    ca_pem: str | None = None
    insecure: bool = False
    cert_pem: str | None = None
    key_pem: str | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    namespace: str | None = None
    # Where these came from, so they can be loaded again (a rotated token, kopf's re-login).
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    _token_cache: list[tuple[float, str]] = field(default_factory=list, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def bearer(self, now: float | None = None) -> str | None:
        """The bearer token now: the inline one, or the token file's content, read again once
        `TOKEN_FILE_SECONDS` have passed since it was last read."""
        if self.token or not self.token_file:
            return self.token
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._token_cache and now - self._token_cache[0][0] < TOKEN_FILE_SECONDS:
                return self._token_cache[0][1]
            token = Path(self.token_file).read_text(encoding="utf-8").strip()
            self._token_cache[:] = [(now, token)]
            return token

    def headers(self) -> dict[str, str]:
        token = self.bearer()
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file, cadata=self.ca_pem)
        if self.cert_pem and self.key_pem:
            with _private_file(self.cert_pem) as cert, _private_file(self.key_pem) as key:
                context.load_cert_chain(certfile=cert, keyfile=key)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def reload(self) -> Credentials:
        """The same source read again (kubeconfig files, the exec plugin, the token file)."""
        if self.in_cluster:
            found = in_cluster()
            if found is not None:
                return found
        return load(self.kubeconfig, self.context)


def load(kubeconfig: str | None = None, context: str | None = None) -> Credentials:
    """kubectl's order: an explicit kubeconfig, else the ServiceAccount, else ~/.kube/config."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or None
    if path is None and context is None:
        found = in_cluster()
        if found is not None:
            return found
    return from_kubeconfig(path or DEFAULT_KUBECONFIG, context)


def in_cluster(root: Path | None = None) -> Credentials | None:
    """The Pod's ServiceAccount, or None outside a Pod."""
    root = root or SERVICE_ACCOUNT
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    token = root / "token"
    if not host or not port or not token.exists():
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    ca = root / "ca.crt"
    namespace = root / "namespace"
    return Credentials(
        server=f"https://{host}:{port}",
        ca_file=str(ca) if ca.exists() else None,
        token_file=str(token),
        namespace=namespace.read_text(encoding="utf-8").strip() if namespace.exists() else None,
        in_cluster=True,
    )


def kubeconfig_files(path: str) -> list[Path]:
    """`$KUBECONFIG` is a list (`:`-separated); the files that exist, in order."""
    files = [Path(p).expanduser() for p in path.split(os.pathsep) if p]
    return [f for f in files if f.exists()]


def merged_kubeconfig(path: str) -> dict[str, Any]:
    """kubectl's merge: the first file naming a cluster, user, context or current-context wins."""
    files = kubeconfig_files(path)
    if not files:
        raise CredentialsError(f"kubeconfig {path}: no such file")
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    for f in files:
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CredentialsError(f"kubeconfig {f}: unreadable ({type(exc).__name__})") from None
        merged["current-context"] = merged["current-context"] or doc.get("current-context") or ""
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in doc.get(section) or []:
                item = dict(entry.get(key) or {})
                item["__dir__"] = str(f.parent)
                merged[section].setdefault(entry.get("name"), item)
    return merged


def context_namespace(kubeconfig: str | None = None, context: str | None = None) -> str | None:
    """The namespace a kubeconfig context names (kubectl's default for `-n`), if any."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    try:
        merged = merged_kubeconfig(path)
    except CredentialsError:
        return None
    name = context or merged["current-context"]
    return (merged["contexts"].get(name) or {}).get("namespace") or None


def from_kubeconfig(path: str, context: str | None = None) -> Credentials:
    merged = merged_kubeconfig(path)
    name = context or merged["current-context"]
    if not name:
        raise CredentialsError(f"kubeconfig {path}: no current-context and none asked for")
    ctx = merged["contexts"].get(name)
    if ctx is None:
        raise CredentialsError(f"kubeconfig {path}: no context {name!r}")
    cluster = merged["clusters"].get(ctx.get("cluster"))
    if cluster is None or not cluster.get("server"):
        raise CredentialsError(f"kubeconfig {path}: context {name!r} names no cluster server")
    user = merged["users"].get(ctx.get("user")) or {}
    if user.get("auth-provider"):
        raise CredentialsError(
            f"kubeconfig {path}: user {ctx.get('user')!r} uses an auth-provider, which meshgate "
            "does not run: use an exec credential plugin"
        )
    fields: dict[str, Any] = {
        "server": str(cluster["server"]),
        "ca_file": _path(cluster, "certificate-authority"),
        "ca_pem": _inline(cluster, "certificate-authority-data"),
        "insecure": bool(cluster.get("insecure-skip-tls-verify")),
        "cert_pem": _inline(user, "client-certificate-data") or _read(user, "client-certificate"),
        "key_pem": _inline(user, "client-key-data") or _read(user, "client-key"),
        "token": user.get("token") or None,
        "token_file": _path(user, "tokenFile"),
        "username": user.get("username"),
        "password": user.get("password"),
        "namespace": ctx.get("namespace") or None,
        "kubeconfig": path,
        "context": context,
    }
    if user.get("exec"):
        fields.update(exec_credential(user["exec"]))
    return Credentials(**fields)


def exec_credential(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run a kubeconfig's exec credential plugin (client.authentication.k8s.io ExecCredential):
    its token, or its client certificate and key."""
    command = [str(spec.get("command") or ""), *(str(a) for a in spec.get("args") or [])]
    env = {**os.environ, **{str(e["name"]): str(e["value"]) for e in spec.get("env") or []}}
    api_version = str(spec.get("apiVersion") or "client.authentication.k8s.io/v1")
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    )
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, timeout=EXEC_SECONDS, check=True
        )
        status = json.loads(done.stdout).get("status") or {}
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise CredentialsError(
            f"exec credential plugin {command[0]!r} failed ({type(exc).__name__})"
        ) from None
    found: dict[str, Any] = {}
    if status.get("token"):
        found["token"] = str(status["token"])
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        found["cert_pem"] = str(status["clientCertificateData"])
        found["key_pem"] = str(status["clientKeyData"])
    if not found:
        raise CredentialsError(f"exec credential plugin {command[0]!r} gave no credential")
    return found


def _path(section: Mapping[str, Any], key: str) -> str | None:
    value = section.get(key)
    if not value:
        return None
    return str(Path(section["__dir__"], str(value)).expanduser())


def _read(section: Mapping[str, Any], key: str) -> str | None:
    path = _path(section, key)
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise CredentialsError(f"kubeconfig {key} {path}: {exc.strerror}") from None


def _inline(section: Mapping[str, Any], key: str) -> str | None:
    value = section.get(key)
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True).decode("ascii")
    except ValueError:
        raise CredentialsError(f"kubeconfig {key}: not base64") from None


@contextlib.contextmanager
def _private_file(text: str) -> Iterator[str]:
    fd, name = tempfile.mkstemp(prefix="meshgate-")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        yield name
    finally:
        os.unlink(name)
