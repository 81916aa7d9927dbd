"""ReferenceGrant: may an object in one namespace refer to an object in another? Pure."""

from __future__ import annotations

from collections.abc import Iterable

from .objects import ReferenceGrant


def permitted(
    grants: Iterable[ReferenceGrant],
    *,
    from_group: str,
    from_kind: str,
    from_namespace: str,
    to_group: str,
    to_kind: str,
    to_namespace: str,
    to_name: str,
) -> bool:
    """Same namespace always; otherwise only when a ReferenceGrant in the target's namespace
    lists the source (group, kind, namespace) and the target (group, kind, and name if given)."""
    if from_namespace == to_namespace:
        return True
    for grant in grants:
        if grant.meta.namespace != to_namespace:
            continue
        if not any(
            (f.group, f.kind, f.namespace) == (from_group, from_kind, from_namespace)
            for f in grant.from_
        ):
            continue
        if any(
            (t.group, t.kind) == (to_group, to_kind) and (t.name is None or t.name == to_name)
            for t in grant.to
        ):
            return True
    return False
