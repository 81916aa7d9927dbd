"""Follow a workload's certificate files and rebuild its TLS contexts when they change.

Kubelet updates a mounted Secret by writing a new directory and swapping the `..data` symlink,
so a change shows up as a new resolved path, inode or mtime, never as a half-written file. Other
writers may replace the certificate and key one after the other; loading then fails ("key
values mismatch") and the previous contexts stay until the pair is consistent again.

Server contexts reach listeners through `ContextSwitch` (existing connections keep theirs, new
handshakes get the new certificate); the mesh client context is read per new connection from
`client_context`. A gateway's HTTPS listener follows its own certificate files the same way
(`ReloadingEdgeCertificate`). This module must never drop a working context for a broken one.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import msgspec

from meshproxy.config import Identity, ServerTLS
from meshproxy.tls.contexts import (
    H2_ALPN,
    edge_context_from,
    mesh_client_context,
    server_context,
)
from meshproxy.tls.errors import TLSFilesError
from meshproxy.tls.switch import ContextSwitch

FileState = tuple[str, int, int, int, int] | None
Outcome = Literal["unchanged", "reloaded", "failed"]


class CertWatcher:
    """Tells whether any of a set of files changed since the last `accept()`."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._paths = tuple(paths)
        self._seen = self.snapshot()

    def snapshot(self) -> tuple[FileState, ...]:
        return tuple(_state(p) for p in self._paths)

    def changed(self) -> bool:
        return self.snapshot() != self._seen

    def accept(self, snapshot: tuple[FileState, ...]) -> None:
        self._seen = snapshot


def _state(path: str) -> FileState:
    try:
        # realpath catches the kubelet symlink swap even when the new files copy old mtimes.
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return (real, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class ReloadStats:
    reloads: int = 0
    failures: int = 0
    last_error: str | None = None


class ReloadingIdentity:
    """The current server and client contexts for one `Identity`, rebuilt on file changes."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity
        self._watcher = CertWatcher([identity.cert_file, identity.key_file, identity.ca_file])
        self._client = mesh_client_context(identity)
        self._client_h2 = mesh_client_context(identity, H2_ALPN)
        self._switches: dict[bool, ContextSwitch] = {}
        self.stats = ReloadStats()

    @property
    def identity(self) -> Identity:
        return self._identity

    def server_switch(self, require_client_cert: bool) -> ContextSwitch:
        """The switch for inbound listeners of this verify mode; give `.outer` to the server."""
        switch = self._switches.get(require_client_cert)
        if switch is None:
            switch = ContextSwitch(server_context(self._identity, require_client_cert))
            self._switches[require_client_cert] = switch
        return switch

    def client_context(self) -> ssl.SSLContext:
        """The mesh client context to use for the next new connection."""
        return self._client

    def client_context_h2(self) -> ssl.SSLContext:
        """As `client_context`, offering only `h2` (HTTP/2 clusters)."""
        return self._client_h2

    def poll(self) -> Outcome:
        """Rebuild every context if the files changed. On "failed" the old contexts stay and
        `stats.last_error` says why; the next change of any file triggers another attempt."""
        if not self._watcher.changed():
            return "unchanged"
        # Snapshot before loading: a write racing the load shows up as another change.
        snapshot = self._watcher.snapshot()
        self._watcher.accept(snapshot)
        try:
            client = mesh_client_context(self._identity)
            client_h2 = mesh_client_context(self._identity, H2_ALPN)
            servers = {
                required: server_context(self._identity, required) for required in self._switches
            }
        except TLSFilesError as exc:
            self.stats.failures += 1
            self.stats.last_error = str(exc)
            return "failed"
        for required, ctx in servers.items():
            self._switches[required].swap(ctx)
        self._client = client
        self._client_h2 = client_h2
        self.stats.reloads += 1
        self.stats.last_error = None
        return "reloaded"

    async def watch(
        self, interval: float = 1.0, on_change: Callable[[Outcome], None] | None = None
    ) -> None:
        """Poll forever (cancel the task to stop). Reading three stats a second is cheaper and
        simpler than inotify, and works on every volume type kubelet mounts."""
        await _watch(self.poll, interval, on_change)


class ReloadingEdgeCertificate:
    """An HTTPS gateway listener's certificates, swapped into its `switch` when the files change.

    The listener's own certificate answers handshakes without a matching SNI; each of
    `sniCertificates` answers the names it lists (exact, or `*.parent` for one label). All are
    reloaded together: a broken file keeps every previous context. Give `switch.outer` to the
    listener once; a rotation never reopens it."""

    def __init__(self, tls: ServerTLS) -> None:
        """Loads the files now; TLSFilesError when they are missing or do not match."""
        self._tls = tls
        files = [tls.cert_file, tls.key_file]
        if tls.client_ca_file:
            files.append(tls.client_ca_file)
        for extra in tls.sni_certificates:
            files += [extra.cert_file, extra.key_file]
        self._watcher = CertWatcher(files)
        default, by_name = self._contexts()
        self.switch = ContextSwitch(default, by_name)
        self.stats = ReloadStats()

    @property
    def cert_file(self) -> str:
        return self._tls.cert_file

    def _contexts(self) -> tuple[ssl.SSLContext, dict[str, ssl.SSLContext]]:
        by_name: dict[str, ssl.SSLContext] = {}
        for extra in self._tls.sni_certificates:
            ctx = edge_context_from(
                msgspec.structs.replace(
                    self._tls, cert_file=extra.cert_file, key_file=extra.key_file
                )
            )
            for name in extra.hostnames:
                by_name.setdefault(name, ctx)
        return edge_context_from(self._tls), by_name

    def poll(self) -> Outcome:
        """Swap in contexts built from the changed files; on "failed" the old ones stay."""
        if not self._watcher.changed():
            return "unchanged"
        snapshot = self._watcher.snapshot()
        self._watcher.accept(snapshot)
        try:
            default, by_name = self._contexts()
        except TLSFilesError as exc:
            self.stats.failures += 1
            self.stats.last_error = str(exc)
            return "failed"
        self.switch.swap(default, by_name)
        self.stats.reloads += 1
        self.stats.last_error = None
        return "reloaded"

    async def watch(
        self, interval: float = 1.0, on_change: Callable[[Outcome], None] | None = None
    ) -> None:
        await _watch(self.poll, interval, on_change)


async def _watch(
    poll: Callable[[], Outcome], interval: float, on_change: Callable[[Outcome], None] | None
) -> None:
    while True:
        await asyncio.sleep(interval)
        outcome = poll()
        if outcome != "unchanged" and on_change is not None:
            on_change(outcome)
