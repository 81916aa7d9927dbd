"""One server context that hands each new handshake the current certificate.

asyncio fixes a server's `SSLContext` when the listener is created, so a rotated certificate
cannot be swapped in by replacing that object. Instead the listener gets `ContextSwitch.outer`,
whose SNI callback (which OpenSSL calls for every ClientHello, with or without SNI) moves the
handshake onto the current inner context. Connections already established keep the context
they started with; new ones get the new certificate. The same hook picks a certificate by
server name for gateway listeners serving several hostnames.

What the switch cannot change per connection is the verify mode (OpenSSL keeps the mode of the
context the connection was created with), so `swap` refuses a context whose mode differs: a
change between STRICT and PERMISSIVE needs a new listener, a certificate rotation does not.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping


class ContextSwitch:
    def __init__(
        self, default: ssl.SSLContext, by_name: Mapping[str, ssl.SSLContext] | None = None
    ) -> None:
        self._outer = default
        self._default = default
        self._by_name = _normalise(by_name)
        self._check(default, self._by_name)
        default.sni_callback = self._on_client_hello

    @property
    def outer(self) -> ssl.SSLContext:
        """Give this to `create_server`/`start_tls`; it never changes for the switch's life."""
        return self._outer

    @property
    def current(self) -> ssl.SSLContext:
        return self._default

    def context_for(self, server_name: str | None) -> ssl.SSLContext:
        if server_name:
            name = server_name.lower().rstrip(".")
            exact = self._by_name.get(name)
            if exact is not None:
                return exact
            _, dot, parent = name.partition(".")
            if dot:
                wildcard = self._by_name.get("*." + parent)
                if wildcard is not None:
                    return wildcard
        return self._default

    def swap(
        self, default: ssl.SSLContext, by_name: Mapping[str, ssl.SSLContext] | None = None
    ) -> None:
        """Use these contexts for every handshake from now on. One assignment each, so a
        handshake racing the swap sees either the old set or the new one."""
        names = _normalise(by_name)
        self._check(default, names)
        self._by_name = names
        self._default = default

    def _check(self, default: ssl.SSLContext, by_name: Mapping[str, ssl.SSLContext]) -> None:
        for ctx in (default, *by_name.values()):
            if ctx.verify_mode != self._outer.verify_mode:
                raise ValueError(
                    "a context with another verify mode cannot be switched in; "
                    "create a new listener for a peer authentication mode change"
                )

    def _on_client_hello(
        self, ssl_object: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        target = self.context_for(server_name)
        if target is not ssl_object.context:
            ssl_object.context = target


def _normalise(by_name: Mapping[str, ssl.SSLContext] | None) -> dict[str, ssl.SSLContext]:
    return {name.lower().rstrip("."): ctx for name, ctx in (by_name or {}).items()}
