"""Listener limits resolved at config load, and the memory ceiling's sources and hysteresis."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshproxy import config
from meshproxy.limits import memory
from meshproxy.limits.settings import EDGE_MAX_CONNECTIONS_PER_CLIENT, resolve


def _listener(role: str, **limits: object) -> config.Listener:
    inbound = config.Inbound() if role == "inbound" else None
    return config.Listener(
        name="l",
        port=8080,
        role=role,  # type: ignore[arg-type]
        inbound=inbound,
        connection_limits=config.ConnectionLimits(**limits),  # type: ignore[arg-type]
    )


def test_unset_header_and_idle_timeouts_take_the_proxy_wide_values() -> None:
    proxy_wide = config.Limits(header_timeout=3, idle_timeout=7)
    got = resolve(_listener("edge"), proxy_wide)
    assert (got.header_timeout, got.idle_timeout) == (3, 7)
    got = resolve(_listener("edge", header_timeout=1, idle_timeout=2), proxy_wide)
    assert (got.header_timeout, got.idle_timeout) == (1, 2)


def test_the_per_client_cap_is_on_at_the_edge_and_off_in_sidecars_unless_set() -> None:
    limits = config.Limits()
    assert resolve(_listener("edge"), limits).max_connections_per_client == (
        EDGE_MAX_CONNECTIONS_PER_CLIENT
    )
    assert resolve(_listener("outbound"), limits).max_connections_per_client == 0
    assert resolve(_listener("inbound"), limits).max_connections_per_client == 0
    off = resolve(_listener("edge", max_connections_per_client=0), limits)
    assert off.max_connections_per_client == 0
    on = resolve(_listener("outbound", max_connections_per_client=5), limits)
    assert on.max_connections_per_client == 5


def test_a_listener_without_limits_in_its_json_gets_every_default() -> None:
    raw = (
        b'{"schema":"meshproxy/v1","node":{"role":"gateway"},'
        b'"listeners":[{"name":"w","port":80,"role":"edge"}]}'
    )
    cfg = config.parse_config(raw)
    got = resolve(cfg.listeners[0], cfg.limits)
    assert got.body_timeout == 15
    assert got.request_timeout == 60
    assert got.send_timeout == 30
    assert got.max_connections == 10_000
    assert got.max_pending_requests == 4096
    assert got.response_buffer_bytes == 256 * 1024
    assert "connectionLimits" not in config.dump_config(cfg)  # unset stays out of the JSON


def test_the_response_buffer_is_a_listener_setting_and_zero_turns_it_off() -> None:
    limits = config.Limits()
    assert resolve(_listener("edge", response_buffer_bytes=0), limits).response_buffer_bytes == 0
    got = resolve(_listener("edge", response_buffer_bytes=1 << 20), limits)
    assert got.response_buffer_bytes == 1 << 20
    raw = (
        b'{"schema":"meshproxy/v1","node":{"role":"gateway"},"listeners":[{"name":"w",'
        b'"port":80,"role":"edge","connectionLimits":{"responseBufferBytes":-1}}]}'
    )
    with pytest.raises(config.ConfigError, match="responseBufferBytes"):
        config.parse_config(raw)


def test_answers_held_for_slow_clients_count_against_the_ceiling_share() -> None:
    ceiling = memory.MemoryCeiling(1000)
    ceiling.observe(600)  # the share is 750: 150 left
    assert ceiling.take(100)
    assert not ceiling.take(100)  # taken since the sample counts until the next one
    ceiling.give(100)
    ceiling.observe(600)
    assert ceiling.take(150)
    assert ceiling.buffered == 150
    ceiling.observe(2000)  # over: nothing more is held
    assert not ceiling.take(1)
    none = memory.MemoryCeiling(0)
    assert none.take(memory.NO_CEILING_BUFFER_BYTES)
    assert not none.take(1)
    none.give(memory.NO_CEILING_BUFFER_BYTES)
    assert none.take(1)


def test_a_bad_limit_is_refused_saying_where() -> None:
    raw = (
        b'{"schema":"meshproxy/v1","node":{"role":"gateway"},"listeners":[{"name":"w",'
        b'"port":80,"role":"edge","connectionLimits":{"writeBufferBytes":10}}]}'
    )
    with pytest.raises(config.ConfigError, match="writeBufferBytes"):
        config.parse_config(raw)


@pytest.mark.parametrize(
    ("text", "limit"),
    [("max\n", None), ("268435456\n", 268435456), ("9223372036854771712\n", None), ("", None)],
)
def test_cgroup_limit_files_are_read_as_bytes_or_no_limit(text: str, limit: int | None) -> None:
    assert memory.parse_cgroup_limit(text) == limit


def test_the_first_cgroup_file_naming_a_limit_wins(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "limit_in_bytes"
    v2.write_text("max\n")
    v1.write_text("1048576\n")
    assert memory.cgroup_limit((str(tmp_path / "absent"), str(v2), str(v1))) == 1048576


def test_the_ceiling_is_the_setting_else_ninety_percent_of_the_container_limit() -> None:
    assert memory.ceiling_bytes(5000, 100_000) == 5000
    assert memory.ceiling_bytes(0, 100_000) == 0  # explicitly off
    assert memory.ceiling_bytes(None, 100_000) == 90_000
    assert memory.ceiling_bytes(None, None) == 0


def test_over_the_ceiling_until_well_below_it() -> None:
    ceiling = memory.MemoryCeiling(1000)
    ceiling.observe(999)
    assert not ceiling.over
    ceiling.observe(1000)
    assert ceiling.over
    assert ceiling.times_over == 1
    ceiling.observe(960)  # under the ceiling but not under 95 % of it: still over
    assert ceiling.over
    ceiling.observe(940)
    assert not ceiling.over


def test_resident_size_is_read_from_proc() -> None:
    assert memory.resident_bytes() > 1 << 20
