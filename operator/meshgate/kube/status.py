"""Write status only when it changed, with `lastTransitionTime` kept for unchanged conditions,
and post a Kubernetes Event when an outcome changes (a condition's status or reason), never for
a resync that changed nothing, and on an object's first status only for what is wrong.

`sync_statuses` writes from a small pool of threads and returns when done. `StatusLane` writes
in its own thread instead, rate-limited, always toward the latest desired statuses: the
reconcile that submits them goes on at once, so a change's configs never wait behind a cold
start's thousands of status writes.
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meshgate.compile.report import ObjectStatus

from .rest import EVENT, MESHGATE_KINDS, KubeError, NotFound, Rest

log = logging.getLogger("meshgate.status")

EVENT_CONDITIONS = ("Accepted", "ResolvedRefs", "Programmed", "Served")
# Concurrent status writes; few, as the API server is the limit (a cold start's writes and
# Events wait on it 90% of the time) and every thread costs the operator memory.
WRITERS = 4
# How many statuses the lane compares between two looks for a newer submit.
SUPERSEDED_EVERY = 256

Key = tuple[str, str, str]


@dataclass
class StatusResult:
    written: int = 0
    unchanged: int = 0
    events: int = 0
    # Deleted (or their namespace was) between the listing and the write: nothing to report on.
    gone: int = 0
    errors: list[str] = field(default_factory=list)


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def _without_proxies(status: Any) -> Any:
    """The status without `proxies`: the config server's count (meshgate.push.status), written
    beside this one by a merge patch, never by a reconcile."""
    if isinstance(status, dict) and "proxies" in status:
        return {k: v for k, v in status.items() if k != "proxies"}
    return status


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
        body = _with_override(st.body(), overrides.get(st.key))
        old = stored[st.key]
        if _without_times(_without_proxies(old)) == body:
            result.unchanged += 1
            continue
        body = copy.deepcopy(body)  # its field values are the compiler's kept records
        _stamp(body, old, now)
        writes.append((st, body, old))

    def write(item: tuple[ObjectStatus, dict[str, Any], dict[str, Any]]) -> tuple[str, int] | None:
        st, body, old = item
        return _write(rest, st, body, old, uids.get(st.key, ""), on_written)

    if len(writes) <= 1:
        outcomes = [write(w) for w in writes]
    else:
        with ThreadPoolExecutor(min(WRITERS, len(writes)), "meshgate-status") as pool:
            outcomes = list(pool.map(write, writes))
    for outcome in outcomes:  # in `desired` order, so errors read the same every run
        if outcome is None:
            result.gone += 1
            continue
        error, events = outcome
        if error:
            result.errors.append(error)
        else:
            result.written += 1
            result.events += events
    return result


def _with_override(body: dict[str, Any], override: tuple[str, str, str] | None) -> dict[str, Any]:
    """Replace one condition (e.g. Programmed=False after a failed write)."""
    if override is not None:
        type_, reason, message = override
        for c in body["conditions"]:
            if c["type"] == type_:
                c.update(status="False", reason=reason, message=message[:32768])
    return body


def _write(
    rest: Rest,
    st: ObjectStatus,
    body: dict[str, Any],
    old: dict[str, Any],
    uid: str,
    on_written: Callable[[str, dict[str, Any]], None] | None,
) -> tuple[str, int] | None:
    """Apply one status; (error, Events posted), or None when the object is gone.

    The API server answers 404 when the object, or its whole namespace, was deleted since the
    listing: that is no error of the reconcile (the next listing no longer has it)."""
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
    except NotFound:
        return None
    except KubeError as exc:
        return f"status of {st.kind} {st.namespace}/{st.name}: {exc.status}", 0
    if on_written is not None and answer:
        on_written(st.kind, answer)
    return "", _post_events(rest, st, body, old, uid)


def _post_events(
    rest: Rest, st: ObjectStatus, new: dict[str, Any], old: dict[str, Any], uid: str
) -> int:
    before = {c.get("type"): c for c in old.get("conditions") or []}
    posted = 0
    for c in new["conditions"]:
        if c["type"] not in EVENT_CONDITIONS:
            continue
        prev = before.get(c["type"])
        good = c["status"] == "True"
        if prev is None and good and not before:
            continue  # first sight and fine: the status says it; an Event is for a change
        if prev is not None and (prev.get("status"), prev.get("reason")) == (
            c["status"],
            c["reason"],
        ):
            continue
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
        except KubeError as exc:
            # An event is a courtesy; the status already says it.
            log.warning("event for %s %s/%s not posted: %s", st.kind, st.namespace, st.name, exc)
    return posted


# key -> (stored status, uid, resourceVersion) of the object as the operator's store holds it
StoredOf = Callable[[Key], "tuple[dict[str, Any], str, str] | None"]


class StatusLane:
    """Status writes in their own thread, at most `rate` per second, toward the latest desired
    statuses.

    `submit` replaces what is waiting (statuses are level-based: only the latest desired matter)
    and returns at once. Before each write the lane asks `stored_of(key)` for the status the
    operator's store holds now (and the object's uid), so a status the lane or anyone else just
    wrote is compared with what is really there: unchanged ones are skipped, and an Event is
    posted only for a transition. A deleted object (`None`) is skipped.

    A one-Route change leaves every other status as it was, and comparing each with the stored
    body cost more than the status pass itself at 1,000 Routes. So the lane remembers, per
    object, the desired status it last found in place (or wrote) and the resourceVersion it was
    in place at: while both still hold, nothing is compared. Anyone else's write moves the
    resourceVersion, and the status is compared again.
    """

    def __init__(
        self,
        rest: Rest,
        stored_of: StoredOf,
        *,
        rate: float = 50.0,
        on_written: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._rest = rest
        self._stored_of = stored_of
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._on_written = on_written
        self._cond = threading.Condition()
        self._waiting: tuple[Callable[[], tuple[ObjectStatus, ...]], dict[Key, Any]] | None = None
        self._closed = False
        self._busy = False
        # key -> (the desired status found in place, the object's resourceVersion then)
        self._in_place: dict[Key, tuple[ObjectStatus, str]] = {}
        self._answer: dict[str, Any] = {}  # the server's answer to the lane's last write
        self.written = 0
        self.events = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="meshgate-status", daemon=True)
        self._thread.start()

    def submit(
        self,
        desired: Callable[[], tuple[ObjectStatus, ...]],
        overrides: dict[Key, tuple[str, str, str]],
    ) -> None:
        """`desired` is called in the lane's thread (the compiler's status pass may run there)."""
        with self._cond:
            self._waiting = (desired, dict(overrides))
            self._cond.notify()

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is waiting or being written (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._waiting is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _record(self, kind: str, answer: dict[str, Any]) -> None:
        self._answer = answer
        if self._on_written is not None:
            self._on_written(kind, answer)

    def _take(self) -> tuple[Callable[[], tuple[ObjectStatus, ...]], dict[Key, Any]] | None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()
            while self._waiting is None and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            job, self._waiting = self._waiting, None
            self._busy = True
            return job

    def _newer_waiting(self) -> bool:
        with self._cond:
            return self._waiting is not None or self._closed

    def _run(self) -> None:
        while (job := self._take()) is not None:
            try:
                self._write_all(*job)
            except Exception:  # a lane that dies would leave every later status unwritten
                log.exception("status lane: writing statuses failed; the next submit retries")

    def _write_all(
        self,
        desired: Callable[[], tuple[ObjectStatus, ...]],
        overrides: dict[Key, tuple[str, str, str]],
    ) -> None:
        for i, st in enumerate(desired()):
            # Superseded: start over from the latest desired statuses. Asked every few hundred
            # statuses (each asking takes the lock: 10,000 times a pass at 10,000 Routes) and
            # before every write, so no write follows a newer submit.
            if not i % SUPERSEDED_EVERY and self._newer_waiting():
                return
            stored = self._stored_of(st.key)
            if stored is None:
                self._in_place.pop(st.key, None)
                continue  # deleted
            old, uid, version = stored
            override = overrides.get(st.key)
            kept = self._in_place.get(st.key)
            if (
                override is None
                and kept is not None
                and version
                and kept[1] == version
                and (kept[0] is st or kept[0] == st)
            ):
                continue
            body = _with_override(st.body(), override)
            if _without_times(_without_proxies(old)) == body:
                if override is None:
                    self._in_place[st.key] = (st, version)
                continue
            self._in_place.pop(st.key, None)
            if self._newer_waiting():
                return
            body = copy.deepcopy(body)  # its field values are the compiler's kept records
            _stamp(body, old, now_rfc3339())
            started = time.monotonic()
            self._answer = {}
            outcome = _write(self._rest, st, body, old, uid, self._record)
            if outcome is None:
                continue  # deleted since it was read
            error, events = outcome
            if error:
                self.errors = [*self.errors[-9:], error]
                log.warning("%s", error)
            else:
                self.written += 1
                self.events += events
                written_at = str((self._answer.get("metadata") or {}).get("resourceVersion", ""))
                if override is None and written_at:
                    self._in_place[st.key] = (st, written_at)
            pause = self._interval - (time.monotonic() - started)
            if pause > 0:
                time.sleep(pause)
