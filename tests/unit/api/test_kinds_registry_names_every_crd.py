"""KINDS names each kind once, with short names nobody else in the cluster is likely to use."""

from __future__ import annotations

from meshgate.api.v1alpha1 import CATEGORY, KINDS

# Short names of popular projects (Istio, Gateway API, Kuma, Kubernetes itself).
TAKEN = {"vs", "dr", "gw", "pa", "ap", "gtw", "kup", "se", "svc", "ing", "po", "deploy", "ep"}


def test_every_kind_has_unique_plural_and_short_names_in_the_meshgate_category() -> None:
    plurals = [info.plural for info in KINDS]
    shorts = [name for info in KINDS for name in info.short_names]
    assert len(set(plurals)) == len(plurals) == 8
    assert len(set(shorts)) == len(shorts)
    assert not TAKEN & set(shorts)
    assert all(info.categories == (CATEGORY,) for info in KINDS)


def test_every_kind_prints_an_age_and_a_reason_column() -> None:
    for info in KINDS:
        names = [column.name for column in info.columns]
        assert "Age" in names, info.kind
        assert "Reason" in names, info.kind
