"""The proxy process: load config, build stacks, open listeners, reload, drain on SIGTERM.

Reload: a valid new config builds a complete new set of stacks first; only then is each
listener's stack reference swapped, listeners added or closed, and the old clusters closed once
their in-flight requests had time to finish (`limits.drainTimeout`). An invalid config is
refused: logged with its `ConfigError` message, counted in `meshproxy_config_reloads_total
{result="failure"}`, and the previous config keeps serving.

Shutdown: stop accepting, let every connection finish the request it is serving (idle ones
close at once), and return when all are closed or the drain timeout has passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from typing import Any

from meshproxy import config
from meshproxy.observability.metrics import Registry
from meshproxy.reload import ConfigWatcher
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState
from meshproxy.server.tls import peer_identity, server_context
from meshproxy.stack import Built, build

log = logging.getLogger("meshproxy")


class _OpenListener:
    def __init__(self, cfg: config.Listener, server: asyncio.Server, state: ListenerState) -> None:
        self.cfg = cfg
        self.server = server
        self.state = state


class Proxy:
    def __init__(self, config_path: str, registry: Registry | None = None) -> None:
        self.config_path = config_path
        self.registry = registry or Registry()
        self.built: Built | None = None
        self.version = ""
        self.draining = False
        self._listeners: dict[tuple[str, int], _OpenListener] = {}
        self._watcher = ConfigWatcher(config_path, self._on_file_change)
        self._reload_ok = self.registry.reloads.child(result="success")
        self._reload_failed = self.registry.reloads.child(result="failure")
        self._last_raw: bytes | None = None
        self._loop = asyncio.get_running_loop()
        self.registry.gauge(
            "meshproxy_config_info",
            "The active config: schema and version (content hash) as labels.",
            lambda: (
                [((("schema", config.SCHEMA), ("version", self.version)), 1.0)]
                if self.built is not None
                else []
            ),
        )
        self.registry.gauge(
            "meshproxy_upstream_connections",
            "Open upstream connections, by cluster.",
            self._connection_gauge,
        )
        self.registry.gauge(
            "meshproxy_outlier_ejections_total",
            "Endpoints ejected by outlier detection since start, by cluster (monotonic).",
            self._ejection_gauge,
        )
        self.registry.gauge(
            "meshproxy_downstream_connections",
            "Open client connections, by listener.",
            lambda: [
                ((("listener", o.cfg.name),), float(len(o.state.connections)))
                for o in self._listeners.values()
            ],
        )

    # --- config ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        self._watcher.start()

    async def reload(self) -> bool:
        """Load the file and apply it; False (old config kept) when it is unusable."""
        try:
            raw = _read(self.config_path)
            if raw == self._last_raw:
                return True
            cfg = config.parse_config(raw)
            built = build(cfg, self.registry, self.built)
        except (config.ConfigError, ValueError, OSError) as exc:
            self._reload_failed.inc()
            log.error("config %s refused, keeping the previous one: %s", self.config_path, exc)
            return False
        try:
            await self._apply(built)
        except OSError as exc:
            built.close_unused(self.built)
            self._reload_failed.inc()
            log.error(
                "config %s: cannot open a listener, keeping the previous one: %s",
                self.config_path,
                exc,
            )
            return False
        self._last_raw = raw
        self.version = cfg.version or hashlib.sha256(raw).hexdigest()[:16]
        self._reload_ok.inc()
        log.info("config %s applied (version %s)", self.config_path, self.version)
        return True

    async def _apply(self, built: Built) -> None:
        wanted = {(lst.address, lst.port): lst for lst in built.config.listeners}
        opened: list[tuple[tuple[str, int], _OpenListener]] = []
        try:
            for key, lst in wanted.items():
                current = self._listeners.get(key)
                if current is None or current.cfg.tls != lst.tls:
                    if current is not None:
                        continue  # TLS changed: replaced below, after the old one is closed
                    opened.append((key, await self._open(lst, built)))
        except OSError:
            for _, listener in opened:
                listener.server.close()
            raise
        for key, listener in opened:
            self._listeners[key] = listener
        for key, current in list(self._listeners.items()):
            wanted_cfg = wanted.get(key)
            if wanted_cfg is None or current.cfg.tls != wanted_cfg.tls:
                self._close_listener(key)
                if wanted_cfg is not None:
                    self._listeners[key] = await self._open(wanted_cfg, built)
            else:
                current.cfg = wanted_cfg
                current.state.stack = built.stacks[wanted_cfg.name]  # the swap: one reference
        previous, self.built = self.built, built
        if previous is not None:
            delay = built.config.limits.drain_timeout
            self._loop.call_later(delay, previous.close_unused, built)
            if previous.access_log is not None and previous.access_log is not built.access_log:
                self._loop.call_later(delay, previous.access_log.close)

    async def _open(self, lst: config.Listener, built: Built) -> _OpenListener:
        state = ListenerState(built.stacks[lst.name], "https" if lst.tls else "http")
        ssl_context = server_context(lst.tls, state) if lst.tls is not None else None
        identity = peer_identity if lst.tls is not None and lst.tls.client_ca_file else None
        server = await self._loop.create_server(
            lambda: HttpServerProtocol(state, identity),
            lst.address,
            lst.port,
            ssl=ssl_context,
            reuse_address=True,
            backlog=1024,
        )
        return _OpenListener(lst, server, state)

    def _close_listener(self, key: tuple[str, int]) -> None:
        listener = self._listeners.pop(key)
        listener.server.close()
        listener.state.draining = True
        for conn in list(listener.state.connections):
            conn.shutdown()

    def _on_file_change(self) -> None:
        self._loop.create_task(self.reload())

    # --- status ---------------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        if self.draining:
            return False, "draining"
        if self.built is None:
            return False, "no valid config loaded"
        identity = self.built.config.identity
        if identity is not None:
            missing = [
                f
                for f in (identity.cert_file, identity.key_file, identity.ca_file)
                if not os.path.exists(f)
            ]
            if missing:
                return False, "identity files missing: " + ", ".join(missing)
        return True, "ready"

    def active_config(self) -> config.ProxyConfig | None:
        return self.built.config if self.built is not None else None

    def _connection_gauge(self) -> list[tuple[tuple[tuple[str, str], ...], float]]:
        if self.built is None:
            return []
        return [
            ((("cluster", name),), float(c.open_connections()))
            for name, c in self.built.clusters.items()
        ]

    def _ejection_gauge(self) -> list[tuple[tuple[tuple[str, str], ...], float]]:
        if self.built is None:
            return []
        return [
            ((("cluster", name),), float(c.detector.ejections_total))
            for name, c in self.built.clusters.items()
            if c.detector is not None
        ]

    # --- shutdown -------------------------------------------------------------------------------

    async def drain(self) -> None:
        """Stop accepting; finish in-flight requests within the drain timeout."""
        self.draining = True
        self._watcher.stop()
        timeout = self.built.config.limits.drain_timeout if self.built else 0
        states: list[Any] = []
        for listener in self._listeners.values():
            listener.server.close()
            listener.state.draining = True
            states.append(listener.state)
        for state in states:
            for conn in list(state.connections):
                conn.shutdown()
        deadline = time.monotonic() + timeout
        # Polled: connections of every listener share one deadline.
        while any(s.connections for s in states) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if self.built is not None:
            self.built.close_unused(None)
            if self.built.access_log is not None:
                self.built.access_log.close()


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
