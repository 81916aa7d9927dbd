"""The injector as a kopf subprocess for integration tests: started, awaited, stopped by PID.

Each start registers a webhook configuration under a fresh name, which the caller deletes, so an
injector never outlives its tests in the shared cluster; its serving identity's Secret lives in
the operator namespace the caller gives (and deletes). Two injectors given the same port both
listen on it (the admission server sets SO_REUSEPORT) and the kernel hands each connection to
one of them, as a Service would: that is how the tests run two replicas behind one URL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from meshgate.localcluster.ports import free_ports
from meshgate.localcluster.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Injector:
    proc: subprocess.Popen[bytes]
    port: int
    config_name: str
    log: Path
    operator_namespace: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (any address), from the kernel's tables."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            for line in list(f)[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a socket listening on `port`: with SO_REUSEPORT,
    another injector answering on the port says nothing about this one."""
    inodes = _listening_inodes(port)
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return True
    return False


def start_injector(
    api_client: Any,
    kubeconfig: str,
    log_dir: Path,
    failure_policy: str = "Fail",
    *,
    operator_namespace: str,
    port: int | None = None,
    config_name: str | None = None,
    check_seconds: float | None = None,
) -> Injector:
    """Start an injector; with `port` and `config_name` of a running one, a second replica."""
    if port is None:
        (port,) = free_ports(1)
    name = config_name or f"meshgate-injector-test-{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "MESHGATE_WEBHOOK_URL": f"https://127.0.0.1:{port}",
        "MESHGATE_WEBHOOK_PORT": str(port),
        "MESHGATE_WEBHOOK_CONFIG_NAME": name,
        "MESHGATE_WEBHOOK_FAILURE_POLICY": failure_policy,
        "MESHGATE_OPERATOR_NAMESPACE": operator_namespace,
        "MESHGATE_WEBHOOK_LISTEN_ADDR": "127.0.0.1",
        # The chart's proxy.resources default, which the offline CLI's defaults equal.
        "MESHGATE_PROXY_CPU_REQUEST": "50m",
    }
    if check_seconds is not None:
        env["MESHGATE_WEBHOOK_IDENTITY_CHECK_SECONDS"] = str(check_seconds)
    log = log_dir / f"{name}-{secrets.token_hex(2)}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # --verbose: kopf's per-object lines say which replica answered an admission call.
            [
                sys.executable,
                "-m",
                "meshgate.handlers.run",
                "--controllers",
                "injection",
                "--verbose",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    injector = Injector(proc, port, name, log, operator_namespace)
    admission = client.AdmissionregistrationV1Api(api_client)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"injector exited {proc.returncode}:\n{log.read_text()}")
        try:
            admission.read_mutating_webhook_configuration(name)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return listens(proc.pid, port)

    try:
        wait_for(ready, timeout=60, what="the injector to serve and register its webhooks")
    except BaseException:
        injector.stop()
        raise
    return injector


@contextlib.contextmanager
def operator_namespace(api_client: Any) -> Iterator[str]:
    """A namespace of its own for the injector's Secret, deleted afterwards."""
    core = client.CoreV1Api(api_client)
    name = f"meshgate-injector-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        with contextlib.suppress(ApiException):
            core.delete_namespace(name)


ENABLED = {"meshgate.io/inject": "enabled"}
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
