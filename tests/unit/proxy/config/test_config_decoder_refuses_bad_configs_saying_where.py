"""The proxy's config decoder: every bound, unknown field and cross-field rule is refused with a
message that names the place, and a good config reads back to the same canonical JSON."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from meshproxy import config

Doc = dict[str, Any]


def good() -> Doc:
    route = {"name": "r", "forward": {"clusters": [{"cluster": "be"}]}}
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "edge",
                "port": 8080,
                "role": "edge",
                "virtualHosts": [{"name": "any", "domains": ["*"], "routes": [route]}],
            }
        ],
        "clusters": [{"name": "be", "endpoints": [{"address": "127.0.0.1", "port": 9000}]}],
    }


def _route(doc: Doc) -> Doc:
    route: Doc = doc["listeners"][0]["virtualHosts"][0]["routes"][0]
    return route


def _inbound(doc: Doc, ports: list[int]) -> None:
    doc["listeners"].append(
        {"name": "in", "port": 15006, "role": "inbound", "inbound": {"allowedPorts": ports}}
    )


CASES: list[tuple[str, Callable[[Doc], None], list[str]]] = [
    (
        "port-above-65535",
        lambda d: d["listeners"][0].update(port=70000),
        ["listeners[0].port", "<= 65535"],
    ),
    (
        "unknown-field",
        lambda d: d["listeners"][0].update(colour="red"),
        ["listeners[0]", "unknown field `colour`"],
    ),
    (
        "snake-case-key",
        lambda d: d["listeners"][0].update(virtual_hosts=[]),
        ["unknown field `virtual_hosts`"],
    ),
    ("other-schema", lambda d: d.update(schema="meshproxy/v2"), ["schema:"]),
    (
        "route-without-action",
        lambda d: _route(d).pop("forward"),
        ["set exactly one of forward, redirect, directResponse", "routes[0]"],
    ),
    (
        "route-with-two-actions",
        lambda d: _route(d).update(directResponse={"status": 200}),
        ["route 'r': set exactly one of forward, redirect, directResponse"],
    ),
    (
        "every-weight-zero",
        lambda d: _route(d)["forward"]["clusters"][0].update(weight=0),
        ["forward.clusters: at least one weight must be above zero"],
    ),
    (
        "no-clusters",
        lambda d: _route(d)["forward"].update(clusters=[]),
        ["forward.clusters", "length >= 1"],
    ),
    ("negative-timeout", lambda d: _route(d)["forward"].update(timeout=-1), ["timeout", ">= 0"]),
    (
        "reserved-inbound-port",
        lambda d: _inbound(d, [8080, 15090]),
        ["inbound.allowedPorts: [15090] are the proxy's own ports"],
    ),
    (
        "inbound-role-without-inbound",
        lambda d: d["listeners"][0].update(role="inbound"),
        ["listener 'edge': role inbound needs `inbound`"],
    ),
    (
        "inbound-on-an-edge-listener",
        lambda d: d["listeners"][0].update(inbound={}),
        ["listener 'edge': `inbound` is only for role inbound"],
    ),
    (
        "dangling-cluster",
        lambda d: _route(d)["forward"]["clusters"][0].update(cluster="missing"),
        ["'r': cluster 'missing' is not defined"],
    ),
    (
        "dangling-policy",
        lambda d: d["listeners"][0].update(authz=["nobody"]),
        ["'edge': authz 'nobody' is not defined"],
    ),
    (
        "port-used-twice",
        lambda d: d["listeners"].append(copy.deepcopy(d["listeners"][0])),
        ["listener 'edge': port 8080 used twice"],
    ),
    (
        "api-key-digest-not-hex",
        lambda d: d.update(
            authn=[{"name": "k", "apiKey": {"keys": [{"consumer": "c", "sha256": "XYZ"}]}}]
        ),
        ["authn[0].apiKey.keys[0].sha256"],
    ),
    (
        "generated-camel-case-of-5xx",
        lambda d: d["clusters"][0].update(outlierDetection={"consecutive5XxErrors": 1}),
        ["unknown field `consecutive5XxErrors`"],
    ),
]


@pytest.mark.parametrize(("change", "wanted"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_refused_with_a_message_naming_the_place(
    change: Callable[[Doc], None], wanted: list[str]
) -> None:
    doc = good()
    change(doc)
    with pytest.raises(config.ConfigError) as refused:
        config.parse_config(json.dumps(doc))
    message = str(refused.value)
    assert message.startswith("invalid config: ")
    for part in wanted:
        assert part in message


def test_text_that_is_not_json_is_refused_as_such() -> None:
    with pytest.raises(config.ConfigError, match="config is not valid JSON"):
        config.parse_config(b'{"node": ')


@pytest.mark.parametrize(
    "raw",
    [
        # Found by the fuzzer (fuzz/regressions/proxy_config): a bad byte inside a key.
        b'{"node":{"l\xe1bels":{}}}',
        b'{"schema":"meshproxy/v1\xff"}',
    ],
    ids=["in-a-key", "in-a-string"],
)
def test_bytes_that_are_not_utf8_are_refused_as_such(raw: bytes) -> None:
    with pytest.raises(config.ConfigError, match="config is not valid UTF-8"):
        config.parse_config(raw)


def test_istio_and_json_spellings_are_read() -> None:
    doc = good()
    doc["clusters"][0]["outlierDetection"] = {"consecutive5xxErrors": 2}
    doc["authz"] = [{"name": "a", "rules": [{"from": [{"namespaces": ["shop"]}]}]}]
    cfg = config.parse_config(json.dumps(doc))
    outlier = cfg.clusters[0].outlier_detection
    assert outlier is not None
    assert outlier.consecutive_5xx_errors == 2
    assert cfg.authz[0].rules[0].from_[0].namespaces == ["shop"]


def test_a_good_config_reads_back_to_the_same_canonical_json_with_defaults_filled() -> None:
    cfg = config.parse_config(json.dumps(good()))
    text = config.dump_config(cfg)
    assert config.parse_config(text) == cfg
    assert config.dump_config(config.parse_config(text)) == text
    data = json.loads(text)
    # Float fields are floats on the wire even when the input or the default is a whole number.
    assert data["clusters"][0]["connectionPool"]["idleTimeout"] == 60.0
    assert '"idleTimeout":60.0' in text
    assert data["limits"]["maxPipelinedRequests"] == 64
    assert data["schema"] == "meshproxy/v1"


def test_structs_are_immutable() -> None:
    cfg = config.parse_config(json.dumps(good()))
    with pytest.raises(AttributeError):
        cfg.version = "changed"  # type: ignore[misc]
