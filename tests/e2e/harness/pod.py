"""One Pod's life on the local node: ordering of its containers, termination, its status.

Order as on a node: plain init containers run to completion one by one; a native sidecar (init
container with `restartPolicy: Always`) is started in its place in that sequence and must be
started (and ready, when it has a readiness probe) before the next one begins; app containers
start last. Termination stops app containers first, then sidecars in reverse order.

This module must never talk to the API server: the agent feeds it the Pod and reads its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .container import Container
from .timefmt import rfc3339

Body = dict[str, Any]
LaunchFor = Callable[[Container], Awaitable[tuple[list[str], dict[str, str]]]]


class Pod:
    """A Pod bound to this node; `run()` drives it, `status()` describes it."""

    def __init__(self, body: Body, pod_ip: str, node_ip: str, pod_dir: Path, launch: LaunchFor):
        self.body = body
        self.uid: str = body["metadata"]["uid"]
        self.pod_ip = pod_ip
        self.node_ip = node_ip
        self.dir = pod_dir
        self.volumes_ready = asyncio.Event()
        self._volumes_synced_at: float | None = None  # monotonic time of the last projection
        self.changed = asyncio.Event()
        self.phase = "Pending"
        self.initialized = False
        self.start_time = time.time()
        self._transitions: dict[str, tuple[str, str]] = {}
        spec = body["spec"]
        self.init: list[Container] = []
        for c in spec.get("initContainers") or []:
            kind = "sidecar" if c.get("restartPolicy") == "Always" else "init"
            self.init.append(self._container(c, kind, launch))
        self.apps = [self._container(c, "app", launch) for c in spec.get("containers") or []]
        self._task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    def _container(self, spec: Body, kind: str, launch: LaunchFor) -> Container:
        log = self.dir / "logs" / f"{spec['name']}.log"
        c: Container
        c = Container(spec, kind, self.pod_ip, self.dir, log, lambda: launch(c))
        return c

    @property
    def name(self) -> str:
        return f"{self.body['metadata']['namespace']}/{self.body['metadata']['name']}"

    @property
    def restart_policy(self) -> str:
        return str(self.body["spec"].get("restartPolicy") or "Always")

    def volumes_synced(self) -> None:
        self._volumes_synced_at = time.monotonic()

    def volume_sync_due(self, period: float) -> bool:
        """Whether a projection of this Pod's volumes is due, `period` seconds after the last."""
        last = self._volumes_synced_at
        return last is None or time.monotonic() - last >= period

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"pod {self.name}")

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.append(task)
        return task

    async def _wait_started(self, c: Container) -> None:
        """A sidecar counts as started once running and (with a readiness probe) ready."""
        while not (c.running and (c.ready or "readinessProbe" not in c.spec)):
            c.changed.clear()
            await c.changed.wait()

    async def _run(self) -> None:
        await self.volumes_ready.wait()
        for c in self.init:
            if c.kind == "sidecar":
                self._spawn(c.supervise(lambda _code: True))
                await self._wait_started(c)
                continue
            while True:
                code = await c.run_to_completion()
                if code == 0:
                    break
                if self.restart_policy == "Never":
                    self._set_phase("Failed")
                    return
                await asyncio.sleep(1)  # back-off before retrying a failed init container
                c.restart_count += 1
        self.initialized = True
        self._set_phase("Running")
        policy = self.restart_policy

        def restart(code: int) -> bool:
            return policy == "Always" or (policy == "OnFailure" and code != 0)

        runs = [self._spawn(c.supervise(restart)) for c in self.apps]
        codes = await asyncio.gather(*runs)
        if any(c.stopping for c in self.apps):
            return
        for c in reversed(self.init):
            if c.kind == "sidecar":
                await c.stop(self.grace())
        self._set_phase("Succeeded" if all(code == 0 for code in codes) else "Failed")

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.changed.set()

    def grace(self) -> float:
        meta = self.body["metadata"]
        seconds = meta.get("deletionGracePeriodSeconds")
        if seconds is None:
            seconds = self.body["spec"].get("terminationGracePeriodSeconds", 30)
        return float(seconds)

    async def terminate(self) -> None:
        """Stop every process of the Pod: apps at once, then sidecars in reverse order."""
        deadline = time.monotonic() + self.grace()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(c.stop(deadline - time.monotonic()) for c in self.apps))
        for c in reversed(self.init):
            await c.stop(deadline - time.monotonic())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def pids(self) -> list[int]:
        return [c.proc.pid for c in self.init + self.apps if c.proc is not None]

    # -- status -------------------------------------------------------------------------------

    def _condition(self, kind: str, ok: bool) -> Body:
        status = "True" if ok else "False"
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != status:
            self._transitions[kind] = (status, rfc3339())
        return {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self._transitions[kind][1],
        }

    def status(self) -> Body:
        sidecars = [c for c in self.init if c.kind == "sidecar"]
        containers_ready = (
            self.phase == "Running"
            and all(c.ready for c in self.apps)
            and all(c.ready for c in sidecars)
        )
        return {
            "phase": self.phase,
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "hostIP": self.node_ip,
            "hostIPs": [{"ip": self.node_ip}],
            "startTime": rfc3339(self.start_time),
            "conditions": [
                self._condition("PodScheduled", True),
                self._condition("Initialized", self.initialized),
                self._condition("ContainersReady", containers_ready),
                self._condition("Ready", containers_ready),
            ],
            "initContainerStatuses": [c.status() for c in self.init],
            "containerStatuses": [c.status() for c in self.apps],
        }
