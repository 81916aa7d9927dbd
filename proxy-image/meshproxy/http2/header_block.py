"""Whether a client's header block has begun arriving and is not complete yet.

The `h2` library yields a request only once its whole header block is in: a HEADERS frame
without END_HEADERS waits for its CONTINUATION frames, and a frame still partly unread waits for
its last byte, both inside the library's frame buffer. The connection's header timeout needs to
see that wait, so this module looks into the buffer (`h2` is pinned in constraints.txt; its
unit test fails if the library's layout changes).

This module must never change the buffer.
"""

from __future__ import annotations

from h2.connection import H2Connection

_HEADERS, _CONTINUATION = 0x1, 0x9  # frame types that carry a header block (RFC 9113 §6)


def header_block_open(h2: H2Connection) -> bool:
    buffer = h2.incoming_buffer
    if buffer._headers_buffer:  # a HEADERS frame waiting for CONTINUATIONs up to END_HEADERS
        return True
    data = buffer._data  # what is left after the last whole frame: the start of the next one
    return len(data) >= 4 and data[3] in (_HEADERS, _CONTINUATION)
