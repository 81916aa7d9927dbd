"""ApiKeyVerifier: keys are matched by SHA-256 digest, from header or query."""

from __future__ import annotations

import hashlib

import pytest

from meshproxy import config
from meshproxy.policy.apikey import ApiKeyVerifier


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def verifier(**spec: object) -> ApiKeyVerifier:
    spec.setdefault(
        "keys",
        [
            {"consumer": "alice", "sha256": digest("alice-secret")},
            {"consumer": "bob", "sha256": digest("bob-secret")},
        ],
    )
    return ApiKeyVerifier(config.ApiKeyAuthn.from_data(spec))


@pytest.mark.parametrize(
    ("presented", "consumer"),
    [
        ("alice-secret", "alice"),
        ("bob-secret", "bob"),
        ("alice-secreT", None),
        ("alice-secret ", None),
        ("", None),
        (None, None),
        (digest("alice-secret"), None),  # the stored digest is not itself a key
    ],
)
def test_verify(presented: str | None, consumer: str | None) -> None:
    assert verifier().verify(presented) == consumer


def test_keys_from_the_keys_file_count_too() -> None:
    extra = [config.ApiKeyConsumer(consumer="carol", sha256=digest("carol-secret"))]
    v = ApiKeyVerifier(config.ApiKeyAuthn(), extra)
    assert v.verify("carol-secret") == "carol"


def test_key_is_read_from_the_configured_header() -> None:
    v = verifier(header="X-Api-Key")
    assert v.presented_key({"x-api-key": " k1 "}, "") == "k1"
    assert v.presented_key({}, "apikey=k2") is None


def test_key_is_read_from_the_query_when_configured() -> None:
    v = verifier(header=None, query="apikey")
    assert v.presented_key({"x-api-key": "k1"}, "a=1&apikey=k%2B2") == "k+2"
    assert v.presented_key({}, "apikey=") is None
    assert v.presented_key({}, "") is None
