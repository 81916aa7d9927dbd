"""The compiler checks every config with the proxy's own decoder before it is written: struct
constructors check no bounds, so a config the proxy would refuse fails the compile instead."""

from __future__ import annotations

import json

import pytest

from meshgate.compile.result import versioned
from meshproxy import config as pc


def _config(endpoint_port: int, idle_timeout: float) -> pc.ProxyConfig:
    cluster = pc.Cluster(
        name="be",
        endpoints=[pc.Endpoint(address="10.0.0.1", port=endpoint_port)],
        connection_pool=pc.ConnectionPool(idle_timeout=idle_timeout),
    )
    return pc.ProxyConfig(node=pc.Node(role="sidecar"), clusters=[cluster])


def test_a_config_out_of_bounds_is_refused_with_the_proxys_message() -> None:
    with pytest.raises(pc.ConfigError, match=r"clusters\[0\]\.endpoints\[0\]\.port: .*>= 1"):
        versioned(_config(endpoint_port=0, idle_timeout=5.0))


def test_the_written_config_is_what_the_proxy_reads_back() -> None:
    # A whole number in a float field is written as the float the proxy decodes it to.
    stamped, text = versioned(_config(endpoint_port=8080, idle_timeout=5))
    assert '"idleTimeout":5.0' in text
    assert stamped == pc.parse_config(text)
    assert json.loads(text)["version"] == stamped.version != ""
