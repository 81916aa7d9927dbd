"""One container's life inside a Pod: start, readiness probing, restarts, stop, its status.

The restart rules are a node's: an app container follows the Pod's restartPolicy, a native
sidecar (an init container with `restartPolicy: Always`) always restarts, with a growing back-off
between attempts. This module must never decide Pod-level ordering (that is `pod.py`'s job).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import probes
from .process import ContainerProcess
from .timefmt import rfc3339

Body = dict[str, Any]
# Builds (argv, env) at each start, so a restart sees current ConfigMaps and Secrets.
Launch = Callable[[], Awaitable[tuple[list[str], dict[str, str]]]]
MAX_BACKOFF = 10.0
# Probes run at most this far apart: a test should not wait a default 10 s period for readiness.
MAX_PROBE_PERIOD = 1.0


@dataclass
class Exit:
    code: int
    started_at: float
    finished_at: float

    def as_state(self) -> Body:
        return {
            "terminated": {
                "exitCode": self.code,
                "reason": "Completed" if self.code == 0 else "Error",
                "startedAt": rfc3339(self.started_at),
                "finishedAt": rfc3339(self.finished_at),
            }
        }


class Container:
    """A container of one Pod; `kind` is "init", "sidecar" or "app"."""

    def __init__(
        self, spec: Body, kind: str, pod_ip: str, cwd: Path, log_path: Path, launch: Launch
    ) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.kind = kind
        self.pod_ip = pod_ip
        self.cwd = cwd
        self.log_path = log_path
        self._launch = launch
        self.proc: ContainerProcess | None = None
        self.restart_count = 0
        self.ready = False
        self.waiting_reason = "PodInitializing" if kind == "app" else "ContainerCreating"
        self.waiting_message = ""
        self.last_exit: Exit | None = None
        self.stopping = False
        self.changed = asyncio.Event()
        self._probe_task: asyncio.Task[None] | None = None

    # -- running ------------------------------------------------------------------------------

    async def _start_once(self) -> ContainerProcess | None:
        try:
            argv, env = await self._launch()
        except ValueError as exc:  # an image no local program stands in for, a bad ref
            self.waiting_reason, self.waiting_message = "CreateContainerError", str(exc)
            self._notify()
            return None
        self.proc = await ContainerProcess.start(argv, env, self.cwd, self.log_path)
        self.waiting_reason = ""
        self.ready = "readinessProbe" not in self.spec and self.kind != "init"
        if "readinessProbe" in self.spec:
            self._probe_task = asyncio.create_task(self._probe(self.proc))
        self._notify()
        return self.proc

    async def run_to_completion(self) -> int | None:
        """An init container: run once; the exit code, or None when it could not start."""
        proc = await self._start_once()
        if proc is None:
            return None
        code = await proc.wait()
        self._record_exit(proc, code)
        return code

    async def supervise(self, restart: Callable[[int], bool]) -> int | None:
        """Run, and rerun while `restart(exit code)` says so; the last exit code."""
        backoff = 1.0
        while not self.stopping:
            proc = await self._start_once()
            if proc is None:
                code = None
            else:
                code = await proc.wait()
                self._record_exit(proc, code)
            if self.stopping or (code is not None and not restart(code)):
                return code
            self.waiting_reason = "CrashLoopBackOff"
            self._notify()
            await asyncio.sleep(backoff)  # back-off between restarts, as on a node
            backoff = min(backoff * 2, MAX_BACKOFF)
            self.restart_count += 1
        return None

    def _record_exit(self, proc: ContainerProcess, code: int) -> None:
        self.last_exit = Exit(code, proc.started_at, time.time())
        self.ready = False
        self.proc = None
        self._cancel_probe()
        self._notify()

    async def _probe(self, proc: ContainerProcess) -> None:
        probe = self.spec["readinessProbe"]
        period = min(float(probe.get("periodSeconds") or 10), MAX_PROBE_PERIOD)
        await asyncio.sleep(float(probe.get("initialDelaySeconds") or 0))
        successes = failures = 0
        while proc.returncode is None and not self.stopping:
            ok = await probes.check(probe, self.spec, self.pod_ip)
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if not self.ready and successes >= int(probe.get("successThreshold") or 1):
                self.ready = True
                self._notify()
            elif self.ready and failures >= int(probe.get("failureThreshold") or 3):
                self.ready = False
                self._notify()
            await asyncio.sleep(period)

    def _cancel_probe(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            self._probe_task = None

    def _notify(self) -> None:
        self.changed.set()

    async def stop(self, grace: float) -> None:
        self.stopping = True
        self._cancel_probe()
        proc = self.proc
        if proc is not None:
            code = await proc.stop(grace)
            if self.proc is proc:
                self._record_exit(proc, code)

    # -- status -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def status(self) -> Body:
        if self.running:
            assert self.proc is not None
            state: Body = {"running": {"startedAt": rfc3339(self.proc.started_at)}}
        elif self.waiting_reason or self.last_exit is None:
            waiting: Body = {"reason": self.waiting_reason or "ContainerCreating"}
            if self.waiting_message:
                waiting["message"] = self.waiting_message
            state = {"waiting": waiting}
        else:
            state = self.last_exit.as_state()
        last = self.last_exit
        body: Body = {
            "name": self.name,
            "image": self.spec.get("image", ""),
            "imageID": "",
            "ready": self.ready,
            "restartCount": self.restart_count,
            "started": self.running,
            "state": state,
            "lastState": last.as_state() if last is not None and "terminated" not in state else {},
        }
        if self.proc is not None:
            body["containerID"] = f"local://{self.proc.pid}"
        return body
