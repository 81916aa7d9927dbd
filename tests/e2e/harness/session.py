"""What the e2e tests get from the `node_agent` fixture, and where the test apps live."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

APPS = Path(__file__).resolve().parents[1] / "apps"


@dataclass(frozen=True)
class NodeAgent:
    pid: int
    node_ip: str
    subnet: str
    state_dir: Path
    log_path: Path

    def pod_log(self, namespace: str, pod: str, uid: str, container: str) -> Path:
        return self.state_dir / "pods" / f"{namespace}_{pod}_{uid}" / "logs" / f"{container}.log"


def stop_agent(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM the agent by its PID (it stops its Pods' processes), SIGKILL if it hangs."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
