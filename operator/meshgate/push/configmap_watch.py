"""Follow the generated ConfigMaps (label `app.kubernetes.io/managed-by=meshgate`) and hand every
listing and event to the config server.

Every replica runs this, active or standby: what it serves comes from the ConfigMaps, never from
its own reconcile, so any replica serves the same configs. List, then watch from the listing's
resourceVersion; on any error or an expired version, list again. Runs in a daemon thread (the
client, `Rest`, is synchronous) and hands bodies to the event loop with `call_soon_threadsafe`.
Bodies stay the server's JSON decoded once.
This module must never write to the API server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from meshgate.kube.rest import CONFIG_MAP, Rest

log = logging.getLogger("meshgate.push.watch")

SELECTOR = "app.kubernetes.io/managed-by=meshgate"
WATCH_SECONDS = 300
RETRY_SECONDS = 1.0

Body = Mapping[str, Any]


class ConfigMapWatch:
    def __init__(
        self,
        rest: Rest,
        namespaces: tuple[str, ...],
        loop: asyncio.AbstractEventLoop,
        on_listing: Callable[[str, list[Body]], None],
        on_event: Callable[[str, Body], None],
    ) -> None:
        self._rest = rest
        self._namespaces = namespaces
        self._loop = loop
        self._on_listing = on_listing
        self._on_event = on_event
        self._stop = threading.Event()

    def start(self) -> None:
        for scope in self._namespaces or ("",):
            threading.Thread(
                target=self._run, args=(scope,), name=f"push-watch-{scope or 'all'}", daemon=True
            ).start()

    def stop(self) -> None:
        self._stop.set()

    def _list(self, namespace: str) -> tuple[list[Body], str]:
        items, version = self._rest.list_versioned(CONFIG_MAP, namespace or None, labels=SELECTOR)
        return list(items), version

    def _run(self, namespace: str) -> None:
        while not self._stop.is_set():
            try:
                items, version = self._list(namespace)
                self._loop.call_soon_threadsafe(self._on_listing, namespace, items)
                self._watch(namespace, version)
            except Exception as exc:  # any failure: list again after a pause
                log.info("ConfigMap watch %s: %s; listing again", namespace or "(all)", exc)
                time.sleep(RETRY_SECONDS)

    def _watch(self, namespace: str, version: str) -> None:
        while not self._stop.is_set():
            for event in self._rest.watch(
                CONFIG_MAP,
                namespace or None,
                version,
                labels=SELECTOR,
                timeout_seconds=WATCH_SECONDS,
            ):
                kind, raw = event["type"], event["object"]
                if kind == "ERROR":
                    raise RuntimeError(f"watch error {raw.get('code')}: {raw.get('reason')}")
                version = raw["metadata"]["resourceVersion"]
                if kind != "BOOKMARK":
                    self._loop.call_soon_threadsafe(self._on_event, kind, raw)
                if self._stop.is_set():
                    return
