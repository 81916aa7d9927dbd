"""Write the status of Gateway API objects: only when it changed, `lastTransitionTime` kept for
conditions whose status held, and an HTTPRoute's `parents` entries of other controllers kept as
they are (the list is shared by every implementation a route attaches to; meshgate replaces
only the entries with its own controllerName).

What each status says is decided by `meshgate.gatewayapi`; this module only compares and writes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from meshgate.gatewayapi.adapt import DesiredStatus
from meshgate.gatewayapi.objects import CONTROLLER_NAME

from .rest import (
    GATEWAY_API_GATEWAY,
    GATEWAY_CLASS,
    GRPC_ROUTE,
    HTTP_ROUTE,
    TLS_ROUTE,
    Kind,
    KubeError,
    Rest,
)
from .status import StatusResult, _without_times, now_rfc3339

Key = tuple[str, str, str]
KINDS: dict[str, Kind] = {
    "GatewayClass": GATEWAY_CLASS,
    "Gateway": GATEWAY_API_GATEWAY,
    "HTTPRoute": HTTP_ROUTE,
    "GRPCRoute": GRPC_ROUTE,
    "TLSRoute": TLS_ROUTE,
}
# Kinds whose `status.parents` list is shared with other controllers.
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute")


def merged(desired: DesiredStatus, stored: dict[str, Any]) -> dict[str, Any]:
    """The full status to write: for a route, other controllers' parents stay first."""
    body = copy.deepcopy(desired.body)
    if desired.kind in ROUTE_KINDS:
        others = [
            p for p in stored.get("parents") or [] if p.get("controllerName") != CONTROLLER_NAME
        ]
        body["parents"] = others + body["parents"]
    return body


def stamp(body: dict[str, Any], stored: dict[str, Any], now: str) -> None:
    """Fill `lastTransitionTime` in every condition list: the stored time while status held."""
    _stamp_list(body.get("conditions"), stored.get("conditions"), now)
    olds = {x.get("name"): x for x in stored.get("listeners") or []}
    for item in body.get("listeners") or []:
        _stamp_list(item.get("conditions"), (olds.get(item["name"]) or {}).get("conditions"), now)
    parents = {_parent_key(p): p for p in stored.get("parents") or []}
    for item in body.get("parents") or []:
        old = parents.get(_parent_key(item)) or {}
        _stamp_list(item.get("conditions"), old.get("conditions"), now)


def _withdrawn(
    desired: tuple[DesiredStatus, ...], stored: dict[Key, dict[str, Any]]
) -> tuple[DesiredStatus, ...]:
    """Routes that still show a parent entry of meshgate's but attach to none of its Gateways
    any more: their entries are removed."""
    wanted = {st.store_key for st in desired}
    route_kinds = {DesiredStatus(k, "", "", {}).store_key[0]: k for k in ROUTE_KINDS}
    return tuple(
        DesiredStatus(route_kinds[kind], ns, name, {"parents": []})
        for (kind, ns, name), status in sorted(stored.items())
        if kind in route_kinds
        and (kind, ns, name) not in wanted
        and any(p.get("controllerName") == CONTROLLER_NAME for p in status.get("parents") or [])
    )


def _parent_key(p: dict[str, Any]) -> tuple[str, str]:
    return (str(p.get("controllerName", "")), repr(sorted((p.get("parentRef") or {}).items())))


def _stamp_list(new: Any, old: Any, now: str) -> None:
    if not isinstance(new, list):
        return
    before = {c.get("type"): c for c in old or [] if isinstance(c, dict)}
    for c in new:
        if "lastTransitionTime" in c:
            continue  # kept from the stored body (another controller's parent entry)
        prev = before.get(c["type"])
        same = prev is not None and prev.get("status") == c["status"]
        c["lastTransitionTime"] = prev.get("lastTransitionTime", now) if same and prev else now


def sync_gateway_api_statuses(
    rest: Rest,
    desired: tuple[DesiredStatus, ...],
    stored: dict[Key, dict[str, Any]],
    *,
    on_written: Callable[[str, dict[str, Any]], None] | None = None,
) -> StatusResult:
    """`on_written(store kind, object)` sees the server's answer to every status written."""
    result = StatusResult()
    now = now_rfc3339()
    for st in desired + _withdrawn(desired, stored):
        if st.store_key not in stored:
            continue  # deleted since the listing
        old = stored[st.store_key]
        body = merged(st, old)
        if _without_times(old) == _without_times(body):
            result.unchanged += 1
            continue
        stamp(body, old, now)
        kind = KINDS[st.kind]
        metadata: dict[str, str] = {"name": st.name}
        if st.namespace:
            metadata["namespace"] = st.namespace
        try:
            answer = rest.apply(
                {
                    "apiVersion": kind.api_version,
                    "kind": kind.kind,
                    "metadata": metadata,
                    "status": body,
                },
                status=True,
                kind=kind,
            )
        except KubeError as exc:
            result.errors.append(f"status of {st.kind} {st.namespace}/{st.name}: {exc.status}")
            continue
        result.written += 1
        if on_written is not None and answer:
            on_written(st.store_key[0], answer)
    return result
