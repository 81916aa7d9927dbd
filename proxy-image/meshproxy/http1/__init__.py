"""The HTTP/1 wire format, in one place: checking a client's request head, writing the upstream
request head, reading an upstream's response head, writing the response head to the client, and
streaming a body onto a connection in either direction.

The connection protocols (`server/protocol.py`, `upstream/connection.py`) drive httptools and
own the sockets; everything they decide about HTTP/1 bytes lives here. HTTP/2 plugs in as a
second codec that yields the same `Exchange`/`Request`/`Response` objects.

This package must never pick routes, endpoints or policies, and never open a socket.
"""
