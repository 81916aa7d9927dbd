"""Follow the generated ConfigMaps (label `app.kubernetes.io/managed-by=meshgate`) and hand every
listing and event to the config server.

Every replica runs this, active or standby: what it serves comes from the ConfigMaps, never from
its own reconcile, so any replica serves the same configs. List, then watch from the listing's
resourceVersion; on any error or an expired version, list again. Runs in a daemon thread (the
Kubernetes client is synchronous) and hands bodies to the event loop with
`call_soon_threadsafe`. This module must never write to the API server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch

log = logging.getLogger("meshgate.push.watch")

SELECTOR = "app.kubernetes.io/managed-by=meshgate"
WATCH_SECONDS = 300
RETRY_SECONDS = 1.0

Body = Mapping[str, Any]


class ConfigMapWatch:
    def __init__(
        self,
        api: k8s.ApiClient,
        namespaces: tuple[str, ...],
        loop: asyncio.AbstractEventLoop,
        on_listing: Callable[[str, list[Body]], None],
        on_event: Callable[[str, Body], None],
    ) -> None:
        self._core = k8s.CoreV1Api(api)
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
        response: Any  # the raw HTTP response: bodies stay dicts, as the watch's raw_object
        if namespace:
            response = self._core.list_namespaced_config_map(
                namespace, label_selector=SELECTOR, _preload_content=False
            )
        else:
            response = self._core.list_config_map_for_all_namespaces(
                label_selector=SELECTOR, _preload_content=False
            )
        data = json.loads(response.data)
        return list(data.get("items") or []), str(data["metadata"]["resourceVersion"])

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
        w = watch.Watch()  # type: ignore[no-untyped-call]
        kwargs: dict[str, Any] = {
            "label_selector": SELECTOR,
            "resource_version": version,
            "timeout_seconds": WATCH_SECONDS,
            "allow_watch_bookmarks": True,
        }
        func: Any = self._core.list_config_map_for_all_namespaces
        args: tuple[Any, ...] = ()
        if namespace:
            func, args = self._core.list_namespaced_config_map, (namespace,)
        while not self._stop.is_set():
            for event in w.stream(func, *args, **kwargs):  # type: ignore[no-untyped-call]
                kind, raw = event["type"], event["raw_object"]
                if kind == "ERROR":
                    raise RuntimeError(f"watch error {raw.get('code')}: {raw.get('reason')}")
                kwargs["resource_version"] = raw["metadata"]["resourceVersion"]
                if kind != "BOOKMARK":
                    self._loop.call_soon_threadsafe(self._on_event, kind, raw)
