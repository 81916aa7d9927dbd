"""The proxy config loader (`meshproxy.config.parse_config`): any bytes either load as a config
or are refused with `ConfigError`; an accepted config dumps to canonical JSON that loads back to
the same config (the operator writes exactly that dump, and hashes it for the version)."""

from __future__ import annotations

from meshproxy.config import ConfigError, dump_config, parse_config


def one_input(data: bytes) -> None:
    try:
        loaded = parse_config(data)
    except ConfigError:
        return
    dumped = dump_config(loaded)
    again = dump_config(parse_config(dumped))
    if again != dumped:
        raise AssertionError("a loaded config does not survive its own canonical dump")
