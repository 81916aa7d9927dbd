"""What local program stands in for a container image, with which argv and environment.

Images map to programs from this checkout: the proxy image to `.venv/bin/meshproxy`, the
operator image to `.venv/bin/meshgate`, `meshgate.local/echo*` (the quickstart's and the
scenarios', built by `examples/apps/echo/Dockerfile`) and `hashicorp/http-echo` to the echo app.
The Gateway API conformance suite's images map too: its `echo-basic` backend to the real
echo-basic program built from the same Go module as the suite (`make conformance` builds it), and
its `coredns` to an idle stand-in (only the suite's UDPRoute tests, outside the GATEWAY-HTTP
profile, ever query it). echo-basic binds its ports on every address, so each of its Pods gets a
network namespace of its own (`needs_own_network`, `sandbox.py`). The mesh profile's
`echo-advanced` (Istio's echo server, whose `client` command the suite execs) maps to meshgate's
emulation of it (`conformance/echoadvanced`), which binds the Pod's address.
Paths under a container's volumeMounts are rewritten into the Pod's directory, and `127.0.0.1` in
env values into the Pod's own address, because every Pod shares this host's filesystem and
network.

Pure: this module must never start a process or read the API server.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .volumes import field_value

Body = dict[str, Any]
REPO = Path(__file__).resolve().parents[3]
ECHO_APP = REPO / "tests" / "e2e" / "apps" / "echo.py"
# The echo app's image, `examples/apps/echo/Dockerfile`: the same file runs here and in it.
ECHO_IMAGE = "meshgate.local/echo"
# A common stand-in backend; the echo app understands its -listen and -text flags.
HTTP_ECHO_IMAGE = "hashicorp/http-echo"
OPERATOR_IMAGE = "meshgate.local/operator"
# The Gateway API conformance suite's backend and its DNS server (sigs.k8s.io/gateway-api
# conformance/base/manifests.yaml).
ECHO_BASIC_IMAGE = "gcr.io/k8s-staging-gateway-api/echo-basic"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns"
# The mesh profile's backend and client (sigs.k8s.io/gateway-api conformance/mesh/manifests.yaml).
ECHO_ADVANCED_IMAGE = "gcr.io/k8s-staging-gateway-api/echo-advanced"
IDLE_APP = REPO / "tests" / "e2e" / "apps" / "idle.py"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Images:
    """Image names the agent recognises besides the built-in `meshgate.local/*` ones."""

    proxy: str = "meshproxy"
    operator: str = OPERATOR_IMAGE
    venv_bin: Path = Path(sys.executable).parent
    # The echo-basic program `make conformance` builds; None when it is not built.
    echo_basic: Path | None = None
    # meshgate's emulation of the echo-advanced image (server and `client`); None when not built.
    echo_advanced: Path | None = None


class UnknownImage(ValueError):
    """No local program stands in for this image."""


def _repo(image: str) -> str:
    """The image name without tag or digest: `ghcr.io/x/meshproxy:1.0` -> `ghcr.io/x/meshproxy`."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def stand_in(container: Body, images: Images) -> tuple[list[str], list[str]]:
    """(the host program standing in for the image, the container's own arguments)."""
    image = _repo(container.get("image", ""))
    command: list[str] = list(container.get("command") or [])
    args: list[str] = list(container.get("args") or [])
    if "meshproxy" in image or image == _repo(images.proxy):
        return [str(images.venv_bin / "meshproxy")], [*command[1:], *args]
    if image == _repo(images.operator) or image.endswith("meshgate-operator"):
        return [str(images.venv_bin / "meshgate")], [*command[1:], *args]
    if image.startswith(ECHO_IMAGE) or image.removeprefix("docker.io/") == HTTP_ECHO_IMAGE:
        return [sys.executable, str(ECHO_APP)], args
    if image == ECHO_BASIC_IMAGE:
        if images.echo_basic is None:
            raise UnknownImage(
                f"image {container.get('image')!r} needs the echo-basic program: build it with "
                "`make conformance-bins` and start the agent with --echo-basic PATH"
            )
        return [str(images.echo_basic)], args
    if image == ECHO_ADVANCED_IMAGE:
        if images.echo_advanced is None:
            raise UnknownImage(
                f"image {container.get('image')!r} needs the echo-advanced emulation: build it "
                "with `make conformance-bins` and start the agent with --echo-advanced PATH"
            )
        return [str(images.echo_advanced)], args
    if image == COREDNS_IMAGE:
        return [sys.executable, str(IDLE_APP)], []  # its -conf flag means nothing to the stand-in
    raise UnknownImage(f"no local program stands in for image {container.get('image')!r}")


def needs_own_network(pod_spec: Body, images: Images) -> bool:
    """Whether the Pod's programs bind wildcard addresses (echo-basic binds `:3000`, `:3001`,
    `:8443`), so they must run in a network namespace of their own, as on a node; every other
    stand-in binds the Pod's address and shares the agent's namespace."""
    containers = (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or [])
    return any(_repo(c.get("image", "")) == ECHO_BASIC_IMAGE for c in containers)


def image_commands(container: Body, images: Images) -> dict[str, list[str]]:
    """Commands the container's image holds that an `exec` may name, as host argv: the
    echo-advanced image's `client` (and its path there, `/usr/local/bin/client`)."""
    image = _repo(container.get("image", ""))
    if image == ECHO_ADVANCED_IMAGE and images.echo_advanced is not None:
        client = [str(images.echo_advanced), "client"]
        return {"client": client, "/usr/local/bin/client": client}
    return {}


def program(container: Body, images: Images) -> list[str]:
    """argv for the container: its command/args with the image's program substituted."""
    host, own = stand_in(container, images)
    return host + own


def launch_argv(
    container: Body, images: Images, env: Mapping[str, str], mounts: Mapping[str, Path]
) -> list[str]:
    """argv as started: only the container's own arguments name paths inside the container, so
    only they are expanded and moved into the Pod's directory. The program is a host path, even
    when the checkout lives under a path a container mounts (a clone in /tmp, a /tmp emptyDir)."""
    host, own = stand_in(container, images)
    return host + [rewrite_path(expand(a, env), mounts) for a in own]


def rewrite_path(value: str, mounts: Mapping[str, Path]) -> str:
    """`/etc/meshgate/config.json` -> `<pod dir>/root/etc/meshgate/config.json` (longest mount)."""
    for mount in sorted(mounts, key=len, reverse=True):
        if value == mount or value.startswith(mount.rstrip("/") + "/"):
            return str(mounts[mount]) + value[len(mount.rstrip("/")) :]
    for mount in sorted(mounts, key=len, reverse=True):
        # `--config=/etc/meshgate/config.json`: the path after an `=`.
        marker = "=" + mount.rstrip("/")
        if marker + "/" in value or value.endswith(marker):
            flag, _, path = value.partition("=")
            return f"{flag}={rewrite_path(path, mounts)}"
    return value


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion; unknown names stay as written, as on a node."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def environment(
    pod: Body,
    container: Body,
    pod_ip: str,
    lookup: Mapping[tuple[str, str], Body],
    base: Mapping[str, str],
) -> dict[str, str]:
    """The container's environment: base, envFrom, env (with valueFrom), then the pod address.

    `lookup` maps (kind, name) to the Pod namespace's ConfigMaps/Secrets (`data` already
    decoded to text).
    """
    env: dict[str, str] = dict(base)
    env["HOSTNAME"] = pod["metadata"]["name"]
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            if key in source:
                obj = lookup.get((kind, source[key]["name"])) or {}
                for k, v in (obj.get("data") or {}).items():
                    env[prefix + k] = v
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
            continue
        ref = var.get("valueFrom") or {}
        if "fieldRef" in ref:
            field = ref["fieldRef"]["fieldPath"]
            # The Pod's address is known here before the API server's copy of the status says so.
            value = pod_ip if field in ("status.podIP", "status.podIPs") else None
            env[var["name"]] = value or field_value(pod, field)
        for kind, key in (("configmap", "configMapKeyRef"), ("secret", "secretKeyRef")):
            if key in ref:
                obj = lookup.get((kind, ref[key]["name"])) or {}
                value = (obj.get("data") or {}).get(ref[key]["key"])
                if value is not None:
                    env[var["name"]] = value
        if "resourceFieldRef" in ref:
            env[var["name"]] = "0"  # no cgroups here: limits are not enforced locally
    for name, value in list(env.items()):
        if name not in base:
            # The Pod's loopback is its own address here: HTTP_PROXY then reaches its sidecar.
            env[name] = value.replace("127.0.0.1", pod_ip)
    env["MESHGATE_POD_IP"] = pod_ip
    return env
