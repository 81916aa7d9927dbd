"""The injector as a kopf subprocess for integration tests: started, awaited, stopped by PID.

Each start registers a webhook configuration under a fresh name, which the caller deletes, so an
injector never outlives its tests in the shared cluster.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from meshgate.localcluster.ports import free_ports
from meshgate.localcluster.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
KOPF = Path(sys.executable).with_name("kopf")


@dataclass
class Injector:
    proc: subprocess.Popen[bytes]
    port: int
    config_name: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_injector(
    api_client: Any, kubeconfig: str, log_dir: Path, failure_policy: str = "Fail"
) -> Injector:
    (port,) = free_ports(1)
    name = f"meshgate-injector-test-{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "MESHGATE_WEBHOOK_URL": f"https://127.0.0.1:{port}",
        "MESHGATE_WEBHOOK_PORT": str(port),
        "MESHGATE_WEBHOOK_CONFIG_NAME": name,
        "MESHGATE_WEBHOOK_FAILURE_POLICY": failure_policy,
    }
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(KOPF), "run", "--standalone", "-A", "-m", "meshgate.inject.standalone"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    injector = Injector(proc, port, name, log)
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
        return _listening(port)

    try:
        wait_for(ready, timeout=60, what="the injector to serve and register its webhooks")
    except BaseException:
        injector.stop()
        raise
    return injector


ENABLED = {"meshgate.io/inject": "enabled"}
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
