"""TLS objects whose record calls go straight to OpenSSL's binding, not through `ssl.py`.

The event loop's TLS transport calls `read`, `write` and `pending` of the `SSLObject` it wraps
once per record (per request on a pooled mesh connection, on both sidecars). `ssl.SSLObject`
defines each as a Python method that only forwards to the C object it holds; a
`DirectSSLObject` holds the C object's own bound methods under those names instead, so each
call skips a Python frame. Same arguments, results and exceptions: the forwarding methods add
nothing.

This module must never change what a TLS object does: only which function answers the call.
"""

from __future__ import annotations

import ssl
from typing import Any


class DirectSSLObject(ssl.SSLObject):
    """An `SSLObject` whose `read`, `write` and `pending` are the C object's methods."""

    @classmethod
    def _create(cls, *args: Any, **kwargs: Any) -> DirectSSLObject:
        self: DirectSSLObject = super()._create(*args, **kwargs)  # type: ignore[misc]
        inner = self._sslobj  # type: ignore[attr-defined]
        vars(self).update(read=inner.read, write=inner.write, pending=inner.pending)
        return self


def direct(context: ssl.SSLContext) -> ssl.SSLContext:
    """`context`, making `DirectSSLObject`s for `wrap_bio` (the event loop's TLS transport)."""
    context.sslobject_class = DirectSSLObject
    return context
