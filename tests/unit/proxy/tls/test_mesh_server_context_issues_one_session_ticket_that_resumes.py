"""The inbound mesh context issues one TLS 1.3 ticket per handshake, and that one ticket resumes.

In-memory handshakes (`wrap_bio`) between the real mesh contexts: no sockets, no event loop.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from tls_harness import Mesh, handshake_in_memory, identity_from

from meshproxy.tls.contexts import mesh_client_context, server_context


def _handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, session: ssl.SSLSession | None
) -> ssl.SSLObject:
    """Run one handshake to completion; return the client's end with its ticket read."""
    client = handshake_in_memory(client_ctx, server_ctx, session).client
    # TLS 1.3 tickets arrive after the handshake; a read processes them.
    with pytest.raises(ssl.SSLWantReadError):
        client.read(1)
    return client


@pytest.mark.parametrize("require_client_cert", [True, False])
def test_server_context_issues_one_ticket(
    mesh: Mesh, tmp_path: Path, require_client_cert: bool
) -> None:
    ctx = server_context(identity_from(tmp_path, mesh.issue(sa="backend")), require_client_cert)
    assert ctx.num_tickets == 1


def test_the_one_ticket_resumes_the_next_handshake(mesh: Mesh, tmp_path: Path) -> None:
    server_ctx = server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), True)
    client_ctx = mesh_client_context(identity_from(tmp_path / "cli", mesh.issue()))
    first = _handshake(client_ctx, server_ctx, None)
    assert not first.session_reused
    assert first.session is not None
    assert first.session.has_ticket
    second = _handshake(client_ctx, server_ctx, first.session)
    assert second.session_reused
