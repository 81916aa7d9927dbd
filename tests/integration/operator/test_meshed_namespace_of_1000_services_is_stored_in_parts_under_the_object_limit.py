"""A meshed namespace of 1,000 Services compiles to a sidecar config over 1 MiB; the operator
stores it as gzip parts and a small index (no 422 from the API server), writes every part before
the index that names it, and when the config shrinks back inline deletes the parts only after
the index stopped naming them."""

from __future__ import annotations

import base64
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client, watch
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess, call, eventually, get, path_of
from urllib3.exceptions import ProtocolError

from meshproxy import configparts

OBJECT_LIMIT = 1024 * 1024
SERVICES = 1000


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]},
    }


def _each(api: ApiClient, method: str, ns: str, names: list[str]) -> None:
    def one(name: str) -> None:
        if method == "POST":
            call(api, "POST", path_of("Service", "v1", ns), body=_service(name))
        else:
            call(api, "DELETE", path_of("Service", "v1", ns, name))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, names))


class ConfigMapEvents:
    """Every watch event of the namespace's ConfigMaps, in the order the API server sent them."""

    def __init__(self, api: ApiClient, ns: str) -> None:
        self.seen: list[tuple[str, str, bool]] = []  # (event, name, holds an index)
        self._watch = watch.Watch()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(api, ns), daemon=True)
        self._thread.start()

    def _run(self, api: ApiClient, ns: str) -> None:
        core = client.CoreV1Api(api)
        stream = self._watch.stream(core.list_namespaced_config_map, ns, timeout_seconds=300)  # type: ignore[no-untyped-call]
        try:
            for event in stream:
                cm = event["object"]
                raw = ((cm.data or {}).get("config.json") or "").encode()
                self.seen.append((event["type"], cm.metadata.name, configparts.is_index(raw)))
        except ProtocolError:
            if not self._stopped.is_set():
                raise

    def stop(self) -> None:
        self._stopped.set()
        self._watch.stop()  # type: ignore[no-untyped-call]


def _label(api: ApiClient, ns: str) -> None:
    body = {"metadata": {"labels": {"meshgate.io/inject": "enabled"}}}
    call(api, "PATCH", f"/api/v1/namespaces/{ns}", body=body,
         content_type="application/merge-patch+json")  # fmt: skip


def _stored_size(obj: dict[str, Any]) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


def test_1000_services_are_stored_as_index_and_parts_and_shrink_back_inline(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    names = [f"svc-{i:04d}" for i in range(SERVICES)]
    _each(api_client, "POST", ns, names)
    events = ConfigMapEvents(api_client, ns)
    try:
        _label(api_client, ns)

        def stored() -> tuple[list[dict[str, Any]], bytes] | None:
            """The index, its parts and the config they hold, once it names every Service (the
            operator's watch may not have seen the last ones at its first compile)."""
            cm = get(api_client, "ConfigMap", "v1", ns, "meshgate-mesh")
            raw = ((cm or {}).get("data") or {}).get("config.json", "").encode()
            if cm is None or not configparts.is_index(raw):
                return None
            parts = [
                get(api_client, "ConfigMap", "v1", ns, f"meshgate-mesh-config-{n}")
                for n in range(configparts.MAX_PARTS)
            ]
            objects = [cm, *(p for p in parts if p is not None)]
            files = {
                k: base64.b64decode(v) for p in objects[1:] for k, v in p["binaryData"].items()
            }
            try:
                config = configparts.assemble(raw, files.__getitem__)
            except (configparts.ConfigPartsError, KeyError):  # a newer index than these parts
                return None
            hosts = json.loads(config)["listeners"][0]["virtualHosts"]
            return (objects, config) if len(hosts) == SERVICES else None

        objects, config = eventually(stored, timeout=120, what="an index of every Service")
        sizes = {o["metadata"]["name"]: _stored_size(o) for o in objects}
        print(f"config {len(config)} bytes stored as {sizes}")
        assert len(config) > OBJECT_LIMIT
        assert all(size < OBJECT_LIMIT for size in sizes.values())
        # Every part was written before the first index naming it.
        first_index = next(i for i, (_, n, idx) in enumerate(events.seen) if idx)
        assert {n for _, n, _ in events.seen[:first_index]} >= set(sizes) - {"meshgate-mesh"}

        # Down to a config that fits inline again: the index goes, then its parts.
        _each(api_client, "DELETE", ns, names[10:])

        def inline() -> bool:
            cm = get(api_client, "ConfigMap", "v1", ns, "meshgate-mesh")
            raw = ((cm or {}).get("data") or {}).get("config.json", "").encode()
            return bool(raw) and not configparts.is_index(raw)

        eventually(inline, timeout=120, what="meshgate-mesh inline again")
        eventually(
            lambda: get(api_client, "ConfigMap", "v1", ns, "meshgate-mesh-config-0") is None,
            timeout=30,
            what="the parts deleted",
        )
        inline_at = next(
            i
            for i, (ev, n, idx) in enumerate(events.seen)
            if n == "meshgate-mesh" and ev == "MODIFIED" and not idx
        )
        deleted_at = events.seen.index(("DELETED", "meshgate-mesh-config-0", False))
        assert inline_at < deleted_at
    finally:
        events.stop()
    # No write refused: the operator says "applying ConfigMap <name>: <status> <reason>".
    log = running_operator.log_path.read_text()
    assert re.findall(r"applying ConfigMap \S+: \d{3} \w+", log) == []
