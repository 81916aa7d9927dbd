"""Fit a loaded config to the pod it runs in: its address and where its files are mounted.

Two environment variables, both optional and both applied once per config load:

- `MESHGATE_POD_IP`: listeners on `0.0.0.0` or `127.0.0.1`, and an inbound `forwardAddress` of
  `127.0.0.1`, use this address instead. A real pod has its own network namespace, so the
  wildcard is right there; the local e2e harness runs many pods as processes on one host, each
  with its own loopback address, and two sidecars must not fight over `0.0.0.0:15006`.
- `MESHGATE_FS_ROOT`: absolute file paths in the config (identity, TLS, API-key and JWKS files,
  Redis URL files) are resolved under this directory, as if it were the pod's root filesystem.

`adjust` is pure (config + env in, config out) so the rules are tested without processes. This
module must never read the files it rewrites, nor touch fields other than addresses and paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from msgspec.structs import replace

from meshproxy import config

POD_IP = "MESHGATE_POD_IP"
FS_ROOT = "MESHGATE_FS_ROOT"

# Addresses that mean "this pod" in a manifest: in a shared host they must become the pod's own.
_POD_LOCAL = frozenset({"0.0.0.0", "127.0.0.1"})  # noqa: S104 - compared, never bound

M = TypeVar("M", bound=config.Model)


def bind_address(address: str, env: Mapping[str, str]) -> str:
    """Where a socket configured for `address` really binds in this pod (admin port too)."""
    pod_ip = env.get(POD_IP)
    return pod_ip if pod_ip and address in _POD_LOCAL else address


def adjust(cfg: config.ProxyConfig, env: Mapping[str, str]) -> config.ProxyConfig:
    pod_ip = env.get(POD_IP) or ""
    root = env.get(FS_ROOT) or ""
    if not pod_ip and not root:
        return cfg
    update: dict[str, object] = {}
    if pod_ip:
        update["listeners"] = [_listener_address(lst, pod_ip) for lst in cfg.listeners]
    if root:
        listeners = update.get("listeners")
        update.update(_files(cfg, root, listeners if isinstance(listeners, list) else None))
    return replace(cfg, **update)


def _listener_address(listener: config.Listener, pod_ip: str) -> config.Listener:
    update: dict[str, object] = {}
    if listener.address in _POD_LOCAL:
        update["address"] = pod_ip
    inbound = listener.inbound
    if inbound is not None and inbound.forward_address == "127.0.0.1":
        update["inbound"] = replace(inbound, forward_address=pod_ip)
    return replace(listener, **update) if update else listener


def _files(
    cfg: config.ProxyConfig, root: str, listeners: list[config.Listener] | None
) -> dict[str, object]:
    rooted = _Rooted(root)
    files = rooted.files
    update: dict[str, object] = {}
    if cfg.identity is not None:
        update["identity"] = files(cfg.identity, "cert_file", "key_file", "ca_file")
    update["listeners"] = [
        replace(lst, tls=rooted.server_tls(lst.tls)) if lst.tls is not None else lst
        for lst in (listeners if listeners is not None else cfg.listeners)
    ]
    update["clusters"] = [
        replace(c, tls=files(c.tls, "ca_file", "cert_file", "key_file")) for c in cfg.clusters
    ]
    update["authn"] = [rooted.authn(a) for a in cfg.authn]
    update["rate_limits"] = [files(r, "redis_url_file") for r in cfg.rate_limits]
    return update


class _Rooted:
    def __init__(self, root: str) -> None:
        self._root = root

    def path(self, value: str) -> str:
        # os.path.join would drop the root for an absolute path: strip the leading slash first.
        return os.path.join(self._root, value.lstrip("/")) if value.startswith("/") else value

    def files(self, model: M, *fields: str) -> M:
        update = {f: self.path(getattr(model, f)) for f in fields if getattr(model, f)}
        return replace(model, **update) if update else model

    def server_tls(self, tls: config.ServerTLS) -> config.ServerTLS:
        tls = self.files(tls, "cert_file", "key_file", "client_ca_file")
        if not tls.sni_certificates:
            return tls
        sni = [self.files(c, "cert_file", "key_file") for c in tls.sni_certificates]
        return replace(tls, sni_certificates=sni)

    def authn(self, policy: config.AuthnPolicy) -> config.AuthnPolicy:
        update: dict[str, object] = {}
        if policy.api_key is not None:
            update["api_key"] = self.files(policy.api_key, "keys_file")
        if policy.jwt is not None:
            providers = [self.files(p, "jwks_file") for p in policy.jwt.providers]
            update["jwt"] = replace(policy.jwt, providers=providers)
        return replace(policy, **update) if update else policy
