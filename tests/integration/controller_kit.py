"""What the integration trees share to run a meshgate controller against the test control plane:
raw API calls, the CRDs from `crds/` applied and Established, polling with a deadline, and a
controller subprocess stopped by its own PID.

Imported as a top-level module (no `__init__.py`): `tests/integration/conftest.py` puts this
directory on `sys.path`. It must never touch a process it did not start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes.client import ApiClient

REPO = Path(__file__).resolve().parents[2]
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
T = TypeVar("T")


class ApiError(Exception):
    """The API server refused a request; `message` is the message of its Status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def call(
    api: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    query: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    """One call to the API server; raises ApiError with the server's message on any error."""
    method, url, headers, _, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    # JSON content types are encoded by the client; apply-patch+yaml goes as a (JSON) string,
    # which every client version sends as is.
    payload = body if body is None or "json" in content_type else json.dumps(body)
    resp = api.call_api(method, url, header_params=headers, body=payload)
    resp.read()  # type: ignore[no-untyped-call]
    data = json.loads(resp.data or b"{}")
    if not 200 <= resp.status < 300:
        raise ApiError(resp.status, str(data.get("message", data)))
    result: dict[str, Any] = data
    return result


def eventually(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns a truthy value, or fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def install_crds(api: ApiClient, field_manager: str) -> None:
    """Server-side apply every CRD in `crds/` and wait until each is Established."""
    names = []
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        call(
            api,
            "PATCH",
            f"{CRDS}/{names[-1]}",
            body=crd,
            query=[("fieldManager", field_manager), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )
    for name in names:

        def established(name: str = name) -> bool:
            crd = call(api, "GET", f"{CRDS}/{name}")
            conds = (crd.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

        eventually(established, timeout=30, what=f"CRD {name} established")


def start_logged(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `argv` from the repository root, stdout and stderr appended to `log_path`."""
    log = log_path.open("ab")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)


def stop_by_pid(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 15s; a process that already exited is left alone."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
