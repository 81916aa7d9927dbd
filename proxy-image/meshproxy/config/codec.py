"""Config JSON in and out: the proxy's loader, the canonical dump, and the operator's check.

Decoding is where a config is validated in full (types, bounds, unknown fields and the
cross-field rules), by msgspec's decoder built once for `ProxyConfig`. The operator passes what
it built through `as_loaded` before writing it, so it can never write a config the proxy
refuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from .proxy import ProxyConfig

_DECODER = msgspec.json.Decoder(ProxyConfig)


class ConfigError(Exception):
    """The config file cannot be used; the message says where and what to fix."""


def parse_config(raw: bytes | str) -> ProxyConfig:
    try:
        return _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid config: {explain(exc)}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"config is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        # msgspec reports a bad byte inside a string this way, not as a DecodeError.
        raise ConfigError(f"config is not valid UTF-8 at byte {exc.start}") from None


def load_config(path: str | Path) -> ProxyConfig:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    return parse_config(raw)


def as_loaded(config: ProxyConfig) -> ProxyConfig:
    """The config the proxy would load from this one's JSON: ConfigError where it would refuse.

    Struct `__init__` checks no types or bounds; this does, and it also gives every float field
    a float (a struct built with `timeout=5` dumps as `5.0`, as the proxy reads it back).
    """
    return parse_config(msgspec.json.encode(config))


def to_data(model: msgspec.Struct) -> Any:
    """The JSON-ready data of a config struct: camelCase keys, defaults included."""
    return msgspec.to_builtins(model)


def dump_config(config: ProxyConfig) -> str:
    """Canonical JSON: sorted keys, camelCase, defaults included, so equal configs hash equal."""
    return canonical_json(to_data(config))


def canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def explain(exc: msgspec.ValidationError) -> str:
    """`where: what` from msgspec's `what - at `$.where`` (the first problem it met)."""
    message, _, where = str(exc).rpartition(" - at `")
    if not message:
        return str(exc)
    path = where.rstrip("`").removeprefix("$").removeprefix(".")
    return f"{path or '(top level)'}: {message}"
