"""A gateway config checked and dumped from per-virtual-host pieces and the rest
(`versioned_in_pieces`) is `versioned`'s whole check and dump, byte for byte, whether its pieces
are fresh or kept from a config that differs; a changed virtual host or rest is dumped again,
never taken from the kept pieces."""

from __future__ import annotations

import pytest
from golden_cases import case_names, documents, snapshot
from msgspec.structs import replace

from meshgate.compile import compile_snapshot
from meshgate.compile.gateway_text import Pieces, versioned_in_pieces
from meshgate.compile.result import versioned
from meshproxy import config as pc

CONFIGS = [
    pytest.param(gw.config, id=f"{case}/{gw.gateway.name}")
    for case in case_names()
    for gw in compile_snapshot(snapshot(documents(case))).gateways
]


def _with_first_vhost_routes(config: pc.ProxyConfig, routes: list[pc.Route]) -> pc.ProxyConfig:
    listener = next(ln for ln in config.listeners if ln.virtual_hosts)
    first, *rest = listener.virtual_hosts
    vhosts = [replace(first, routes=routes), *rest]
    listeners = [
        replace(ln, virtual_hosts=vhosts) if ln is listener else ln for ln in config.listeners
    ]
    return replace(config, listeners=listeners)


@pytest.mark.parametrize("config", CONFIGS)
def test_fresh_pieces_give_the_whole_dump(config: pc.ProxyConfig) -> None:
    checked, text, _ = versioned_in_pieces(config, Pieces())
    assert (checked, text) == versioned(config)


@pytest.mark.parametrize("config", CONFIGS)
def test_pieces_kept_from_another_config_give_this_configs_dump(config: pc.ProxyConfig) -> None:
    if not any(ln.virtual_hosts for ln in config.listeners):
        pytest.skip("no virtual host")
    # The kept pieces come from a config whose first virtual host lost its routes.
    other = _with_first_vhost_routes(config, [])
    _, other_text, kept = versioned_in_pieces(other, Pieces())
    checked, text, pieces = versioned_in_pieces(config, kept)
    assert (checked, text) == versioned(config)
    assert text != other_text or other == config
    # Unchanged virtual hosts are reused as they were checked and dumped.
    reused = [key for key, piece in pieces.vhosts.items() if kept.vhosts.get(key) is piece]
    assert len(reused) >= len(pieces.vhosts) - 1
    assert pieces.rest is kept.rest  # the rest did not move


@pytest.mark.parametrize("config", CONFIGS)
def test_a_rest_kept_from_a_config_with_other_clusters_is_dumped_again(
    config: pc.ProxyConfig,
) -> None:
    other = replace(config, clusters=[*config.clusters, pc.Cluster(name="only-in-the-other")])
    _, _, kept = versioned_in_pieces(other, Pieces())
    checked, text, pieces = versioned_in_pieces(config, kept)
    assert (checked, text) == versioned(config)
    assert pieces.rest is not kept.rest


def test_a_virtual_host_the_proxy_would_refuse_fails_with_its_place_in_the_config() -> None:
    configs = [param.values[0] for param in CONFIGS]
    config = next(c for c in configs if c.listeners and c.listeners[0].virtual_hosts)
    # Struct constructors check no bounds: 99 is no HTTP status, the proxy's decoder says so.
    route = pc.Route(name="bad", direct_response=pc.DirectResponse(status=99))
    with pytest.raises(pc.ConfigError, match=r"listeners\[\d+\]\.virtualHosts\[0\]\.routes\[0\]"):
        versioned_in_pieces(_with_first_vhost_routes(config, [route]), Pieces())
