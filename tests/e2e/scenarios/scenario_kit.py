"""What the whole-story scenarios do as a user would: kubectl, and HTTP to Pod addresses.

Manifests are applied with `kubectl apply -n <ns> -f <folder>` exactly as a user applies a GitOps
folder; everything is read back through kubectl's JSON. Requests go straight to a Pod address of
the test's private network (no proxy from the environment). Every wait polls with a deadline.
This module must never create meshgate's generated objects itself: the operator does that.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helm_release import Release, pod_is_ready

from meshgate.localcluster.waiting import wait_for

Body = dict[str, Any]
HERE = Path(__file__).resolve().parent
GATEWAY_LABEL = "meshgate.io/gateway"
ADMIN_PORT = 15090

# One echo Pod behind a Service of the same name, port 8080: `echo_app(name)`.
_ECHO_APP = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: echo
          image: meshgate.local/echo:latest
          imagePullPolicy: IfNotPresent
          env:
            - name: POD_NAME
              valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
          ports:
            - {{name: http, containerPort: 8080}}
          readinessProbe:
            httpGet: {{path: /healthz, port: http}}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: {name}}}
  ports:
    - {{name: http, port: 8080, targetPort: http}}
"""


def echo_app(name: str) -> str:
    """The manifest of one echo Pod behind a Service called `name` (port 8080), to apply."""
    return _ECHO_APP.format(name=name)


@dataclass(frozen=True)
class User:
    """kubectl, as the person who wrote the manifests runs it."""

    release: Release
    namespace: str
    # The node agent's state directory: container logs, for the message of a failed wait.
    agent_dir: Path | None = None

    def kubectl(self, *args: str, timeout: float = 60.0) -> str:
        return self.release.kubectl_run(*args, timeout=timeout)

    def apply(self, folder: str | Path) -> str:
        path = folder if isinstance(folder, Path) else HERE / folder
        return self.kubectl("apply", "-n", self.namespace, "-f", str(path))

    def apply_text(self, manifest: str) -> str:
        """`kubectl apply -f -` of an edited manifest (what `kubectl edit` ends up doing)."""
        argv = [
            str(self.release.kubectl),
            f"--kubeconfig={self.release.kubeconfig}",
            "apply",
            "-n",
            self.namespace,
            "-f",
            "-",
        ]
        proc = subprocess.run(
            argv, input=manifest, capture_output=True, text=True, timeout=60, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"kubectl apply -f - failed:\n{proc.stderr}")
        return proc.stdout

    def get(self, kind: str, name: str | None = None, selector: str | None = None) -> Body:
        args = ["get", kind, "-n", self.namespace, "-o", "json"]
        if name is not None:
            args.insert(2, name)
        if selector is not None:
            args += ["-l", selector]
        result: Body = json.loads(self.kubectl(*args))
        return result

    def label_namespace(self, label: str) -> None:
        self.kubectl("label", "namespace", self.namespace, label, "--overwrite")

    # -- waits ------------------------------------------------------------------------------

    def ready_pods(self, selector: str, count: int, timeout: float = 90.0) -> list[Body]:
        """Exactly `count` Pods matching `selector`, all Running and Ready (none terminating)."""

        def ready() -> list[Body] | None:
            pods = [
                p
                for p in self.get("pods", selector=selector)["items"]
                if not p["metadata"].get("deletionTimestamp")
            ]
            good = [p for p in pods if pod_is_ready(p) and p["status"].get("podIP")]
            return good if len(good) == count == len(pods) else None

        try:
            return wait_for(
                ready,
                timeout=timeout,
                what=f"{count} Ready Pod(s) with {selector} in {self.namespace}",
                max_interval=0.3,
            )
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.diagnose(selector)}") from exc

    def diagnose(self, selector: str | None = None) -> str:
        """Pod states and the tail of each container's log: what a failed wait reports."""
        lines = []
        for pod in self.get("pods", selector=selector)["items"]:
            meta, status = pod["metadata"], pod.get("status") or {}
            states = [
                f"{c['name']}: ready={c.get('ready')} {json.dumps(c.get('state'))}"
                for c in (status.get("initContainerStatuses") or [])
                + (status.get("containerStatuses") or [])
            ]
            lines.append(f"pod {meta['name']} {status.get('phase')} {status.get('podIP')}")
            lines += [f"  {s}" for s in states]
            if self.agent_dir is not None:
                pattern = f"pods/{self.namespace}_{meta['name']}_*/logs/*.log"
                for log in sorted(self.agent_dir.glob(pattern)):
                    lines.append(f"  --- {log.name}\n{log.read_text()[-1500:]}")
        return "\n".join(lines)

    def condition(self, kind: str, name: str, ctype: str, timeout: float = 30.0) -> Body:
        """Wait for condition `ctype` of `kind/name` to be True for its current generation."""
        last: list[Body] = []

        def holds() -> Body | None:
            obj = self.get(kind, name)
            last[:] = [obj.get("status") or {}]
            for c in (obj.get("status") or {}).get("conditions") or []:
                current = c.get("observedGeneration", obj["metadata"]["generation"])
                if (
                    c["type"] == ctype
                    and c["status"] == "True"
                    and current == obj["metadata"]["generation"]
                ):
                    return obj
            return None

        try:
            return wait_for(holds, timeout=timeout, what=f"{kind}/{name} {ctype}=True")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; last status: {json.dumps(last[:1])}") from exc

    def answer_within(
        self, send: Callable[[], Answer], status: int, timeout: float, what: str
    ) -> Answer:
        """Send until the answer has `status` (the data plane converging); the last answer is
        reported when it never does."""
        last: list[Answer | str] = []

        def answered() -> Answer | None:
            try:
                answer = send()
            except OSError as exc:
                last[:] = [repr(exc)]
                return None
            last[:] = [answer]
            return answer if answer.status == status else None

        try:
            return wait_for(answered, timeout=timeout, what=f"{what} answered {status}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; last answer: {last[:1]}") from exc

    def gateway_pods(self, gateway: str, count: int = 1, timeout: float = 90.0) -> list[Body]:
        return self.ready_pods(f"{GATEWAY_LABEL}={gateway}", count, timeout)


# -- traffic ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Body:
        result: Body = json.loads(self.body)
        return result


def request(
    address: str,
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    timeout: float = 5.0,
) -> Answer:
    """One HTTP/1.1 request to `address:port`, straight there (no proxy from the environment)."""
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def metrics(address: str, port: int = ADMIN_PORT) -> str:
    return request(address, port, "/metrics").body.decode()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include every `labels` pair."""
    total = 0.0
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or m.group(1) != name:
            continue
        sample = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(sample.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


@dataclass
class Load:
    """A client sending requests in a loop from a thread, recording every outcome."""

    send: Callable[[], Answer]
    outcomes: list[tuple[float, int, bytes]] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic()
            try:
                answer = self.send()
            except OSError as exc:
                self.errors.append((at, repr(exc)))
                continue
            self.outcomes.append((at, answer.status, answer.body))

    def statuses(self) -> Counter[int]:
        return Counter(status for _, status, _ in self.outcomes)


@contextmanager
def load(send: Callable[[], Answer]) -> Iterator[Load]:
    """Run `send` in a loop on a thread until the block ends; the thread is always joined."""
    running = Load(send)
    thread = threading.Thread(target=running.run, name="scenario-load", daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running._stop.set()
        thread.join(timeout=30)
