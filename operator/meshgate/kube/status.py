"""Write status only when it changed, with `lastTransitionTime` kept for unchanged conditions,
and post a Kubernetes Event when an outcome changes (a condition's status or reason), never for
a resync that changed nothing.

Writes go out from a small pool of threads: a cold start writes one status per object, and one
at a time that is a round trip each. Which statuses to write is decided before any is written.
"""

from __future__ import annotations

import copy
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from meshgate.compile.report import ObjectStatus

from .rest import EVENT, MESHGATE_KINDS, Rest

log = logging.getLogger("meshgate.status")

EVENT_CONDITIONS = ("Accepted", "ResolvedRefs", "Programmed", "Served")
# Concurrent status writes; few, as the API server is the limit (a cold start's writes and
# Events wait on it 90% of the time) and every thread costs the operator memory.
WRITERS = 4

Key = tuple[str, str, str]


@dataclass
class StatusResult:
    written: int = 0
    unchanged: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def _stamp(new: Any, old: Any, now: str) -> None:
    """Fill lastTransitionTime in every `conditions` list: the old time if the status held."""
    if isinstance(new, dict):
        if isinstance(new.get("conditions"), list):
            old_conditions = (old or {}).get("conditions") or []
            before = {c.get("type"): c for c in old_conditions if isinstance(c, dict)}
            for c in new["conditions"]:
                prev = before.get(c["type"])
                same = prev is not None and prev.get("status") == c["status"]
                kept = prev.get("lastTransitionTime", now) if prev is not None and same else now
                c["lastTransitionTime"] = kept
        for k, v in new.items():
            if k == "conditions":
                continue
            if isinstance(v, list) and k == "listeners":
                olds = {x.get("name"): x for x in (old or {}).get(k) or [] if isinstance(x, dict)}
                for item in v:
                    _stamp(item, olds.get(item.get("name")), now)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sync_statuses(
    rest: Rest,
    desired: tuple[ObjectStatus, ...],
    stored: dict[Key, dict[str, Any]],
    uids: dict[Key, str],
    overrides: dict[Key, tuple[str, str, str]],
    *,
    on_written: Callable[[str, dict[str, Any]], None] | None = None,
) -> StatusResult:
    """`overrides` replaces a condition (e.g. Programmed=False after a failed write);
    `on_written(kind, object)` sees the server's answer to every status written."""
    result = StatusResult()
    now = now_rfc3339()
    writes: list[tuple[ObjectStatus, dict[str, Any], dict[str, Any]]] = []
    for st in desired:
        if st.key not in stored:
            continue  # deleted since the listing
        body = st.body()
        if st.key in overrides:
            type_, reason, message = overrides[st.key]
            for c in body["conditions"]:
                if c["type"] == type_:
                    c.update(status="False", reason=reason, message=message[:32768])
        old = stored[st.key]
        if _without_times(old) == body:
            result.unchanged += 1
            continue
        body = copy.deepcopy(body)  # its field values are the compiler's kept records
        _stamp(body, old, now)
        writes.append((st, body, old))

    def write(item: tuple[ObjectStatus, dict[str, Any], dict[str, Any]]) -> tuple[str, int]:
        st, body, old = item
        kind = MESHGATE_KINDS[st.kind]
        try:
            answer = rest.apply(
                {
                    "apiVersion": kind.api_version,
                    "kind": st.kind,
                    "metadata": {"name": st.name, "namespace": st.namespace},
                    "status": body,
                },
                status=True,
            )
        except ApiException as exc:
            return f"status of {st.kind} {st.namespace}/{st.name}: {exc.status}", 0
        if on_written is not None and answer:
            on_written(st.kind, answer)
        return "", _post_events(rest, st, body, old, uids.get(st.key, ""))

    if len(writes) <= 1:
        outcomes = [write(w) for w in writes]
    else:
        with ThreadPoolExecutor(min(WRITERS, len(writes)), "meshgate-status") as pool:
            outcomes = list(pool.map(write, writes))
    for error, events in outcomes:  # in `desired` order, so errors read the same every run
        if error:
            result.errors.append(error)
        else:
            result.written += 1
            result.events += events
    return result


def _post_events(
    rest: Rest, st: ObjectStatus, new: dict[str, Any], old: dict[str, Any], uid: str
) -> int:
    before = {c.get("type"): c for c in old.get("conditions") or []}
    posted = 0
    for c in new["conditions"]:
        if c["type"] not in EVENT_CONDITIONS:
            continue
        prev = before.get(c["type"])
        if prev is not None and (prev.get("status"), prev.get("reason")) == (
            c["status"],
            c["reason"],
        ):
            continue
        good = c["status"] == "True"
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"generateName": f"{st.name}-", "namespace": st.namespace},
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reportingController": "meshgate.io/operator",
            "reportingInstance": socket.gethostname()[:128],
            "action": "Reconcile",
            "reason": c["reason"][:128],
            "note": f"{c['type']}={c['status']}: {c['message']}"[:1024],
            "type": "Normal" if good else "Warning",
            "regarding": {
                "apiVersion": MESHGATE_KINDS[st.kind].api_version,
                "kind": st.kind,
                "name": st.name,
                "namespace": st.namespace,
                "uid": uid,
            },
        }
        try:
            rest.create(EVENT, st.namespace, copy.deepcopy(event))
            posted += 1
        except ApiException as exc:
            # An event is a courtesy; the status already says it.
            log.warning("event for %s %s/%s not posted: %s", st.kind, st.namespace, st.name, exc)
    return posted
