"""The node agent's sync loop: bind, start, refresh volumes, report status, finalize deletes.

Level-based, like kubelet's periodic sync: each pass lists this node's Pods and makes the local
processes match them, so a missed event is repaired on the next pass. This module must never
stop a process it did not start, nor touch Pods bound to another Node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from . import atomicdir, binder, commands, trust, volumes
from .container import Container
from .kubeapi import ApiException, Kube
from .kubeproxy import KubeProxy
from .node import NODE_NAME, NodeHeartbeat
from .objects import Objects
from .pod import Pod
from .podnet import PodNetwork
from .sandbox import PodSandbox, SandboxError

Body = dict[str, Any]
SYNC_EVERY = 0.3
# The Node annotation that sets the volume sync period at run time (seconds; "0": every pass),
# so one test can run with kubelet's delay while the rest of the session keeps instant files.
VOLUME_SYNC_ANNOTATION = "harness.meshgate.io/volume-sync-period"
log = logging.getLogger("harness")


class Agent:
    def __init__(
        self,
        kube: Kube,
        network: PodNetwork,
        state_dir: Path,
        images: commands.Images,
        kubelet_port: int | None = None,
        volume_sync_period: float = 0.0,
    ) -> None:
        self.kube = kube
        # 0: ConfigMap and Secret volumes follow their objects at every pass (about 0.3 s). More:
        # a running Pod's volumes are projected again only that often, as kubelet does at its
        # sync period (a minute by default, plus its cache's delay); the Node annotation
        # `VOLUME_SYNC_ANNOTATION` overrides it while set.
        self.volume_sync_flag = volume_sync_period
        self.volume_sync_period = volume_sync_period
        self.network = network
        self.state_dir = state_dir
        self.images = images
        self.objects = Objects(kube)
        self.pods: dict[str, Pod] = {}
        self._published: dict[str, Body] = {}
        self._finalizing: dict[str, asyncio.Task[None]] = {}
        # Network namespaces of the Pods that need one (`commands.needs_own_network`), by UID;
        # a failed one is kept as its error, which the Pod's containers report.
        self._sandboxes: dict[str, PodSandbox | SandboxError] = {}
        self.node = NodeHeartbeat(kube, network.node_ip, kubelet_port=kubelet_port)
        self.kubeproxy = KubeProxy(kube)
        trust.create(state_dir)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Sync until cancelled; the Node must be registered first (`node.register()`)."""
        heartbeat = asyncio.create_task(self.node.run())
        await self.kubeproxy.start()
        forwarding = asyncio.create_task(self.kubeproxy.run())
        try:
            while True:
                try:
                    await self.sync()
                except ApiException as exc:
                    log.warning("sync pass failed, retrying: %s %s", exc.status, exc.reason)
                await asyncio.sleep(SYNC_EVERY)
        finally:
            heartbeat.cancel()
            forwarding.cancel()
            await self.shutdown()
            await self.kubeproxy.stop()

    async def sync(self) -> None:
        await binder.bind_pending(self.kube, NODE_NAME)
        self.volume_sync_period = await self._volume_sync_period()
        mine = {"fieldSelector": f"spec.nodeName={NODE_NAME}"}
        listed = await self.kube.get("/api/v1/pods", mine)
        self.objects.new_pass()
        seen: set[str] = set()
        for body in listed.get("items") or []:
            uid = body["metadata"]["uid"]
            seen.add(uid)
            pod = self.pods.get(uid)
            if body["metadata"].get("deletionTimestamp"):
                if pod is not None:
                    pod.body = body
                self._finalize(uid, body)
                continue
            if pod is None:
                pod = await self._admit(body)
            pod.body = body
            await self._refresh_volumes(pod)
            await self._publish(pod)
        for uid in list(self.pods):
            if uid not in seen and uid not in self._finalizing:
                # Gone from the API (force-deleted): only the processes are left to stop.
                self._finalize(uid, None)

    async def _admit(self, body: Body) -> Pod:
        in_use = {p.pod_ip for p in self.pods.values()}
        ip = self.network.allocate(in_use)
        meta = body["metadata"]
        if commands.needs_own_network(body["spec"], self.images):
            try:
                self._sandboxes[meta["uid"]] = await PodSandbox.create(ip, self.network.node_ip)
            except SandboxError as exc:
                name = f"{meta['namespace']}/{meta['name']}"
                log.warning("pod %s: no network namespace: %s", name, exc)
                self._sandboxes[meta["uid"]] = exc
        pod_dir = self.state_dir / "pods" / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"
        pod = Pod(body, ip, self.network.node_ip, pod_dir, self._launcher)
        self.pods[meta["uid"]] = pod
        pod.start()
        log.info("pod %s admitted with IP %s", pod.name, ip)
        return pod

    # -- volumes and launch -------------------------------------------------------------------

    def _mounts(self, pod: Pod, container: Body) -> dict[str, Path]:
        root = pod.dir / "root"
        volumes_by_name = {v["name"]: v for v in pod.body["spec"].get("volumes") or []}
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts") or []:
            volume = volumes_by_name.get(mount["name"], {})
            if "hostPath" in volume:
                mounts[mount["mountPath"]] = Path(volume["hostPath"]["path"])
            else:
                mounts[mount["mountPath"]] = root / mount["mountPath"].lstrip("/")
        return mounts

    def _volume_dirs(self, pod: Pod) -> dict[str, list[Path]]:
        """Where each volume appears: one directory per mount of it, under the Pod's root."""
        dirs: dict[str, list[Path]] = {}
        spec = pod.body["spec"]
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            for mount in c.get("volumeMounts") or []:
                if mount.get("subPath"):
                    continue  # subPath mounts are not supported locally; see docs/e2e.md
                path = pod.dir / "root" / mount["mountPath"].lstrip("/")
                dirs.setdefault(mount["name"], [])
                if path not in dirs[mount["name"]]:
                    dirs[mount["name"]].append(path)
        return dirs

    async def _volume_sync_period(self) -> float:
        node = await self.kube.get_or_none(f"/api/v1/nodes/{NODE_NAME}")
        raw = (((node or {}).get("metadata") or {}).get("annotations") or {}).get(
            VOLUME_SYNC_ANNOTATION
        )
        try:
            return float(raw) if raw is not None else self.volume_sync_flag
        except ValueError:
            log.warning("node annotation %s=%r is not a number", VOLUME_SYNC_ANNOTATION, raw)
            return self.volume_sync_flag

    async def _refresh_volumes(self, pod: Pod) -> None:
        if pod.volumes_ready.is_set() and not pod.volume_sync_due(self.volume_sync_period):
            return  # kubelet's behaviour: a running Pod's volumes wait for its next sync
        ns = pod.body["metadata"]["namespace"]
        for kind, name in volumes.needed_objects(pod.body):
            await self.objects.fetch(kind, ns, name)
        spec = pod.body["spec"]
        if any(
            "serviceAccountToken" in s
            for v in spec.get("volumes") or []
            for s in (v.get("projected") or {}).get("sources") or []
        ):
            await self.objects.fetch("token", ns, spec.get("serviceAccountName", "default"))
        missing = []
        dirs = self._volume_dirs(pod)
        for volume in spec.get("volumes") or []:
            files = volumes.volume_files(pod.body, volume, self.objects.get)
            if isinstance(files, volumes.Missing):
                missing.append(f"volume {volume['name']}: {files.reason}")
                continue
            for path in dirs.get(volume["name"], []):
                if "hostPath" in volume:
                    continue
                if files is None:
                    path.mkdir(parents=True, exist_ok=True)
                else:
                    mode = 0o600 if "secret" in volume else 0o644
                    await asyncio.to_thread(atomicdir.write, path, files, mode)
        if not missing:
            pod.volumes_synced()
            pod.volumes_ready.set()
        else:
            for c in pod.init + pod.apps:
                if not c.running and c.waiting_reason in ("ContainerCreating", "PodInitializing"):
                    c.waiting_message = "; ".join(missing)

    async def _launcher(self, container: Container) -> tuple[list[str], dict[str, str]]:
        pod = next(p for p in self.pods.values() if container in p.init + p.apps)
        ns = pod.body["metadata"]["namespace"]
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "PYTHONPATH")}
        base["PYTHONUNBUFFERED"] = "1"
        base["SSL_CERT_FILE"] = str(trust.store(self.state_dir))
        env = commands.environment(
            pod.body, container.spec, pod.pod_ip, self.objects.as_text(ns), base
        )
        mounts = self._mounts(pod, container.spec)
        argv = commands.launch_argv(container.spec, self.images, env, mounts)
        sandbox = self._sandboxes.get(pod.uid)
        if isinstance(sandbox, SandboxError):
            raise ValueError(f"the Pod's network namespace: {sandbox}")
        if sandbox is not None:
            argv = sandbox.enter(argv)
        for name, value in list(env.items()):
            if name not in base:
                env[name] = commands.rewrite_path(value, mounts)
        env["MESHGATE_FS_ROOT"] = str(pod.dir / "root")
        env["HOME"] = str(pod.dir)
        exec_spec = {
            "env": env,
            "cwd": str(pod.dir),
            "wrap": sandbox.enter([]) if sandbox is not None else [],
            "commands": commands.image_commands(container.spec, self.images),
        }
        await asyncio.to_thread(
            _write_exec_spec, pod.dir / "exec" / f"{container.name}.json", exec_spec
        )
        return argv, env

    # -- status and deletion ------------------------------------------------------------------

    async def _publish(self, pod: Pod) -> None:
        status = pod.status()
        if self._published.get(pod.uid) == status:
            return
        meta = pod.body["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"
        try:
            await self.kube.merge_patch(path, {"metadata": {"uid": pod.uid}, "status": status})
        except ApiException as exc:
            if exc.status in (404, 409):
                return
            raise
        self._published[pod.uid] = status

    def _finalize(self, uid: str, body: Body | None) -> None:
        if uid in self._finalizing:
            return
        self._finalizing[uid] = asyncio.create_task(self._stop_and_remove(uid, body))

    async def _stop_and_remove(self, uid: str, body: Body | None) -> None:
        pod = self.pods.get(uid)
        if pod is not None:
            await pod.terminate()
            log.info("pod %s stopped (pids %s)", pod.name, pod.pids())
        if body is not None:
            meta = body["metadata"]
            with contextlib.suppress(ApiException):
                await self.kube.request(
                    "DELETE",
                    f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                    {"gracePeriodSeconds": 0, "preconditions": {"uid": uid}},
                )
        sandbox = self._sandboxes.pop(uid, None)
        if isinstance(sandbox, PodSandbox):
            await sandbox.destroy()
        self.pods.pop(uid, None)
        self._published.pop(uid, None)
        self._finalizing.pop(uid, None)
        if pod is not None:
            shutil.rmtree(pod.dir / "exec", ignore_errors=True)  # no exec into a stopped Pod
            shutil.rmtree(pod.dir / "root", ignore_errors=True)  # logs stay for the post-mortem

    async def shutdown(self) -> None:
        """Stop every Pod's processes (the agent is going away; the API objects stay)."""
        await asyncio.gather(*(p.terminate() for p in self.pods.values()), return_exceptions=True)
        sandboxes = [s for s in self._sandboxes.values() if isinstance(s, PodSandbox)]
        await asyncio.gather(*(s.destroy() for s in sandboxes), return_exceptions=True)
        self._sandboxes.clear()


def _write_exec_spec(path: Path, spec: Body) -> None:
    """What `kubelet-api` needs to run an exec'd command as this container would (its env, the
    Pod's network namespace, the image's own commands); replaced whole, never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # 0600: the environment may hold values from Secrets.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(spec, out)
    os.replace(tmp, path)
