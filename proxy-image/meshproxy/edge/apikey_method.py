"""API key authentication for one policy: inline digests plus a watched keys file.

The verifier is rebuilt only when the keys file's parsed value changes (an identity check per
request), so a rotation takes effect within a poll interval without a config reload.
"""

from __future__ import annotations

from meshproxy import config
from meshproxy.edge.keys_file import parse_keys_file
from meshproxy.edge.principal import Principal
from meshproxy.edge.resources import EdgeResources
from meshproxy.edge.watched_file import WatchedFile
from meshproxy.http.message import Request
from meshproxy.policy.apikey import ApiKeyVerifier

FileKeys = tuple[config.ApiKeyConsumer, ...]


class ApiKeyMethod:
    __slots__ = ("_cfg", "_file", "_file_keys", "_verifier", "consumer_header", "policy")

    def __init__(self, policy: str, cfg: config.ApiKeyAuthn, resources: EdgeResources) -> None:
        self.policy = policy
        self._cfg = cfg
        self.consumer_header = cfg.consumer_header.lower()
        self._file: WatchedFile[FileKeys] | None = None
        if cfg.keys_file:
            self._file = resources.watched_file(cfg.keys_file, parse_keys_file, "API keys file")
        self._file_keys: FileKeys | None = None
        self._verifier = ApiKeyVerifier(cfg)

    @property
    def forwarded_headers(self) -> frozenset[str]:
        """Headers this method sets: a client must never get to supply them."""
        return frozenset({self.consumer_header})

    def check(self, request: Request) -> Principal | str | None:
        """The principal; a failure reason when a key was presented and is not known; None
        when the request carries no key."""
        verifier = self._current()
        presented = verifier.presented_key(request.headers_dict(), request.query)
        if presented is None:
            return None
        consumer = verifier.verify(presented)
        if consumer is None:
            return "invalid_key"
        return Principal("apiKey", self.policy, consumer=consumer)

    def _current(self) -> ApiKeyVerifier:
        watched = self._file
        if watched is not None and watched.value is not self._file_keys:
            self._file_keys = watched.value
            self._verifier = ApiKeyVerifier(self._cfg, self._file_keys or ())
        return self._verifier
