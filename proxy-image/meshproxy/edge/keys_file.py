"""The API keys file a Secret mounts: a JSON list of `{"consumer": ..., "sha256": ...}`.

This module must never put a file's content in an error message: a raw key pasted where its
digest belongs must not end up in a log.
"""

from __future__ import annotations

import msgspec

from meshproxy import config

_ENTRIES = msgspec.json.Decoder(list[config.ApiKeyConsumer])


def parse_keys_file(raw: bytes) -> tuple[config.ApiKeyConsumer, ...]:
    """The entries of a keys file; ValueError with a content-free message when unusable."""
    try:
        return tuple(_ENTRIES.decode(raw))
    except msgspec.ValidationError as exc:
        # Only the place: msgspec's messages quote no values today, but nothing promises it.
        where = str(exc).rpartition(" - at `$")[2].rstrip("`").lstrip(".") or "(top level)"
        raise ValueError(
            f"entry {where} is not a {{consumer, sha256}} object with a hex digest"
        ) from None
    except msgspec.DecodeError:
        raise ValueError("not valid JSON") from None
