"""Starting and stopping the node agent for a test session, what the tests get back, and
where the test apps live. The e2e and conformance trees start the agent through `running_agent`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import trust

E2E_DIR = Path(__file__).resolve().parents[1]
APPS = E2E_DIR / "apps"
# Registering the Node takes a second or two; a loaded machine gets much more.
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class NodeAgent:
    pid: int
    node_ip: str
    subnet: str
    state_dir: Path
    log_path: Path

    def pod_log(self, namespace: str, pod: str, uid: str, container: str) -> Path:
        return self.state_dir / "pods" / f"{namespace}_{pod}_{uid}" / "logs" / f"{container}.log"

    def trust(self, ca_pem: bytes) -> None:
        """Every container trusts `ca_pem` from its next TLS context on (`harness/trust.py`)."""
        trust.add(self.state_dir, ca_pem)


def stop_agent(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM the agent by its PID (it stops its Pods' processes), SIGKILL if it hangs."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def running_agent(
    kubeconfig: str, state_dir: Path, extra_args: Sequence[str] = ()
) -> Iterator[NodeAgent]:
    """`python -m harness` against `kubeconfig` until the block ends, then stopped by its PID.

    Yields once the agent printed `ready <node-ip> <subnet>`; raises RuntimeError with the tail
    of its log when it exits or does not get ready in time.
    """
    out_path, log_path = state_dir / "agent.out", state_dir / "agent.log"
    env = dict(os.environ, PYTHONPATH=str(E2E_DIR), PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "harness", "--kubeconfig", kubeconfig]
    with open(out_path, "wb") as out, open(log_path, "wb") as err:
        proc = subprocess.Popen(
            [*argv, "--state-dir", str(state_dir), *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=E2E_DIR,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"node agent exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            words = out_path.read_text().split()
            if words[:1] == ["ready"]:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"node agent not ready in {READY_TIMEOUT:.0f}s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        yield NodeAgent(proc.pid, words[1], words[2], state_dir, log_path)
    finally:
        stop_agent(proc)
