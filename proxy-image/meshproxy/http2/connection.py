"""New `h2` connection objects, client and server side, with the proxy's settings.

Header names and values stay bytes (`header_encoding=None`): the codec decodes them as latin-1,
one character per byte, as the HTTP/1 codec does. The decoded header list is bounded by
`maxHeaderBytes` (SETTINGS_MAX_HEADER_LIST_SIZE, enforced by the HPACK decoder as it decodes,
so a block that expands into a huge list is refused before it is built); the `h2` library
bounds a header block to 64 CONTINUATION frames of at most 16 KiB each.
"""

from __future__ import annotations

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.settings import SettingCodes, Settings

from meshproxy.config import Http2Limits


def server_side(limits: Http2Limits, max_header_bytes: int) -> H2Connection:
    h2 = H2Connection(
        H2Configuration(client_side=False, header_encoding=None, validate_inbound_headers=True)
    )
    h2.local_settings = _settings(h2, limits, max_header_bytes, limits.max_concurrent_streams)
    return h2


def client_side(limits: Http2Limits, max_header_bytes: int) -> H2Connection:
    h2 = H2Connection(
        H2Configuration(client_side=True, header_encoding=None, validate_inbound_headers=True)
    )
    # An upstream never opens streams towards the proxy (no server push).
    h2.local_settings = _settings(h2, limits, max_header_bytes, 0)
    return h2


def _settings(
    h2: H2Connection, limits: Http2Limits, max_header_bytes: int, streams: int
) -> Settings:
    # Set before the preface is sent, so the first SETTINGS frame carries them; the HPACK
    # decoder enforces the header list bound from the first block on.
    h2.decoder.max_header_list_size = max_header_bytes
    return Settings(
        client=h2.config.client_side,
        initial_values={
            SettingCodes.MAX_CONCURRENT_STREAMS: streams,
            SettingCodes.INITIAL_WINDOW_SIZE: limits.stream_window,
            SettingCodes.MAX_HEADER_LIST_SIZE: max_header_bytes,
            SettingCodes.ENABLE_PUSH: 0,
        },
    )


def start(h2: H2Connection, limits: Http2Limits) -> None:
    """Queue the preface and SETTINGS, and open the connection window to its configured size."""
    h2.initiate_connection()
    extra = limits.connection_window - 65_535
    if extra > 0:
        h2.increment_flow_control_window(extra)
