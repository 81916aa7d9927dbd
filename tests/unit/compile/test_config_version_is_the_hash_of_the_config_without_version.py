"""`version` is sha256 of the canonical JSON with an empty version: it changes with content only."""

from __future__ import annotations

import hashlib

from golden_cases import documents, snapshot
from msgspec.structs import replace

from meshgate.compile import compile_snapshot
from meshproxy.config import dump_config


def test_version_matches_hash_of_unversioned_canonical_json() -> None:
    gw = compile_snapshot(snapshot(documents("gateway-basic-http"))).gateways[0]
    unversioned = dump_config(replace(gw.config, version=""))
    assert gw.version == hashlib.sha256(unversioned.encode()).hexdigest()[:16]
    assert gw.config_json == dump_config(gw.config)


def test_changing_a_route_changes_the_version_and_nothing_else_keeps_it() -> None:
    docs = documents("gateway-basic-http")
    before = compile_snapshot(snapshot(docs)).gateways[0].version
    again = compile_snapshot(snapshot(documents("gateway-basic-http"))).gateways[0].version
    route = next(d for d in docs if d["kind"] == "Route")
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/orders/v2"
    after = compile_snapshot(snapshot(docs)).gateways[0].version
    assert before == again
    assert after != before
