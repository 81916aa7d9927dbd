"""The status lane remembers which desired status it found in place (or wrote) at which
resourceVersion: a pass that desires the same again compares nothing, while a status someone
else rewrote (its resourceVersion moved) is compared and put back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, cast

from meshgate.compile.report import Condition, ObjectStatus
from meshgate.kube.rest import Rest
from meshgate.kube.status import StatusLane

Key = tuple[str, str, str]


@dataclass(frozen=True)
class _Counted(ObjectStatus):
    built: ClassVar[list[Key]] = []

    def body(self) -> dict[str, Any]:
        self.built.append(self.key)
        return super().body()


class _Server:
    """Status applies as the API server answers them, each with a new resourceVersion."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.version = 1
        self.writes: list[str] = []

    def put(self, key: Key, status: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        meta = {
            "namespace": key[1],
            "name": key[2],
            "uid": key[2],
            "resourceVersion": str(self.version),
        }
        self.objects[key] = {"kind": key[0], "metadata": meta, "status": status}
        return self.objects[key]

    def apply(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        meta = obj["metadata"]
        self.writes.append(meta["name"])
        return self.put((obj["kind"], meta["namespace"], meta["name"]), obj["status"])

    def stored_of(self, key: Key) -> tuple[dict[str, Any], str, str] | None:
        body = self.objects.get(key)
        if body is None:
            return None
        return body["status"], body["metadata"]["uid"], body["metadata"]["resourceVersion"]


def _desired() -> tuple[ObjectStatus, ...]:
    accepted = Condition("Accepted", "True", "Accepted", "attached")
    return tuple(_Counted("Route", "shop", name, 1, (accepted,)) for name in ("a", "b", "c"))


def test_an_unchanged_pass_compares_nothing_and_a_foreign_write_is_put_back() -> None:
    server = _Server()
    for st in _desired():
        server.put(st.key, {})
    lane = StatusLane(cast(Rest, server), server.stored_of, rate=0)
    try:
        lane.submit(_desired, {})
        assert lane.idle(timeout=10)
        assert sorted(server.writes) == ["a", "b", "c"]

        _Counted.built.clear()
        lane.submit(_desired, {})  # equal statuses, built anew: as after a one-Route change
        assert lane.idle(timeout=10)
        assert _Counted.built == []
        assert sorted(server.writes) == ["a", "b", "c"]

        server.put(("Route", "shop", "b"), {"observedGeneration": 0})  # someone else's write
        lane.submit(_desired, {})
        assert lane.idle(timeout=10)
        assert _Counted.built == [("Route", "shop", "b")]
        assert sorted(server.writes) == ["a", "b", "b", "c"]
        assert server.objects[("Route", "shop", "b")]["status"]["observedGeneration"] == 1
    finally:
        lane.close()


def _with_message(message: str) -> tuple[ObjectStatus, ...]:
    accepted = Condition("Accepted", "True", "Accepted", message)
    return tuple(ObjectStatus("Route", "shop", name, 1, (accepted,)) for name in ("a", "b", "c"))


class _SubmitsDuringTheFirstWrite(_Server):
    """While the lane writes its first status, a newer set of desired statuses is submitted."""

    lane: StatusLane | None = None

    def apply(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        if self.lane is not None and not self.writes:
            self.lane.submit(lambda: _with_message("newer"), {})
        answer = super().apply(obj, status=status)
        self.writes[-1] += "=" + obj["status"]["conditions"][0]["message"]
        return answer


def test_a_newer_submit_stops_the_pass_before_its_next_write() -> None:
    server = _SubmitsDuringTheFirstWrite()
    for st in _with_message("older"):
        server.put(st.key, {})
    lane = StatusLane(cast(Rest, server), server.stored_of, rate=0)
    server.lane = lane
    try:
        lane.submit(lambda: _with_message("older"), {})
        assert lane.idle(timeout=10)
        # The older pass wrote its first status only; the newer one wrote all three.
        assert server.writes == ["a=older", "a=newer", "b=newer", "c=newer"]
    finally:
        lane.close()
