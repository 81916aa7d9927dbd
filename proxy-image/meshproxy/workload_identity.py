"""The workload's mesh identity at run time: reloading contexts, their watch task, metrics, and
what `/ready` needs to know about the certificate.

One `WorkloadIdentity` per `config.Identity`: a reload with the same identity keeps it (so
listeners keep their context switches and MESH clusters their connections); a changed identity
builds a new one, and the old one's watch task stops once the new config is in place.

This module must never put key material anywhere: it handles file paths, counters and dates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime

from meshproxy import config
from meshproxy.observability.metrics import Registry
from meshproxy.tls.expiry import CertificateParseError, seconds_until_expiry
from meshproxy.tls.reload import Outcome, ReloadingIdentity

log = logging.getLogger("meshproxy.identity")

POLL_SECONDS = 1.0


class WorkloadIdentity:
    def __init__(self, identity: config.Identity, registry: Registry) -> None:
        """Loads the files now; TLSFilesError when they are missing or do not match."""
        self.config = identity
        self.tls = ReloadingIdentity(identity)
        self._reloaded = registry.cert_reloads.child(result="success")
        self._failed = registry.cert_reloads.child(result="failure")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self.tls.watch(POLL_SECONDS, self._on_change)
            )

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _on_change(self, outcome: Outcome) -> None:
        if outcome == "reloaded":
            self._reloaded.inc()
            log.info("identity %s reloaded", self.config.cert_file)
        else:
            self._failed.inc()
            log.error(
                "identity %s: keeping the previous certificate: %s",
                self.config.cert_file,
                self.tls.stats.last_error,
            )

    def expiry_seconds(self, now: datetime | None = None) -> float | None:
        with contextlib.suppress(OSError, CertificateParseError):
            return seconds_until_expiry(self.config.cert_file, now or datetime.now(UTC))
        return None

    def ready(self) -> tuple[bool, str]:
        """Files present and a certificate that is still valid (the contexts loaded it)."""
        files = (self.config.cert_file, self.config.key_file, self.config.ca_file)
        missing = [f for f in files if not os.path.exists(f)]
        if missing:
            return False, "identity files missing: " + ", ".join(missing)
        left = self.expiry_seconds()
        if left is None:
            return False, f"identity certificate {self.config.cert_file} is unreadable"
        if left <= 0:
            return False, f"identity certificate {self.config.cert_file} has expired"
        return True, "ready"
