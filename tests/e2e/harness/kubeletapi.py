"""The node's kubelet API: `kubelet-api` (Go, `kubelet-api/` in the checkout), started by the agent.

The API server proxies `pods/exec` and `pods/log` to the Node's InternalIP at
`daemonEndpoints.kubeletEndpoint.Port`; `kubelet-api` answers there over self-signed HTTPS and
runs an exec'd command with what the agent wrote for that container (`agent._write_exec_spec`).
It dies with the agent (PR_SET_PDEATHSIG). This module must never signal a PID it did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
from dataclasses import dataclass
from pathlib import Path

# A kubelet's own port: the node address is this agent's alone, so nothing else holds it.
PORT = 10250
REPO = Path(__file__).resolve().parents[3]
# Where `make harness-bins` builds it.
DEFAULT_BINARY = REPO / ".local" / "bin" / "kubelet-api"
READY_TIMEOUT = 20.0
_PR_SET_PDEATHSIG = 1


def _die_with_agent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class KubeletApiError(RuntimeError):
    """`kubelet-api` did not start; the message holds its output."""


@dataclass
class KubeletApi:
    proc: asyncio.subprocess.Process
    port: int

    @classmethod
    async def start(
        cls, binary: Path, node_ip: str, state_dir: Path, exec_timeout: float, port: int = PORT
    ) -> KubeletApi:
        log = state_dir / "kubelet-api.log"
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            proc = await asyncio.create_subprocess_exec(
                str(binary),
                f"--listen={node_ip}:{port}",
                f"--state-dir={state_dir}",
                f"--exec-timeout={exec_timeout}s",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                preexec_fn=_die_with_agent,
            )
        finally:
            os.close(out)
        api = cls(proc, port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while "serving" not in log.read_text():
            if proc.returncode is not None or loop.time() > deadline:
                await api.stop()
                raise KubeletApiError(f"kubelet-api did not start:\n{log.read_text()[-2000:]}")
            await asyncio.sleep(0.05)
        return api

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
