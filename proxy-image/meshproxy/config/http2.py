"""HTTP/2 connection limits: what one client connection may ask of the proxy, and how fast.

Each bound answers a known attack on HTTP/2 servers (docs/proxy-hardening.md, HTTP/2 section):
streams and header lists bound memory, the per-second caps bound CPU spent on frames that carry
no request (rapid reset, PING and SETTINGS floods), and the stall timeout frees a stream whose
peer never opens its flow-control window.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from .base import Model, Positive, Seconds

_WINDOW = Annotated[int, msgspec.Meta(ge=65_535, le=2**31 - 1)]


class Http2Limits(Model, frozen=True):
    max_concurrent_streams: Positive = 100  # SETTINGS_MAX_CONCURRENT_STREAMS we announce
    stream_window: _WINDOW = 256 * 1024  # per-stream receive window: body bytes buffered
    connection_window: _WINDOW = 4 * 1024 * 1024
    # Streams the client resets, PINGs and SETTINGS frames it sends, per connection and second;
    # beyond them the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed.
    max_resets_per_second: Positive = 200
    max_pings_per_second: Positive = 50
    max_settings_per_second: Positive = 50
    # A stream with data to send and a zero send window for this long is reset.
    stall_timeout: Seconds = 30.0
