"""Reach a proxy's HTTP endpoints through the API server (the Pod proxy subresource).

`GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`: the CLI needs no route to Pod IPs, only
the RBAC verb `get` on `pods/proxy`. Reads only; bodies are returned, never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from urllib3.exceptions import HTTPError

from meshgate.compile.paths import ADMIN_PORT, STATS_PORT
from meshgate.kube.rest import Rest

# /config is on ADMIN_PORT, loopback only (see meshproxy.admin); /metrics on STATS_PORT.
__all__ = ["ADMIN_PORT", "STATS_PORT", "Unreachable", "fetch", "fetch_admin"]


class Unreachable(Exception):
    """The proxy did not answer through the API server; the message says how it failed."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


def fetch(rest: Rest, namespace: str, pod: str, port: int, path: str, timeout: float = 10) -> str:
    """The body of a 200 answer from `path` on the Pod's `port`, else `Unreachable`."""
    try:
        status, data = rest.fetch(
            f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy{path}", timeout=timeout
        )
    except (HTTPError, OSError) as exc:
        raise Unreachable(f"pod {namespace}/{pod} port {port}: {type(exc).__name__}") from None
    if status != 200:
        raise Unreachable(f"pod {namespace}/{pod} port {port}{path}: HTTP {status}")
    return data.decode("utf-8", "replace")


def fetch_admin(rest: Rest, namespace: str, pod: str, path: str, timeout: float = 10) -> str:
    """`path` from the proxy's admin port, which listens on the Pod's loopback only.

    The Pod proxy is tried first: it answers where the admin address is the Pod's own (the
    local harness, or a proxy started with `--admin-address 0.0.0.0`). In a cluster it cannot
    reach loopback, so a port-forward through the API server and the kubelet follows, as
    `kubectl port-forward` does (RBAC: `create` on `pods/portforward`).
    """
    try:
        return fetch(rest, namespace, pod, ADMIN_PORT, path, timeout)
    except Unreachable as first:
        try:
            return _port_forward_get(rest, namespace, pod, ADMIN_PORT, path, timeout)
        except Exception as exc:  # the stream client raises several unrelated types
            raise Unreachable(f"{first}; port-forward: {type(exc).__name__}: {exc}") from None


def _port_forward_get(
    rest: Rest, namespace: str, pod: str, port: int, path: str, timeout: float
) -> str:
    # The one use of the generated `kubernetes` package left: its websocket port-forward. Only
    # this CLI path loads it, never the operator's process (docs/architecture.md).
    from kubernetes import config as k8s_config
    from kubernetes.client import ApiClient, Configuration, CoreV1Api
    from kubernetes.stream import portforward

    source = rest.credentials  # the same source `rest` was connected with
    if source.in_cluster:
        configuration = Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        client = ApiClient(configuration)
    else:
        client = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=source.kubeconfig, context=source.context
        )
    forward = portforward(
        CoreV1Api(client).connect_get_namespaced_pod_portforward,
        pod,
        namespace,
        ports=str(port),
    )
    try:
        sock = forward.socket(port)
        sock.settimeout(timeout)
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        forward.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b"0"
    if status != b"200":
        raise Unreachable(f"pod {namespace}/{pod} port {port}{path}: HTTP {status.decode()}")
    return body.decode("utf-8", "replace")
