"""AuthnLayer with API keys: a known key passes and its consumer is forwarded; a client-sent
consumer header never survives; unknown or missing keys get 401 with an ApiKey challenge and
are counted; a rotated keys file takes effect without a config reload. Optional policies let a
request without a key through and still refuse a bad one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from edge_fakes import Recorder, request

from meshproxy import config
from meshproxy.edge.authenticator import Authenticator
from meshproxy.edge.keys_file import parse_keys_file
from meshproxy.edge.resources import EdgeResources
from meshproxy.layers.authn import AuthnLayer
from meshproxy.observability.metrics import Registry


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def policy(**api_key: object) -> config.AuthnPolicy:
    return config.AuthnPolicy.from_data({"name": "keys", "apiKey": api_key})


def layer(
    policies: list[config.AuthnPolicy], resources: EdgeResources | None = None
) -> tuple[AuthnLayer, Recorder, Registry]:
    registry = Registry()
    recorder = Recorder()
    failures = registry.counter("meshproxy_authn_failures_total", "test")
    authn = Authenticator(policies, resources or EdgeResources())
    return AuthnLayer(recorder, authn, failures), recorder, registry


def failures(registry: Registry, reason: str) -> float:
    counter = registry.counters["meshproxy_authn_failures_total"]
    return sum(c.value for k, c in counter.children.items() if ("reason", reason) in k)


INLINE = policy(keys=[{"consumer": "alice", "sha256": digest("alice-secret")}])


async def test_known_key_passes_with_its_consumer_and_the_forged_one_removed() -> None:
    authn, recorder, _ = layer([INLINE])
    req = request([("x-api-key", "alice-secret"), ("X-Meshgate-Consumer".lower(), "root")])
    response = await authn.handle(req)
    assert response.status == 200
    forwarded = [v for n, v in recorder.seen[0].request.headers if n == "x-meshgate-consumer"]
    assert forwarded == ["alice"]
    assert req.principal is not None
    assert req.principal.consumer == "alice"


async def test_key_in_the_configured_query_parameter_passes() -> None:
    authn, recorder, _ = layer([policy(header=None, query="api_key", keys=INLINE.api_key.keys)])  # type: ignore[union-attr]
    response = await authn.handle(request(query="page=2&api_key=alice-secret"))
    assert response.status == 200
    assert recorder.seen


async def test_unknown_key_is_refused_with_an_apikey_challenge_and_counted() -> None:
    authn, recorder, registry = layer([INLINE])
    req = request([("x-api-key", "guess"), ("x-meshgate-consumer", "alice")])
    response = await authn.handle(req)
    assert response.status == 401
    assert ("www-authenticate", 'ApiKey realm="meshgate"') in response.headers
    assert not recorder.seen
    assert failures(registry, "invalid_key") == 1
    # stripped whatever the outcome: nothing downstream of a refusal may read it either
    assert req.request.header("x-meshgate-consumer") is None
    assert req.principal is None


async def test_missing_key_is_refused_as_missing() -> None:
    authn, recorder, registry = layer([INLINE])
    response = await authn.handle(request([("x-meshgate-consumer", "alice")]))
    assert response.status == 401
    assert not recorder.seen
    assert failures(registry, "missing") == 1


async def test_refusal_body_says_nothing_about_which_check_failed() -> None:
    authn, _, _ = layer([INLINE])
    missing = await authn.handle(request())
    wrong = await authn.handle(request([("x-api-key", "guess")]))
    assert missing.body == wrong.body
    assert missing.headers == wrong.headers


async def test_keys_file_rotation_takes_effect_without_a_config_reload(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps([{"consumer": "bob", "sha256": digest("bob-1")}]))
    resources = EdgeResources()
    authn, _, _ = layer([policy(keysFile=str(keys_file))], resources)
    try:
        assert (await authn.handle(request([("x-api-key", "bob-1")]))).status == 200
        keys_file.write_text(json.dumps([{"consumer": "bob", "sha256": digest("bob-2")}]))
        watched = resources.watched_file(str(keys_file), parse_keys_file, "API keys file")
        watched.load()  # what the poll does once it sees the new signature
        assert (await authn.handle(request([("x-api-key", "bob-1")]))).status == 401
        assert (await authn.handle(request([("x-api-key", "bob-2")]))).status == 200
    finally:
        resources.close_unused(None)


async def test_a_broken_keys_file_keeps_the_last_good_keys(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps([{"consumer": "bob", "sha256": digest("bob-1")}]))
    resources = EdgeResources()
    authn, _, _ = layer([policy(keysFile=str(keys_file))], resources)
    try:
        keys_file.write_text('[{"consumer": "bob", "sha256": "bob-2-pasted-raw"}]')
        resources.watched_file(str(keys_file), parse_keys_file, "API keys file").load()
        assert (await authn.handle(request([("x-api-key", "bob-1")]))).status == 200
    finally:
        resources.close_unused(None)


async def test_a_missing_keys_file_accepts_only_inline_keys(tmp_path: Path) -> None:
    cfg = policy(keys=INLINE.api_key.keys, keysFile=str(tmp_path / "absent.json"))  # type: ignore[union-attr]
    resources = EdgeResources()
    authn, _, _ = layer([cfg], resources)
    try:
        assert (await authn.handle(request([("x-api-key", "alice-secret")]))).status == 200
        assert (await authn.handle(request([("x-api-key", "anything")]))).status == 401
    finally:
        resources.close_unused(None)


def test_keys_file_errors_never_quote_the_file() -> None:
    raw = b'[{"consumer": "bob", "sha256": "super-secret-raw-key"}]'
    with pytest.raises(ValueError, match="hex digest") as caught:
        parse_keys_file(raw)
    assert "super-secret" not in str(caught.value)


def optional(cfg: config.AuthnPolicy) -> config.AuthnPolicy:
    return config.AuthnPolicy.from_data(
        {**config.to_data(cfg), "name": f"{cfg.name}-optional", "optional": True}
    )


async def test_optional_lets_a_request_without_a_key_through_without_a_principal() -> None:
    authn, recorder, registry = layer([optional(INLINE)])
    req = request([("x-meshgate-consumer", "alice")])
    response = await authn.handle(req)
    assert response.status == 200
    assert req.principal is None
    assert recorder.seen[0].request.header("x-meshgate-consumer") is None  # the forgery is gone
    assert failures(registry, "missing") == 0


async def test_optional_still_refuses_a_bad_key_and_accepts_a_good_one() -> None:
    authn, _, registry = layer([optional(INLINE)])
    assert (await authn.handle(request([("x-api-key", "guess")]))).status == 401
    assert failures(registry, "invalid_key") == 1
    good = request([("x-api-key", "alice-secret")])
    assert (await authn.handle(good)).status == 200
    assert good.principal is not None
    assert good.principal.consumer == "alice"


async def test_a_required_policy_next_to_an_optional_one_keeps_credentials_required() -> None:
    authn, recorder, _ = layer([optional(INLINE), INLINE])
    assert (await authn.handle(request())).status == 401
    assert not recorder.seen
