"""Reach a proxy's HTTP endpoints through the API server (the Pod proxy subresource).

`GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`: the CLI needs no route to Pod IPs, only
the RBAC verb `get` on `pods/proxy`. Reads only; bodies are returned, never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from meshgate.compile.paths import ADMIN_PORT
from meshgate.kube.rest import Rest

# /metrics and /ready: the port Prometheus and the kubelet reach.
STATS_PORT = ADMIN_PORT
# /config: the admin view.
CONFIG_PORT = ADMIN_PORT


class Unreachable(Exception):
    """The proxy did not answer through the API server; the message says how it failed."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


def fetch(rest: Rest, namespace: str, pod: str, port: int, path: str, timeout: float = 10) -> str:
    """The body of a 200 answer from `path` on the Pod's `port`, else `Unreachable`."""
    api = rest.api
    method, url, headers, _, _ = api.param_serialize(
        "GET",
        f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy{path}",
        header_params={"Accept": "*/*"},
        auth_settings=["BearerToken"],
    )
    try:
        resp = api.call_api(method, url, headers, None, _request_timeout=timeout)
        data: bytes = resp.read()  # type: ignore[no-untyped-call]
    except (ApiException, HTTPError, OSError) as exc:
        raise Unreachable(f"pod {namespace}/{pod} port {port}: {type(exc).__name__}") from None
    if resp.status != 200:
        raise Unreachable(f"pod {namespace}/{pod} port {port}{path}: HTTP {resp.status}")
    return data.decode("utf-8", "replace")
