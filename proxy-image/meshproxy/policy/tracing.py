"""W3C Trace Context: keep the caller's trace, give this hop its own span, and request ids.

A valid incoming `traceparent` keeps its trace id and flags and gets a new parent id (this
proxy's span), forwarded as version 00; an invalid or absent one is replaced by a new trace,
with the sampled flag off, since the proxy records no spans of its own (only the trace id, in the
access log). Validation follows the W3C Trace Context spec: lower-case hex, no all-zero ids,
version `ff` refused, higher versions parsed by their version-00 prefix.

This module must never draw random numbers itself: random bytes or hex digits are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["ensure_traceparent", "new_request_id", "request_id_from_hex", "traceparent_from_hex"]

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
# The UUID variant (RFC 9562: 10xx) in the high nibble of byte 8, by that nibble's random value.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def ensure_traceparent(incoming: str | None, rand_bytes: Callable[[int], bytes]) -> tuple[str, str]:
    """(traceparent to forward, trace id) for this request."""
    span = rand_bytes(8).hex()
    if incoming is not None:
        parsed = _parse(incoming.strip())
        if parsed is not None:
            return traceparent_from_hex(incoming, span, "")
    return traceparent_from_hex(None, span, rand_bytes(16).hex())


def traceparent_from_hex(incoming: str | None, span: str, trace: str) -> tuple[str, str]:
    """As `ensure_traceparent`, from random lower-case hex: 16 digits for this hop's span and
    32 for a new trace id (used only when `incoming` is absent or invalid)."""
    if span == _ZERO_SPAN:
        span = _ZERO_SPAN[:-2] + "01"  # all-zero ids are invalid in Trace Context
    if incoming is not None:
        parsed = _parse(incoming.strip())
        if parsed is not None:
            trace_id, flags = parsed
            return f"00-{trace_id}-{span}-{flags}", trace_id
    if trace == _ZERO_TRACE:
        trace = _ZERO_TRACE[:-2] + "01"
    return f"00-{trace}-{span}-00", trace


def new_request_id(rand_bytes: Callable[[int], bytes]) -> str:
    """A random (version 4) UUID, for the request id header."""
    return request_id_from_hex(rand_bytes(16).hex())


def request_id_from_hex(h: str) -> str:
    """A version 4 UUID from 32 random lower-case hex digits, version and variant bits set."""
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


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
