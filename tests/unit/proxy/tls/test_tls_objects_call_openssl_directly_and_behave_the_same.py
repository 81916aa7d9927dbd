"""The mesh contexts' TLS objects answer `read`, `write` and `pending` with the C binding's own
methods (no `ssl.py` frame per record), and still behave as `ssl.SSLObject` does: records both
ways, nothing to read is `SSLWantReadError`, a peer's close_notify is an empty read.

In-memory handshakes (`wrap_bio`) between the real mesh contexts: no sockets, no event loop.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from tls_harness import Mesh, handshake_in_memory, identity_from

from meshproxy.tls.contexts import mesh_client_context, server_context


def _pair(mesh: Mesh, tmp_path: Path) -> tuple[ssl.SSLObject, ssl.SSLObject, list[ssl.MemoryBIO]]:
    server_ctx = server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), True)
    client_ctx = mesh_client_context(identity_from(tmp_path / "cli", mesh.issue()))
    tls = handshake_in_memory(client_ctx, server_ctx)
    return tls.client, tls.server, list(tls.bios)


def test_record_calls_are_the_c_objects_methods(mesh: Mesh, tmp_path: Path) -> None:
    client, server, _ = _pair(mesh, tmp_path)
    for end in (client, server):
        assert isinstance(end, ssl.SSLObject)
        inner = end._sslobj  # type: ignore[attr-defined]
        for name in ("read", "write", "pending"):
            method = getattr(end, name)
            assert method.__self__ is inner, name  # the C object's, not ssl.SSLObject's


def test_records_flow_both_ways_and_close_notify_reads_empty(mesh: Mesh, tmp_path: Path) -> None:
    client, server, (c_in, c_out, s_in, s_out) = _pair(mesh, tmp_path)
    request = b"GET / HTTP/1.1\r\nHost: backend\r\n\r\n"
    assert client.write(request) == len(request)
    s_in.write(c_out.read())
    assert server.pending() == 0  # nothing decrypted before the first read
    assert server.read(5) == request[:5]
    assert server.pending() == len(request) - 5
    buffer = bytearray(100)
    assert server.read(100, buffer) == len(request) - 5
    assert bytes(buffer[: len(request) - 5]) == request[5:]
    with pytest.raises(ssl.SSLWantReadError):
        server.read(1024)
    response = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    server.write(response)
    c_in.write(s_out.read())  # the session ticket, then the response
    got = b""
    try:
        while True:
            got += client.read(1024)
    except ssl.SSLWantReadError:
        pass
    assert got == response
    with pytest.raises(ssl.SSLWantReadError):
        client.unwrap()
    s_in.write(c_out.read())
    assert server.read(1024) == b""
