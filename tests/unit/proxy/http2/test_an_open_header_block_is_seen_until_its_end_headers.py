"""`header_block_open` sees a header block the `h2` library is still waiting for: a HEADERS
frame without END_HEADERS until its last CONTINUATION, and a HEADERS frame still partly unread."""

from __future__ import annotations

from h2.config import H2Configuration
from h2.connection import H2Connection
from hpack import Encoder
from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame, SettingsFrame

from meshproxy.http2.header_block import header_block_open

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _server() -> H2Connection:
    h2 = H2Connection(H2Configuration(client_side=False, header_encoding=None))
    h2.initiate_connection()
    h2.receive_data(PREFACE + SettingsFrame(0).serialize())
    return h2


def _block() -> bytes:
    headers = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")]
    return bytes(Encoder().encode(headers))


def test_a_block_waiting_for_continuations_is_open_until_end_headers() -> None:
    h2 = _server()
    block = _block()
    first = HeadersFrame(1, block[:3])
    first.flags.add("END_STREAM")
    h2.receive_data(first.serialize())
    assert header_block_open(h2)
    h2.receive_data(ContinuationFrame(1, block[3:5]).serialize())
    assert header_block_open(h2)
    last = ContinuationFrame(1, block[5:])
    last.flags.add("END_HEADERS")
    events = h2.receive_data(last.serialize())
    assert not header_block_open(h2)
    assert any(type(e).__name__ == "RequestReceived" for e in events)


def test_a_headers_frame_partly_arrived_is_open_and_other_frames_are_not() -> None:
    h2 = _server()
    frame = HeadersFrame(1, _block())
    frame.flags.add("END_HEADERS")
    frame.flags.add("END_STREAM")
    data = frame.serialize()
    h2.receive_data(data[:5])
    assert header_block_open(h2)
    h2.receive_data(data[5:])
    assert not header_block_open(h2)
    h2.receive_data(PingFrame(0, b"12345678").serialize()[:6])  # a PING half in: not a header
    assert not header_block_open(h2)


def test_nothing_received_is_not_an_open_block() -> None:
    assert not header_block_open(_server())
