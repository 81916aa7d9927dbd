"""Replicas agree on one serving identity through its Secret: the first creates it, a replica
that loses the create reads the winner's, a lost renewal race reads the winner's leaf, and a
broken Secret is replaced. Against an in-memory Secret store with the API server's create (409
on a name taken) and resourceVersion-guarded write."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meshgate.inject import kubeio
from meshgate.inject.serving_identity import Endpoint, new_identity, secret_body
from meshgate.inject.serving_identity_store import UnsettledIdentity, settle

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ENDPOINT = Endpoint("meshgate-webhook", "ops")
NAME = "meshgate-webhook-tls"


class FakeSecrets:
    """One Secret's life on the API server; `before_write` runs just before each write lands,
    which is where another replica's write interleaves."""

    def __init__(self) -> None:
        self.body: dict[str, Any] | None = None
        self.version = 0
        self.writes = 0
        self.before_write: Callable[[], None] = lambda: None

    def put(self, body: Mapping[str, Any]) -> None:
        self.version += 1
        self.writes += 1
        self.body = copy.deepcopy(dict(body))
        self.body["metadata"]["resourceVersion"] = str(self.version)

    def read(self, api: Any, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.body)

    def create(self, api: Any, body: Mapping[str, Any]) -> bool:
        self.before_write()
        if self.body is not None:
            return False
        self.put(body)
        return True

    def replace(self, api: Any, body: Mapping[str, Any], resource_version: str) -> bool:
        self.before_write()
        if self.body is None or self.body["metadata"]["resourceVersion"] != resource_version:
            return False
        self.put(body)
        return True


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> FakeSecrets:
    fake = FakeSecrets()
    monkeypatch.setattr(kubeio, "read_secret", fake.read)
    monkeypatch.setattr(kubeio, "create_secret", fake.create)
    monkeypatch.setattr(kubeio, "replace_secret_data", fake.replace)
    return fake


def _settle(now: datetime = NOW) -> Any:
    return settle(None, namespace="ops", name=NAME, endpoint=ENDPOINT, now=now)


def test_first_replica_creates_and_the_second_reads_the_same_identity(
    secrets: FakeSecrets,
) -> None:
    first, second = _settle(), _settle()
    assert first.ca_pem == second.ca_pem
    assert first.serving.cert_pem == second.serving.cert_pem
    assert secrets.writes == 1


def test_replica_that_loses_the_create_serves_the_winners_identity(
    secrets: FakeSecrets,
) -> None:
    winner = new_identity(ENDPOINT, NOW)

    def other_replica_creates_first() -> None:
        secrets.before_write = lambda: None
        secrets.put(secret_body(winner, name=NAME, namespace="ops"))

    secrets.before_write = other_replica_creates_first
    got = _settle()
    assert got.ca_pem == winner.ca_pem
    assert got.serving.cert_pem == winner.serving.cert_pem


def test_renewal_reissues_only_the_leaf_and_a_lost_race_takes_the_winners_leaf(
    secrets: FakeSecrets,
) -> None:
    original = _settle()
    later = NOW + timedelta(days=250)
    winner = _settle(later)  # the first replica to notice renews
    assert winner.ca_pem == original.ca_pem
    assert winner.serving.cert_pem != original.serving.cert_pem

    # Both replicas find the leaf due at once: the one that writes second is refused and reads.
    secrets.put(secret_body(original, name=NAME, namespace="ops"))
    racing = new_identity(ENDPOINT, later)  # stands in for the other replica's renewal

    def other_replica_renews_first() -> None:
        secrets.before_write = lambda: None
        secrets.put(secret_body(racing, name=NAME, namespace="ops"))

    secrets.before_write = other_replica_renews_first
    loser = _settle(later)
    assert loser.serving.cert_pem == racing.serving.cert_pem


def test_an_unreadable_secret_is_replaced_by_a_new_identity(secrets: FakeSecrets) -> None:
    secrets.put({"metadata": {"name": NAME, "namespace": "ops"}, "data": {"tls.crt": "x"}})
    got = _settle()
    assert secrets.body is not None
    assert (
        secrets.body["data"]["ca.crt"]
        == secret_body(got, name=NAME, namespace="ops")["data"]["ca.crt"]
    )


def test_a_secret_rewritten_on_every_round_gives_up_rather_than_spin(
    secrets: FakeSecrets,
) -> None:
    secrets.put({"metadata": {"name": NAME, "namespace": "ops"}, "data": {}})

    def someone_writes_again() -> None:
        secrets.version += 1
        assert secrets.body is not None
        secrets.body["metadata"]["resourceVersion"] = str(secrets.version)

    secrets.before_write = someone_writes_again
    with pytest.raises(UnsettledIdentity):
        _settle()
