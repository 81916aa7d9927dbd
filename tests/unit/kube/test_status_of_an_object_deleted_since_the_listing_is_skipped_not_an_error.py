"""A status written for an object deleted since the listing (or whose whole namespace was: the API
server answers 404) is skipped: it is not the reconcile's error, and the other statuses are
written, so a test namespace torn down under the operator never fails a whole reconcile."""

from __future__ import annotations

from typing import Any, cast

from meshgate.compile.report import Condition, ObjectStatus
from meshgate.kube.rest import NotFound, Rest
from meshgate.kube.status import sync_statuses


class _Rest:
    """Answers status applies as the API server does; namespace `gone` no longer exists."""

    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        meta = obj["metadata"]
        if meta["namespace"] == "gone":
            raise NotFound(f"/apis/meshgate.io/v1alpha1/namespaces/gone/routes/{meta['name']}")
        self.applied.append(f"{meta['namespace']}/{meta['name']}")
        return {**obj, "metadata": {**meta, "resourceVersion": "7"}}


def _route(namespace: str) -> ObjectStatus:
    accepted = Condition("Accepted", "True", "Accepted", "attached")
    return ObjectStatus("Route", namespace, "orders", 1, (accepted,))


def test_a_status_whose_object_is_gone_is_skipped_and_the_others_are_written() -> None:
    rest = _Rest()
    desired = (_route("gone"), _route("shop"))
    stored: dict[tuple[str, str, str], dict[str, Any]] = {s.key: {} for s in desired}
    result = sync_statuses(cast(Rest, rest), desired, stored, {}, {})
    assert rest.applied == ["shop/orders"]
    assert result.errors == []
    assert (result.written, result.gone) == (1, 1)
