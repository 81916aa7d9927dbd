"""The API keys file a Secret mounts: a JSON list of `{"consumer": ..., "sha256": ...}`.

This module must never put a file's content in an error message: a raw key pasted where its
digest belongs must not end up in a log.
"""

from __future__ import annotations

import json
from functools import cache

from pydantic import TypeAdapter, ValidationError

from meshproxy import config


@cache
def _entries() -> TypeAdapter[list[config.ApiKeyConsumer]]:
    # Built on first use: a proxy without API keys never pays for this validator's memory.
    return TypeAdapter(list[config.ApiKeyConsumer])


def parse_keys_file(raw: bytes) -> tuple[config.ApiKeyConsumer, ...]:
    """The entries of a keys file; ValueError with a content-free message when unusable."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not valid JSON") from None
    try:
        return tuple(_entries().validate_python(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        # pydantic's `msg` can quote the input (a pattern mismatch does): say the place only.
        raise ValueError(
            f"entry {where} is not a {{consumer, sha256}} object with a hex digest"
        ) from None
