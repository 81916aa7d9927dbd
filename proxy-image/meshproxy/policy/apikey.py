"""API keys: which consumer, if any, a presented key belongs to.

Only SHA-256 digests of keys are ever held (from config or the runtime-read keys file). A
presented key is hashed and compared with `hmac.compare_digest` against every stored digest,
without stopping at a match, so the time taken says nothing about which key or how much of it
matched.

This module must never do I/O or log a key: reading `keysFile` is the runtime's, which passes
the parsed entries in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import unquote

from meshproxy import config

__all__ = ["ApiKeyVerifier"]


class ApiKeyVerifier:
    __slots__ = ("_digests", "consumer_header", "header", "query")

    def __init__(
        self, cfg: config.ApiKeyAuthn, file_keys: Sequence[config.ApiKeyConsumer] = ()
    ) -> None:
        self.header = cfg.header.lower() if cfg.header else None
        self.query = cfg.query
        self.consumer_header = cfg.consumer_header
        self._digests = tuple(
            (bytes.fromhex(k.sha256), k.consumer) for k in (*cfg.keys, *file_keys)
        )

    def presented_key(self, headers: Mapping[str, str], query: str) -> str | None:
        """The key the request carries, from the header (lower-case keyed) or query parameter."""
        if self.header is not None:
            value = headers.get(self.header)
            if value:
                return value.strip()
        if self.query is not None and query:
            for pair in query.split("&"):
                name, sep, value = pair.partition("=")
                if sep and unquote(name) == self.query and value:
                    return unquote(value)
        return None

    def verify(self, presented: str | None) -> str | None:
        """The consumer whose key this is, or None."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: str | None = None
        for stored, consumer in self._digests:
            if hmac.compare_digest(stored, digest) and found is None:
                found = consumer
        return found
