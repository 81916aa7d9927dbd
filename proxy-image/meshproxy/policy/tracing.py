"""W3C Trace Context: keep the caller's trace, give this hop its own span, and request ids.

A valid incoming `traceparent` keeps its trace id and flags and gets a new parent id (this
proxy's span), forwarded as version 00; an invalid or absent one is replaced by a new trace,
with the sampled flag off, since the proxy records no spans of its own (only the trace id, in the
access log). Validation follows the W3C Trace Context spec: lower-case hex, no all-zero ids,
version `ff` refused, higher versions parsed by their version-00 prefix.

This module must never draw random numbers itself: `rand_bytes(n)` is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["ensure_traceparent", "new_request_id"]

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def ensure_traceparent(incoming: str | None, rand_bytes: Callable[[int], bytes]) -> tuple[str, str]:
    """(traceparent to forward, trace id) for this request."""
    span = _nonzero(rand_bytes(8)).hex()
    if incoming is not None:
        parsed = _parse(incoming.strip())
        if parsed is not None:
            trace_id, flags = parsed
            return f"00-{trace_id}-{span}-{flags}", trace_id
    trace_id = _nonzero(rand_bytes(16)).hex()
    return f"00-{trace_id}-{span}-00", trace_id


def new_request_id(rand_bytes: Callable[[int], bytes]) -> str:
    """A random (version 4) UUID, for the request id header."""
    raw = bytearray(rand_bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _parse(value: str) -> tuple[str, str] | None:
    match = _TRACEPARENT.match(value)
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    if version == "00":
        if len(value) != 55:
            return None
    elif len(value) > 55 and value[55] != "-":
        return None
    if version != "00":
        flags = f"{int(flags, 16) & 0x01:02x}"  # only the flags version 00 defines
    return trace_id, flags


def _nonzero(raw: bytes) -> bytes:
    # All-zero ids are invalid in Trace Context; a generator that yields them gets nudged.
    return raw if any(raw) else raw[:-1] + b"\x01"
