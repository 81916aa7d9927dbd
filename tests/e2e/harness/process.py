"""One container as one local process: start it, watch it exit, stop it by its own PID.

The process gets its own session (so a terminal's Ctrl-C reaches only the agent) and is tied to
the agent with PR_SET_PDEATHSIG, so a killed agent leaves no container behind. This module must
never signal anything but the PID it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_agent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ContainerProcess:
    """A started container process; `returncode` is None while it runs."""

    def __init__(self, proc: asyncio.subprocess.Process, started_at: float) -> None:
        self._proc = proc
        self.pid = proc.pid
        self.started_at = started_at

    @classmethod
    async def start(
        cls, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path
    ) -> ContainerProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                # prctl must run in the child between fork and exec; nothing else runs there.
                preexec_fn=_die_with_agent,
            )
        finally:
            os.close(log)
        return cls(proc, time.time())

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    async def wait(self) -> int:
        return await self._proc.wait()

    async def stop(self, grace: float) -> int:
        """SIGTERM, then SIGKILL once `grace` seconds have passed; the exit code."""
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                return await asyncio.wait_for(self._proc.wait(), timeout=max(grace, 0.1))
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        return await self._proc.wait()
