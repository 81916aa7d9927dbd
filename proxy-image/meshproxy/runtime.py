"""The proxy process: load config, build stacks, open listeners, reload, drain on SIGTERM.

Reload: a valid new config builds a complete new set of stacks first; only then is each
listener's stack reference swapped, listeners added or closed, and the old clusters closed once
their in-flight requests had time to finish (`limits.drainTimeout`). An invalid config is
refused: logged with its `ConfigError` message, counted in `meshproxy_config_reloads_total
{result="failure"}`, and the previous config keeps serving.

An HTTPS gateway listener follows its certificate files: a rotation swaps the certificate new
handshakes get, without reopening the listener (`tls.reload.ReloadingEdgeCertificate`).

Shutdown: stop accepting, let every connection finish the request it is serving (idle ones
close at once), and return when all are closed or the drain timeout has passed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from meshproxy import config, configparts, podenv, podlabels
from meshproxy.digest import sha256_hex
from meshproxy.limits import memory
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.settings import resolve
from meshproxy.observability.metrics import Registry
from meshproxy.peermodes import PeerModes
from meshproxy.reload import ConfigWatcher
from meshproxy.server.listen import create_server
from meshproxy.server.negotiate import CodecChoice
from meshproxy.server.sniffing import SniffingServer
from meshproxy.server.state import ListenerState
from meshproxy.server.tls import identity_reader, remember_sni
from meshproxy.stack import Built, build
from meshproxy.tls.errors import TLSFilesError
from meshproxy.tls.modes import handshake_requires_client_cert, plaintext_only
from meshproxy.tls.reload import Outcome, ReloadingEdgeCertificate
from meshproxy.workload_identity import POLL_SECONDS, WorkloadIdentity

if TYPE_CHECKING:
    from meshproxy.delivery.stream import ConfigStream

log = logging.getLogger("meshproxy")


# Failures that may heal without a config change (files not mounted yet): retried on a backoff.
_RETRY_FIRST, _RETRY_MAX = 1.0, 30.0


class _Server(Protocol):
    def close(self) -> None: ...


class _OpenListener:
    def __init__(
        self, cfg: config.Listener, server: _Server, state: ListenerState, socket_key: object
    ) -> None:
        self.cfg = cfg
        self.server = server
        self.state = state
        self.socket_key = socket_key
        self.cert_watch: asyncio.Task[None] | None = None  # an HTTPS gateway's certificate files

    def close(self) -> None:
        self.server.close()
        if self.cert_watch is not None:
            self.cert_watch.cancel()
            self.cert_watch = None


class Proxy:
    def __init__(
        self,
        config_path: str,
        registry: Registry | None = None,
        env: Mapping[str, str] | None = None,
        labels_file: str | None = None,
    ) -> None:
        self.config_path = config_path
        self.registry = registry or Registry()
        self.env = os.environ if env is None else env
        self.labels_file = labels_file or self.env.get(podlabels.ENV) or None
        self.identity: WorkloadIdentity | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._retry_delay = _RETRY_FIRST
        self.built: Built | None = None
        self.version = ""
        self.draining = False
        self._listeners: dict[tuple[str, int], _OpenListener] = {}
        self._watcher = ConfigWatcher(config_path, self._on_file_change)
        self._reload_ok = self.registry.reloads.child(result="success")
        self._reload_failed = self.registry.reloads.child(result="failure")
        self._last_raw: bytes | None = None
        # A pushed config that failed for files not mounted yet: retried instead of the file.
        self._pending_push: bytes | None = None
        # The operator's config stream, when one is configured (`delivery`); None: file only.
        self.stream: ConfigStream | None = None
        self._loop = asyncio.get_running_loop()
        self._container_memory = memory.cgroup_limit()
        self.memory = memory.MemoryCeiling(0)
        self.registry.gauge(
            "meshproxy_memory_ceiling_bytes",
            "Resident size past which new connections are refused and requests shed (0: none).",
            lambda: [((), float(self.memory.ceiling))],
        )
        self.registry.gauge(
            "meshproxy_overloaded",
            "1 while the resident size is past the memory ceiling.",
            lambda: [((), 1.0 if self.memory.over else 0.0)],
        )
        self.registry.gauge(
            "meshproxy_requests_in_progress",
            "Requests handed to the stack and not yet answered, by listener.",
            lambda: [
                ((("listener", o.cfg.name),), float(o.state.guard.active))
                for o in self._listeners.values()
            ],
        )
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
            "meshproxy_config_stream_connected",
            "1 while the config stream to the operator is up (file changes wait meanwhile).",
            lambda: [] if self.stream is None else [((), float(self.stream.connected))],
        )
        self.registry.gauge(
            "meshproxy_upstream_connections",
            "Open upstream connections, by cluster.",
            self._connection_gauge,
        )
        self.registry.collected_counter(
            "meshproxy_outlier_ejections_total",
            "Endpoints ejected by outlier detection since start, by cluster (monotonic).",
            self._ejection_counts,
        )
        self.registry.gauge(
            "meshproxy_downstream_connections",
            "Open client connections, by listener.",
            lambda: [
                ((("listener", o.cfg.name),), float(o.state.guard.connections))
                for o in self._listeners.values()
            ],
        )
        self.registry.gauge(
            "meshproxy_cert_expiry_seconds",
            "Seconds until the workload certificate expires (negative once it has).",
            self._expiry_gauge,
        )

    # --- config ---------------------------------------------------------------------------------

    async def start(self, stream: ConfigStream | None = None) -> None:
        """Boot from the file, then follow the file and, when given, the operator's stream."""
        await self.reload()
        self._watcher.start()
        self.stream = stream
        if stream is not None:
            stream.start()

    async def reload(self) -> bool:
        """Load the file and apply it; False (old config kept) when it is unusable."""
        try:
            raw = configparts.read_config(self.config_path)  # the parts, when an index
        except (ValueError, OSError) as exc:
            self._reload_failed.inc()
            log.error("config %s refused, keeping the previous one: %s", self.config_path, exc)
            self._retry_later()  # files may still be on their way: try again
            return False
        return await self._load(raw, self.config_path)

    async def apply_pushed(self, raw: bytes) -> bool:
        """Apply a config the operator's stream delivered, exactly as a file reload would."""
        self._pending_push = None
        return await self._load(raw, "from the config server", pushed=True)

    async def _load(self, raw: bytes, source: str, *, pushed: bool = False) -> bool:
        try:
            if raw == self._last_raw:
                return True
            cfg = self.fit(config.parse_config(raw))
            identity = self._identity_for(cfg.identity)
            built = build(cfg, self.registry, self.built, identity.tls if identity else None)
        except (config.ConfigError, ValueError, OSError, TLSFilesError) as exc:
            self._reload_failed.inc()
            log.error("config %s refused, keeping the previous one: %s", source, exc)
            if isinstance(exc, (TLSFilesError, podlabels.LabelsFileError, OSError)):
                if pushed:
                    self._pending_push = raw
                self._retry_later()  # files may still be on their way: try again
            return False
        try:
            await self._apply(built, identity)
        except (OSError, TLSFilesError) as exc:
            built.close_unused(self.built)
            self._reload_failed.inc()
            log.error(
                "config %s: cannot open a listener, keeping the previous one: %s", source, exc
            )
            return False
        if identity is not self.identity:
            if self.identity is not None:
                self.identity.stop()
            self.identity = identity
            if identity is not None:
                identity.start()
        self._retry_delay = _RETRY_FIRST
        self._last_raw = raw
        self.version = cfg.version or sha256_hex(raw)[:16]
        self._reload_ok.inc()
        log.info("config %s applied (version %s)", source, self.version)
        for lst in cfg.listeners:
            log.debug("listener %s (%s) serves %s:%d", lst.name, lst.role, lst.address, lst.port)
        return True

    def fit(self, cfg: config.ProxyConfig) -> config.ProxyConfig:
        """The config as this pod runs it: its address, its file root, its labels."""
        cfg = podenv.adjust(cfg, self.env)
        if self.labels_file:
            cfg = podlabels.with_labels(cfg, podlabels.read_labels(self.labels_file))
        return cfg

    def _identity_for(self, identity: config.Identity | None) -> WorkloadIdentity | None:
        if identity is None:
            return None
        if self.identity is not None and self.identity.config == identity:
            return self.identity
        return WorkloadIdentity(identity, self.registry)

    def _retry_later(self) -> None:
        if self._retry is not None or self.draining:
            return
        delay, self._retry_delay = self._retry_delay, min(self._retry_delay * 2, _RETRY_MAX)

        def retry() -> None:
            self._retry = None
            pending = self._pending_push
            if pending is not None:
                self._loop.create_task(self._load(pending, "from the config server", pushed=True))
            else:
                self._loop.create_task(self.reload())

        self._retry = self._loop.call_later(delay, retry)

    async def _apply(self, built: Built, identity: WorkloadIdentity | None) -> None:
        wanted = {(lst.address, lst.port): lst for lst in built.config.listeners}
        keys = {key: _socket_key(lst, built.config, identity) for key, lst in wanted.items()}
        opened: list[tuple[tuple[str, int], _OpenListener]] = []
        try:
            for key, lst in wanted.items():
                current = self._listeners.get(key)
                if current is None:
                    opened.append((key, await self._open(lst, built, identity, keys[key])))
                # A changed socket (TLS, mode, identity) is replaced below, once the old one
                # has freed the port.
        except (OSError, TLSFilesError):
            for _, listener in opened:
                listener.close()
            raise
        for key, listener in opened:
            self._listeners[key] = listener
        for key, current in list(self._listeners.items()):
            wanted_cfg = wanted.get(key)
            if wanted_cfg is None or current.socket_key != keys[key]:
                self._close_listener(key)
                if wanted_cfg is not None:
                    self._listeners[key] = await self._open(wanted_cfg, built, identity, keys[key])
            else:
                current.cfg = wanted_cfg
                current.state.stack = built.stacks[wanted_cfg.name]  # the swap: one reference
                current.state.passthrough = built.passthrough.get(wanted_cfg.name)
                current.state.guard.configure(
                    resolve(wanted_cfg, built.config.limits), _line_writer(built)
                )
        self._set_memory_ceiling(built.config.limits)
        previous, self.built = self.built, built
        if previous is not None:
            delay = built.config.limits.drain_timeout
            self._loop.call_later(delay, previous.close_unused, built)
            if previous.access_log is not None and previous.access_log is not built.access_log:
                self._loop.call_later(delay, previous.access_log.close)

    async def _open(
        self,
        lst: config.Listener,
        built: Built,
        identity: WorkloadIdentity | None,
        socket_key: object,
    ) -> _OpenListener:
        cfg = built.config
        guard = ListenerGuard(
            resolve(lst, cfg.limits), lst.name, self.registry, self.memory, _line_writer(built)
        )
        state = ListenerState(built.stacks[lst.name], "https" if lst.tls else "http", guard)
        state.passthrough = built.passthrough.get(lst.name)
        identity_of = identity_reader(identity.config.trust_domain) if identity else None
        server: _Server
        modes = (
            PeerModes.compile(lst.inbound, cfg.node.labels).modes()
            if lst.role == "inbound" and lst.inbound is not None
            else []
        )
        if identity is not None and modes and not plaintext_only(modes):
            required = handshake_requires_client_cert(modes)
            # The switch's outer context lives as long as the identity: rotations swap what
            # is inside it, so this listener never needs reopening for a new certificate.
            outer = identity.tls.server_switch(required).outer
            if required:
                server = await create_server(
                    self._loop,
                    lambda: CodecChoice(state, identity_of),
                    lst.address,
                    lst.port,
                    ssl_context=outer,
                    ssl_handshake_timeout=cfg.limits.header_timeout,
                )
            else:
                sniffing = SniffingServer(
                    lambda: CodecChoice(state, identity_of), outer, cfg.limits.header_timeout
                )
                await sniffing.start(lst.address, lst.port)
                server = sniffing
            return _OpenListener(lst, server, state, socket_key)
        ssl_context = None
        edge = None
        if lst.tls is not None:
            edge = ReloadingEdgeCertificate(lst.tls)
            ssl_context = remember_sni(edge.switch.outer, state)
        server = await create_server(
            self._loop,
            lambda: CodecChoice(state, identity_of if ssl_context is not None else None),
            lst.address,
            lst.port,
            ssl_context=ssl_context,
        )
        listener = _OpenListener(lst, server, state, socket_key)
        if edge is not None:
            listener.cert_watch = self._loop.create_task(
                edge.watch(POLL_SECONDS, lambda outcome: self._on_edge_cert(edge, outcome))
            )
        return listener

    def _set_memory_ceiling(self, limits: config.Limits) -> None:
        setting = limits.memory_ceiling_bytes
        self.memory.ceiling = memory.ceiling_bytes(
            None if setting is msgspec.UNSET else setting, self._container_memory
        )
        if self.memory.ceiling:
            self.memory.start()
        else:
            self.memory.stop()
            self.memory.observe(0)

    def _on_edge_cert(self, edge: ReloadingEdgeCertificate, outcome: Outcome) -> None:
        if outcome == "reloaded":
            self.registry.cert_reloads.child(result="success").inc()
            log.info("edge certificate %s reloaded", edge.cert_file)
        else:
            self.registry.cert_reloads.child(result="failure").inc()
            log.error(
                "edge certificate %s: keeping the previous one: %s",
                edge.cert_file,
                edge.stats.last_error,
            )

    def _close_listener(self, key: tuple[str, int]) -> None:
        listener = self._listeners.pop(key)
        listener.close()
        listener.state.draining = True
        for conn in list(listener.state.connections):
            conn.shutdown()

    def _on_file_change(self) -> None:
        if self.stream is not None and self.stream.connected:
            # The stream delivered this version already (the operator writes the ConfigMap
            # before any replica serves it); the file is the fallback while the stream is down.
            return
        self._loop.create_task(self.reload())

    # --- status ---------------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        if self.draining:
            return False, "draining"
        if self.built is None:
            return False, "no valid config loaded"
        if self.identity is not None:
            return self.identity.ready()
        return True, "ready"

    def _expiry_gauge(self) -> list[tuple[tuple[tuple[str, str], ...], float]]:
        left = self.identity.expiry_seconds() if self.identity is not None else None
        return [] if left is None else [((), left)]

    def active_config(self) -> config.ProxyConfig | None:
        return self.built.config if self.built is not None else None

    def _connection_gauge(self) -> list[tuple[tuple[tuple[str, str], ...], float]]:
        if self.built is None:
            return []
        return [
            ((("cluster", name),), float(c.open_connections()))
            for name, c in self.built.clusters.items()
        ]

    def _ejection_counts(self) -> list[tuple[tuple[tuple[str, str], ...], float]]:
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
        self.memory.stop()
        if self.stream is not None:
            await self.stream.stop()
        if self._retry is not None:
            self._retry.cancel()
        if self.identity is not None:
            self.identity.stop()
        timeout = self.built.config.limits.drain_timeout if self.built else 0
        states: list[Any] = []
        for listener in self._listeners.values():
            listener.close()
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


def _line_writer(built: Built) -> Callable[[str], None] | None:
    return built.access_log.write_line if built.access_log is not None else None


def _socket_key(
    lst: config.Listener, cfg: config.ProxyConfig, identity: WorkloadIdentity | None
) -> object:
    """What fixes a listening socket; when it changes, the listener is reopened. TLS contexts
    and the handshake's verify mode cannot change under a running server."""
    if lst.role == "inbound" and lst.inbound is not None:
        modes = PeerModes.compile(lst.inbound, cfg.node.labels).modes()
        return ("inbound", identity, handshake_requires_client_cert(modes), plaintext_only(modes))
    return ("tls", lst.tls, cfg.identity.trust_domain if cfg.identity else None)
