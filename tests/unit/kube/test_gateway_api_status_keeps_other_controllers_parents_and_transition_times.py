"""Writing Gateway API status: other controllers' HTTPRoute and GRPCRoute parent entries are
kept as they are, `lastTransitionTime` is kept while a condition's status holds, a route that
left meshgate's Gateways loses meshgate's entry, and an unchanged status is not written again."""

from __future__ import annotations

from typing import Any

from meshgate.gatewayapi.adapt import DesiredStatus
from meshgate.kube.gatewayapi_status import sync_gateway_api_statuses

KEY = ("HTTPRoute.gateway.networking.k8s.io", "shop", "web")
OURS = "meshgate.io/gateway-controller"


def _cond(status: str, reason: str, time: str | None = None) -> dict[str, Any]:
    c = {"type": "Accepted", "status": status, "reason": reason, "message": "m",
         "observedGeneration": 1}  # fmt: skip
    if time:
        c["lastTransitionTime"] = time
    return c


def _entry(controller: str, gateway: str, cond: dict[str, Any]) -> dict[str, Any]:
    return {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway},
        "controllerName": controller,
        "conditions": [cond],
    }


class FakeRest:
    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    def apply(self, obj: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.applied.append(obj)
        return obj


def _sync(desired: tuple[DesiredStatus, ...], stored: dict[Any, Any]) -> FakeRest:
    rest = FakeRest()
    sync_gateway_api_statuses(rest, desired, stored)  # type: ignore[arg-type]
    return rest


def test_other_controllers_entries_are_kept_and_held_conditions_keep_their_time() -> None:
    theirs = _entry(
        "example.com/other", "their-gw", _cond("True", "Accepted", "2020-01-01T00:00:00Z")
    )
    stored = {
        KEY: {
            "parents": [
                theirs,
                _entry(OURS, "edge", _cond("True", "Accepted", "2021-01-01T00:00:00Z")),
            ]
        }
    }
    held = _entry(OURS, "edge", _cond("True", "Accepted"))
    new = _entry(OURS, "edge2", _cond("False", "NoMatchingParent"))
    desired = DesiredStatus("HTTPRoute", "shop", "web", {"parents": [held, new]})
    (written,) = _sync((desired,), stored).applied
    parents = written["status"]["parents"]
    assert parents[0] == theirs
    assert parents[1]["conditions"][0]["lastTransitionTime"] == "2021-01-01T00:00:00Z"
    assert parents[2]["conditions"][0]["lastTransitionTime"] != "2021-01-01T00:00:00Z"
    assert written["metadata"] == {"name": "web", "namespace": "shop"}


def test_unchanged_status_is_not_written() -> None:
    entry = _entry(OURS, "edge", _cond("True", "Accepted"))
    stored = {
        KEY: {"parents": [_entry(OURS, "edge", _cond("True", "Accepted", "2021-01-01T00:00:00Z"))]}
    }
    desired = DesiredStatus("HTTPRoute", "shop", "web", {"parents": [entry]})
    assert _sync((desired,), stored).applied == []


def test_route_that_left_meshgate_loses_only_meshgate_entries() -> None:
    theirs = _entry(
        "example.com/other", "their-gw", _cond("True", "Accepted", "2020-01-01T00:00:00Z")
    )
    stored = {KEY: {"parents": [theirs, _entry(OURS, "edge", _cond("True", "Accepted", "t"))]}}
    (written,) = _sync((), stored).applied
    assert written["status"]["parents"] == [theirs]


def test_deleted_object_is_not_written() -> None:
    desired = DesiredStatus("HTTPRoute", "shop", "gone", {"parents": []})
    assert _sync((desired,), {}).applied == []


GRPC_KEY = ("GRPCRoute.gateway.networking.k8s.io", "shop", "echo")


def test_grpc_route_status_keeps_other_controllers_entries_and_is_written_as_a_grpc_route() -> None:
    theirs = _entry(
        "example.com/other", "their-gw", _cond("True", "Accepted", "2020-01-01T00:00:00Z")
    )
    stored = {GRPC_KEY: {"parents": [theirs]}}
    ours = _entry(OURS, "edge", _cond("True", "Accepted"))
    desired = DesiredStatus("GRPCRoute", "shop", "echo", {"parents": [ours]})
    (written,) = _sync((desired,), stored).applied
    assert (written["apiVersion"], written["kind"]) == ("gateway.networking.k8s.io/v1", "GRPCRoute")
    assert written["status"]["parents"][0] == theirs
    assert written["status"]["parents"][1]["controllerName"] == OURS


def test_grpc_route_that_left_meshgate_loses_only_meshgate_entries() -> None:
    theirs = _entry(
        "example.com/other", "their-gw", _cond("True", "Accepted", "2020-01-01T00:00:00Z")
    )
    stored = {GRPC_KEY: {"parents": [theirs, _entry(OURS, "edge", _cond("True", "Accepted", "t"))]}}
    (written,) = _sync((), stored).applied
    assert written["kind"] == "GRPCRoute"
    assert written["status"]["parents"] == [theirs]
